-- The lago-worker's gauges (services/lago-worker/lago_gauges.c) count the
-- failed Lago webhooks beside the pending ones (lago_webhooks_pending_idx).
-- Owner: lago-worker.
CREATE INDEX lago_webhooks_failed_idx ON lago_webhooks (received_at) WHERE status = 'failed';
