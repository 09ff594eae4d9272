-- When a worker claimed a pending row (issue 10): a row claimed by a
-- process that died can be told from one waiting for its retry, and taken
-- again at start instead of after the whole lease. NULL: not claimed.
ALTER TABLE outbox ADD COLUMN claimed_at BIGINT;
