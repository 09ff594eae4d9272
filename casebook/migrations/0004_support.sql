-- casemail casebook schema, version 2: the support side (issue 11).

-- Who works a case: an agent's address, or '' when nobody has taken it.
ALTER TABLE cases ADD COLUMN assignee TEXT NOT NULL DEFAULT '' COLLATE NOCASE;
CREATE INDEX cases_queue ON cases (status, priority, created_at);

-- I3: an internal note is for agents only, never mailed to a customer or watcher.
ALTER TABLE comments ADD COLUMN internal INTEGER NOT NULL DEFAULT 0;

-- A disabled account can no longer open cases or comment; its history stays.
ALTER TABLE accounts ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0;

-- A case's history: every change, who made it and when ("case show").
CREATE TABLE events (
	id      INTEGER PRIMARY KEY,
	case_id INTEGER NOT NULL REFERENCES cases(id),
	at      INTEGER NOT NULL,
	actor   TEXT NOT NULL DEFAULT '',
	kind    TEXT NOT NULL,
	detail  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX events_case ON events (case_id, at);

-- I4 with "message replay": the outcomes of a message decided again, beside
-- the first one in messages. One row per replay that changed something.
CREATE TABLE replays (
	id         INTEGER PRIMARY KEY,
	message_id INTEGER NOT NULL REFERENCES messages(id),
	at         INTEGER NOT NULL,
	outcome    TEXT NOT NULL,
	reason     TEXT NOT NULL DEFAULT '',
	case_id    INTEGER REFERENCES cases(id)
);
CREATE INDEX replays_message ON replays (message_id);
