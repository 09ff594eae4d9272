-- Store copy (copy.go, "casemail store copy"): for every table of
-- copyTables, every stored column read in key order (copy-select-TABLE) and
-- written with its value (copy-insert-TABLE), ids included.
-- TestCopyQueriesCoverSchema fails when a migration adds a column or a
-- table that these queries do not copy.

-- name: copy-select-settings
SELECT key, value FROM settings ORDER BY key;
-- name: copy-insert-settings
INSERT INTO settings (key, value) VALUES (?, ?);

-- name: copy-select-accounts
SELECT address, name, verified, agent, locale, created_at, disabled FROM accounts ORDER BY address;
-- name: copy-insert-accounts
INSERT INTO accounts (address, name, verified, agent, locale, created_at, disabled) VALUES (?, ?, ?, ?, ?, ?, ?);

-- name: copy-select-orgs
SELECT slug, name, owner, created_at FROM orgs ORDER BY slug;
-- name: copy-insert-orgs
INSERT INTO orgs (slug, name, owner, created_at) VALUES (?, ?, ?, ?);

-- name: copy-select-entitlements
SELECT org, product FROM entitlements ORDER BY org;
-- name: copy-insert-entitlements
INSERT INTO entitlements (org, product) VALUES (?, ?);

-- name: copy-select-grants
SELECT id, org, grantee, granted_by, perm_open, perm_view, source, revoked, created_at, updated_at FROM grants ORDER BY id;
-- name: copy-insert-grants
INSERT INTO grants (id, org, grantee, granted_by, perm_open, perm_view, source, revoked, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?);

-- name: copy-select-cases
SELECT id, org, product, team, priority, title, description, requester, status, imported, fields, created_at, closed_at, reopened_at, follow_up_of, escalated_at, escalation_reason, assignee FROM cases ORDER BY id;
-- name: copy-insert-cases
INSERT INTO cases (id, org, product, team, priority, title, description, requester, status, imported, fields, created_at, closed_at, reopened_at, follow_up_of, escalated_at, escalation_reason, assignee) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?);

-- name: copy-select-watchers
SELECT case_id, address, added_by, suppressed, suppressed_reason, created_at FROM watchers ORDER BY case_id;
-- name: copy-insert-watchers
INSERT INTO watchers (case_id, address, added_by, suppressed, suppressed_reason, created_at) VALUES (?, ?, ?, ?, ?, ?);

-- name: copy-select-suppressions
SELECT address, reason, detail, created_at FROM suppressions ORDER BY address;
-- name: copy-insert-suppressions
INSERT INTO suppressions (address, reason, detail, created_at) VALUES (?, ?, ?, ?);

-- name: copy-select-raw_messages
SELECT sha256, size, created_at FROM raw_messages ORDER BY sha256;
-- name: copy-insert-raw_messages
INSERT INTO raw_messages (sha256, size, created_at) VALUES (?, ?, ?);

-- name: copy-select-raw_chunks
SELECT sha256, seq, data FROM raw_chunks ORDER BY sha256;
-- name: copy-insert-raw_chunks
INSERT INTO raw_chunks (sha256, seq, data) VALUES (?, ?, ?);

-- name: copy-select-messages
SELECT id, message_id, fingerprint, from_addr, mail_from, recipients, subject, received_at, transport, outcome, reason, case_id, raw_sha256, size, problems, auth, unauthenticated FROM messages ORDER BY id;
-- name: copy-insert-messages
INSERT INTO messages (id, message_id, fingerprint, from_addr, mail_from, recipients, subject, received_at, transport, outcome, reason, case_id, raw_sha256, size, problems, auth, unauthenticated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?);

-- name: copy-select-comments
SELECT id, case_id, author, by_support, body, full_text, message_id, created_at, internal, unauthenticated FROM comments ORDER BY id;
-- name: copy-insert-comments
INSERT INTO comments (id, case_id, author, by_support, body, full_text, message_id, created_at, internal, unauthenticated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?);

-- name: copy-select-outbox
SELECT id, event, template, recipient, locale, case_id, token, data, status, attempts, next_at, last_error, subject, created_at, sent_at, claimed_at, claimed_by FROM outbox ORDER BY id;
-- name: copy-insert-outbox
INSERT INTO outbox (id, event, template, recipient, locale, case_id, token, data, status, attempts, next_at, last_error, subject, created_at, sent_at, claimed_at, claimed_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?);

-- name: copy-select-checkpoints
SELECT mailbox, uid_validity, last_uid, updated_at FROM checkpoints ORDER BY mailbox;
-- name: copy-insert-checkpoints
INSERT INTO checkpoints (mailbox, uid_validity, last_uid, updated_at) VALUES (?, ?, ?, ?);

-- name: copy-select-search
SELECT case_id, body FROM search ORDER BY case_id;
-- name: copy-insert-search
INSERT INTO search (case_id, body) VALUES (?, ?);

-- name: copy-select-portal_signins
SELECT token_hash, address, created_at, expires_at, used_at FROM portal_signins ORDER BY token_hash;
-- name: copy-insert-portal_signins
INSERT INTO portal_signins (token_hash, address, created_at, expires_at, used_at) VALUES (?, ?, ?, ?, ?);

-- name: copy-select-portal_sessions
SELECT id_hash, address, created_at, expires_at FROM portal_sessions ORDER BY id_hash;
-- name: copy-insert-portal_sessions
INSERT INTO portal_sessions (id_hash, address, created_at, expires_at) VALUES (?, ?, ?, ?);

-- name: copy-select-portal_attachments
SELECT id, case_id, author, filename, content_type, size, data, created_at FROM portal_attachments ORDER BY id;
-- name: copy-insert-portal_attachments
INSERT INTO portal_attachments (id, case_id, author, filename, content_type, size, data, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?);

-- name: copy-select-events
SELECT id, case_id, at, actor, kind, detail FROM events ORDER BY id;
-- name: copy-insert-events
INSERT INTO events (id, case_id, at, actor, kind, detail) VALUES (?, ?, ?, ?, ?, ?);

-- name: copy-select-replays
SELECT id, message_id, at, outcome, reason, case_id FROM replays ORDER BY id;
-- name: copy-insert-replays
INSERT INTO replays (id, message_id, at, outcome, reason, case_id) VALUES (?, ?, ?, ?, ?, ?);
