-- Suppression is per address (issue 12), as the SQLite store's
-- migrations/0007_suppressions.sql: after a hard bounce or a feedback-loop
-- complaint no notification of any case goes to the address until an
-- administrator lifts it ("casemail account unsuppress").
CREATE TABLE IF NOT EXISTS suppressions (
	address    CITEXT PRIMARY KEY,        -- as watchers.address
	reason     TEXT NOT NULL,             -- "hard bounce" or "complaint"
	detail     TEXT NOT NULL DEFAULT '',  -- the decision that suppressed it
	created_at BIGINT NOT NULL            -- unix milliseconds
);

-- Watcher rows suppressed before this migration keep their suppression,
-- now for the address (their old reason began "hard bounce: ", now the
-- reason column).
INSERT INTO suppressions (address, reason, detail, created_at)
SELECT address, 'hard bounce',
       MAX(CASE WHEN suppressed_reason LIKE 'hard bounce: %' THEN substr(suppressed_reason, 14) ELSE suppressed_reason END),
       (extract(epoch FROM now()) * 1000)::BIGINT
FROM watchers WHERE suppressed = 1 GROUP BY address
ON CONFLICT (address) DO NOTHING;
