-- Suppression is per address (issue 12): after a hard bounce or a
-- feedback-loop complaint no notification of any case goes to the address
-- until an administrator lifts it ("casemail account unsuppress").
-- Numbered 0007: 0006 is taken by sender authentication (issue 13).
CREATE TABLE IF NOT EXISTS suppressions (
    address    TEXT PRIMARY KEY,          -- lower-cased, as watchers.address
    reason     TEXT NOT NULL,             -- "hard bounce" or "complaint"
    detail     TEXT NOT NULL DEFAULT '',  -- the decision that suppressed it
    created_at INTEGER NOT NULL           -- unix milliseconds
);

-- Watcher rows suppressed before this migration keep their suppression,
-- now for the address (their old reason began "hard bounce: ", now the
-- reason column).
INSERT OR IGNORE INTO suppressions (address, reason, detail, created_at)
SELECT address, 'hard bounce',
       MAX(CASE WHEN suppressed_reason LIKE 'hard bounce: %' THEN substr(suppressed_reason, 14) ELSE suppressed_reason END),
       CAST(strftime('%s', 'now') AS INTEGER) * 1000
FROM watchers WHERE suppressed = 1 GROUP BY address;
