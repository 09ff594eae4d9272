-- casemail casebook schema, version 1. Times are Unix milliseconds (UTC).

CREATE TABLE settings (
	key   TEXT PRIMARY KEY,
	value BLOB NOT NULL
);

CREATE TABLE accounts (
	address    TEXT PRIMARY KEY COLLATE NOCASE,
	name       TEXT NOT NULL DEFAULT '',
	verified   INTEGER NOT NULL DEFAULT 0,
	agent      INTEGER NOT NULL DEFAULT 0,
	locale     TEXT NOT NULL DEFAULT '',
	created_at INTEGER NOT NULL
);

CREATE TABLE orgs (
	slug       TEXT PRIMARY KEY,
	name       TEXT NOT NULL DEFAULT '',
	owner      TEXT NOT NULL COLLATE NOCASE REFERENCES accounts(address),
	created_at INTEGER NOT NULL
);

-- R3: which products an organisation is entitled to.
CREATE TABLE entitlements (
	org     TEXT NOT NULL REFERENCES orgs(slug),
	product TEXT NOT NULL,
	PRIMARY KEY (org, product)
);

-- R16-R19: shared access. Rows are never deleted (R18: kept for audit).
CREATE TABLE grants (
	id         INTEGER PRIMARY KEY,
	org        TEXT NOT NULL REFERENCES orgs(slug),
	grantee    TEXT NOT NULL COLLATE NOCASE REFERENCES accounts(address),
	granted_by TEXT NOT NULL COLLATE NOCASE,
	perm_open  INTEGER NOT NULL DEFAULT 0,
	perm_view  INTEGER NOT NULL DEFAULT 0,
	source     TEXT NOT NULL DEFAULT 'owner',
	revoked    INTEGER NOT NULL DEFAULT 0,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL,
	UNIQUE (org, grantee)
);

CREATE TABLE cases (
	id                INTEGER PRIMARY KEY,
	org               TEXT NOT NULL REFERENCES orgs(slug),
	product           TEXT NOT NULL,
	team              TEXT NOT NULL DEFAULT '',
	priority          TEXT NOT NULL,
	title             TEXT NOT NULL,
	description       TEXT NOT NULL,
	requester         TEXT NOT NULL COLLATE NOCASE,
	status            TEXT NOT NULL CHECK (status IN ('open', 'closed')),
	imported          INTEGER NOT NULL DEFAULT 0,
	fields            TEXT NOT NULL DEFAULT '{}',
	created_at        INTEGER NOT NULL,
	closed_at         INTEGER,
	reopened_at       INTEGER,
	follow_up_of      INTEGER REFERENCES cases(id),
	escalated_at      INTEGER,
	escalation_reason TEXT NOT NULL DEFAULT ''
);
CREATE INDEX cases_org ON cases (org, status);

CREATE TABLE watchers (
	case_id           INTEGER NOT NULL REFERENCES cases(id),
	address           TEXT NOT NULL COLLATE NOCASE,
	added_by          TEXT NOT NULL CHECK (added_by IN ('cc', 'manual')),
	suppressed        INTEGER NOT NULL DEFAULT 0,
	suppressed_reason TEXT NOT NULL DEFAULT '',
	created_at        INTEGER NOT NULL,
	PRIMARY KEY (case_id, address)
);
CREATE INDEX watchers_address ON watchers (address);

-- Raw inbound messages, content-addressed and split in chunks so that a
-- large mail is never held whole in memory to store or read it.
CREATE TABLE raw_messages (
	sha256     TEXT PRIMARY KEY,
	size       INTEGER NOT NULL,
	created_at INTEGER NOT NULL
);
CREATE TABLE raw_chunks (
	sha256 TEXT NOT NULL REFERENCES raw_messages(sha256),
	seq    INTEGER NOT NULL,
	data   BLOB NOT NULL,
	PRIMARY KEY (sha256, seq)
);

-- I4: one row per inbound message with its outcome; I2: one per fingerprint.
CREATE TABLE messages (
	id          INTEGER PRIMARY KEY,
	message_id  TEXT NOT NULL,
	fingerprint TEXT NOT NULL UNIQUE,
	from_addr   TEXT NOT NULL COLLATE NOCASE,
	mail_from   TEXT NOT NULL,
	recipients  TEXT NOT NULL DEFAULT '[]',
	subject     TEXT NOT NULL DEFAULT '',
	received_at INTEGER NOT NULL,
	transport   TEXT NOT NULL,
	outcome     TEXT NOT NULL CHECK (outcome IN ('case_opened', 'comment_added', 'refused', 'quarantined', 'ignored')),
	reason      TEXT NOT NULL DEFAULT '',
	case_id     INTEGER REFERENCES cases(id),
	raw_sha256  TEXT NOT NULL REFERENCES raw_messages(sha256),
	size        INTEGER NOT NULL,
	problems    TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX messages_message_id ON messages (message_id);
CREATE INDEX messages_outcome ON messages (outcome);

CREATE TABLE comments (
	id         INTEGER PRIMARY KEY,
	case_id    INTEGER NOT NULL REFERENCES cases(id),
	author     TEXT NOT NULL COLLATE NOCASE,
	by_support INTEGER NOT NULL DEFAULT 0,
	body       TEXT NOT NULL,
	full_text  TEXT NOT NULL DEFAULT '',
	message_id INTEGER REFERENCES messages(id),
	created_at INTEGER NOT NULL
);
CREATE INDEX comments_case ON comments (case_id);

-- I3: notifications, written in the transaction of the change that causes them.
CREATE TABLE outbox (
	id         INTEGER PRIMARY KEY,
	event      TEXT NOT NULL,
	template   TEXT NOT NULL,
	recipient  TEXT NOT NULL COLLATE NOCASE,
	locale     TEXT NOT NULL,
	case_id    INTEGER REFERENCES cases(id),
	token      TEXT NOT NULL UNIQUE,
	data       TEXT NOT NULL DEFAULT '{}',
	status     TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
	attempts   INTEGER NOT NULL DEFAULT 0,
	next_at    INTEGER NOT NULL,
	last_error TEXT NOT NULL DEFAULT '',
	subject    TEXT NOT NULL DEFAULT '',
	created_at INTEGER NOT NULL,
	sent_at    INTEGER
);
CREATE INDEX outbox_due ON outbox (status, next_at);
CREATE INDEX outbox_case ON outbox (case_id);
CREATE INDEX outbox_recipient ON outbox (recipient, created_at);

-- IMAP checkpoints: where each mailbox's poller is.
CREATE TABLE checkpoints (
	mailbox      TEXT PRIMARY KEY,
	uid_validity INTEGER NOT NULL,
	last_uid     INTEGER NOT NULL,
	updated_at   INTEGER NOT NULL
);

-- R10: words of titles, descriptions and comments (FTS4: in every default
-- build of go-sqlite3, unlike FTS5 which needs a build tag).
CREATE VIRTUAL TABLE search USING fts4 (case_id, body, notindexed=case_id, tokenize=unicode61 "remove_diacritics=1");
