-- The notifier's gauges (services/notifier/notifier_gauges.c) count the
-- webhook messages that failed for good beside the pending ones
-- (webhook_messages_due_idx). Owner: notifier.
CREATE INDEX webhook_messages_failed_idx ON webhook_messages (created_at) WHERE status = 'failed';
