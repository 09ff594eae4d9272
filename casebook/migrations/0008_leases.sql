-- Two gateways, one store (issue 14). A lease is a named right held by one
-- gateway until it expires unless renewed: the polling of an IMAP mailbox
-- (imap/NAME/FOLDER) and each gateway's heartbeat (gateway/HOLDER).
CREATE TABLE IF NOT EXISTS leases (
	name        TEXT PRIMARY KEY,
	holder      TEXT NOT NULL,    -- NAME/PID-RANDOM of the gateway
	acquired_at INTEGER NOT NULL, -- unix milliseconds, the holder's clock
	expires_at  INTEGER NOT NULL
);

-- The gateway that claimed a pending row: a surviving gateway frees the
-- rows of one whose heartbeat lease expired. NULL: claimed before this
-- migration (or not claimed).
ALTER TABLE outbox ADD COLUMN claimed_by TEXT;
