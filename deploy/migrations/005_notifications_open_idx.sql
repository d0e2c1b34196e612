-- The notifier's backlog gauges (services/notifier/notifier_gauges.c) count
-- the notifications not sent yet and the failed ones every few seconds:
-- this index holds exactly those rows, so the count never scans the sent
-- history. Owner: notifier.
CREATE INDEX notifications_open_idx ON notifications (status, created_at) WHERE status IN ('pending', 'sending', 'failed');
