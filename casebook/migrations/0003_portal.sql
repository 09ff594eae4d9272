-- The customer view (issue 15): one-time sign-in links, sessions and files
-- attached from the web. Tokens are stored as SHA-256 hashes only, so the
-- database never holds a usable sign-in link or session cookie.

CREATE TABLE portal_signins (
	token_hash TEXT PRIMARY KEY,
	address    TEXT NOT NULL COLLATE NOCASE REFERENCES accounts(address),
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL,
	used_at    INTEGER
);
CREATE INDEX portal_signins_expiry ON portal_signins (expires_at);

CREATE TABLE portal_sessions (
	id_hash    TEXT PRIMARY KEY,
	address    TEXT NOT NULL COLLATE NOCASE REFERENCES accounts(address),
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL
);
CREATE INDEX portal_sessions_address ON portal_sessions (address);

CREATE TABLE portal_attachments (
	id           INTEGER PRIMARY KEY,
	case_id      INTEGER NOT NULL REFERENCES cases(id),
	author       TEXT NOT NULL COLLATE NOCASE,
	filename     TEXT NOT NULL,
	content_type TEXT NOT NULL,
	size         INTEGER NOT NULL,
	data         BLOB NOT NULL,
	created_at   INTEGER NOT NULL
);
CREATE INDEX portal_attachments_case ON portal_attachments (case_id);
