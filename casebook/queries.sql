-- Named queries of the SQLite store. Each starts with "-- name: NAME".

-- name: setting-get
SELECT value FROM settings WHERE key = ?;
-- name: setting-put
INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING;

-- name: account-insert
INSERT INTO accounts (address, name, verified, agent, locale, created_at) VALUES (?, ?, ?, ?, ?, ?);
-- name: account-get
SELECT address, name, verified, agent, locale, created_at, disabled FROM accounts WHERE address = ?;

-- name: org-insert
INSERT INTO orgs (slug, name, owner, created_at) VALUES (?, ?, ?, ?);
-- name: org-get
SELECT slug, name, owner FROM orgs WHERE slug = ?;
-- name: entitlement-insert
INSERT INTO entitlements (org, product) VALUES (?, ?) ON CONFLICT DO NOTHING;
-- name: entitlements-of
SELECT product FROM entitlements WHERE org = ? ORDER BY product;

-- name: grant-upsert
INSERT INTO grants (org, grantee, granted_by, perm_open, perm_view, source, revoked, created_at, updated_at)
VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?)
ON CONFLICT (org, grantee) DO UPDATE SET granted_by = excluded.granted_by, perm_open = excluded.perm_open,
	perm_view = excluded.perm_view, source = excluded.source, revoked = 0, updated_at = excluded.updated_at;
-- name: grant-get
SELECT org, grantee, granted_by, perm_open, perm_view, source, revoked, created_at FROM grants WHERE org = ? AND grantee = ?;
-- name: grant-strip
UPDATE grants SET perm_open = 0, perm_view = 0, updated_at = ? WHERE org = ? AND grantee = ?;
-- name: grant-revoke
UPDATE grants SET perm_open = 0, perm_view = 0, revoked = 1, updated_at = ? WHERE org = ? AND grantee = ?;
-- name: grants-of-org
SELECT org, grantee, granted_by, perm_open, perm_view, source, revoked, created_at FROM grants WHERE org = ? ORDER BY grantee;

-- name: memberships
-- The organisations an address belongs to: as owner, or through an active grant.
SELECT slug, 1, 1, 1 FROM orgs WHERE owner = ?1
UNION
SELECT org, 0, perm_open, perm_view FROM grants
WHERE grantee = ?1 AND revoked = 0 AND (perm_open = 1 OR perm_view = 1)
	AND org NOT IN (SELECT slug FROM orgs WHERE owner = ?1)
ORDER BY 1;

-- name: case-insert
INSERT INTO cases (org, product, team, priority, title, description, requester, status, imported, fields, created_at, follow_up_of)
VALUES (?, ?, ?, ?, ?, ?, ?, 'open', ?, ?, ?, ?) RETURNING id;
-- name: case-get
SELECT id, org, product, team, priority, title, description, requester, status, imported, fields,
	created_at, closed_at, reopened_at, follow_up_of, escalated_at, escalation_reason, assignee,
	coalesce((SELECT max(at) FROM events WHERE case_id = cases.id), created_at)
FROM cases WHERE id = ?;
-- name: case-close
UPDATE cases SET status = 'closed', closed_at = ? WHERE id = ? AND status = 'open';
-- name: case-reopen
UPDATE cases SET status = 'open', reopened_at = ?, closed_at = NULL WHERE id = ? AND status = 'closed';
-- name: case-escalate
UPDATE cases SET escalated_at = ?, escalation_reason = ? WHERE id = ? AND escalated_at IS NULL;
-- name: cases-of-org
-- R7: everything in one organisation (owners and members allowed to view).
SELECT id FROM cases WHERE org = ?1 AND (?2 = '' OR status = ?2) ORDER BY id DESC;
-- name: cases-of-participant
-- R7: in one organisation, the cases a user submitted or watches.
SELECT id FROM cases WHERE org = ?1 AND (?2 = '' OR status = ?2)
	AND (requester = ?3 OR id IN (SELECT case_id FROM watchers WHERE address = ?3))
ORDER BY id DESC;
-- name: search-insert
INSERT INTO search (case_id, body) VALUES (?, ?);
-- name: search-org
SELECT DISTINCT c.id FROM search s JOIN cases c ON c.id = s.case_id
WHERE search MATCH ?1 AND c.org = ?2 ORDER BY c.id DESC;

-- name: watcher-add
INSERT INTO watchers (case_id, address, added_by, created_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING;
-- name: watcher-remove
DELETE FROM watchers WHERE case_id = ? AND address = ?;
-- name: watchers-of
SELECT w.address, w.added_by, s.address IS NOT NULL, COALESCE(s.reason || CASE WHEN s.detail = '' THEN '' ELSE ': ' || s.detail END, '') FROM watchers w LEFT JOIN suppressions s ON s.address = w.address WHERE w.case_id = ? ORDER BY w.created_at, w.address;
-- name: watcher-is
SELECT 1 FROM watchers WHERE case_id = ? AND address = ?;
-- name: suppression-add
-- A second bounce or complaint keeps the first record: retries are harmless.
INSERT INTO suppressions (address, reason, detail, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (address) DO NOTHING;
-- name: outbox-fail-suppressed
-- What was queued for an address before it was suppressed is not sent either.
UPDATE outbox SET status = 'failed', last_error = ?, claimed_at = NULL WHERE recipient = ? AND status = 'pending' AND template != 'signin_link';
-- name: suppression-get
SELECT address, reason, detail, created_at FROM suppressions WHERE address = ?;
-- name: suppression-remove
DELETE FROM suppressions WHERE address = ?;
-- name: watcher-unsuppress
-- The old per-row flag (before 0007) is cleared too, so nothing reads it as set.
UPDATE watchers SET suppressed = 0, suppressed_reason = '' WHERE address = ?;

-- name: comment-insert
INSERT INTO comments (case_id, author, by_support, body, full_text, message_id, created_at, internal) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id;
-- name: comment-unauthenticated
UPDATE comments SET unauthenticated = 1 WHERE id = ?;
-- name: comments-of
SELECT id, case_id, author, by_support, body, full_text, message_id, created_at, internal, unauthenticated FROM comments WHERE case_id = ? ORDER BY created_at DESC, id DESC;

-- name: raw-exists
SELECT 1 FROM raw_messages WHERE sha256 = ?;
-- name: raw-insert
INSERT INTO raw_messages (sha256, size, created_at) VALUES (?, ?, ?);
-- name: raw-insert-new
INSERT INTO raw_messages (sha256, size, created_at) VALUES (?, ?, ?) ON CONFLICT (sha256) DO NOTHING;
-- name: raw-chunk-insert
INSERT INTO raw_chunks (sha256, seq, data) VALUES (?, ?, ?);
-- name: raw-chunk-get
SELECT data FROM raw_chunks WHERE sha256 = ? AND seq = ?;

-- name: message-insert
INSERT INTO messages (message_id, fingerprint, from_addr, mail_from, recipients, subject, received_at, transport, outcome, reason, case_id, raw_sha256, size, problems, auth, unauthenticated)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id;
-- name: message-get
SELECT id, message_id, fingerprint, from_addr, mail_from, recipients, subject, received_at, transport, outcome, reason, case_id, raw_sha256, size, problems, auth, unauthenticated FROM messages WHERE id = ?1;
-- name: message-by-fingerprint
SELECT id, message_id, fingerprint, from_addr, mail_from, recipients, subject, received_at, transport, outcome, reason, case_id, raw_sha256, size, problems, auth, unauthenticated FROM messages WHERE fingerprint = ?1;
-- name: messages-list
-- Every inbound message, or those of one outcome ($1/?1 not empty), oldest first.
SELECT id, message_id, fingerprint, from_addr, mail_from, recipients, subject, received_at, transport, outcome, reason, case_id, raw_sha256, size, problems, auth, unauthenticated FROM messages WHERE (?1 = '' OR outcome = ?1) ORDER BY id;
-- name: message-case-by-id
SELECT case_id FROM messages WHERE message_id = ? AND case_id IS NOT NULL ORDER BY id LIMIT 1;

-- name: outbox-insert
INSERT INTO outbox (event, template, recipient, locale, case_id, token, data, status, next_at, created_at)
VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?);
-- name: outbox-claim
-- Claims up to ?4 due rows for the gateway ?3 in one statement: they are
-- not due again until ?2, the claim's end, unless that gateway dies
-- (outbox-reclaim).
UPDATE outbox SET next_at = ?2, claimed_at = ?1, claimed_by = ?3
WHERE id IN (SELECT id FROM outbox WHERE status = 'pending' AND next_at <= ?1 ORDER BY next_at, id LIMIT ?4)
RETURNING id, event, template, recipient, locale, case_id, token, data, status, attempts, next_at, last_error, subject, created_at, sent_at, coalesce(claimed_by, '');
-- name: outbox-get
SELECT id, event, template, recipient, locale, case_id, token, data, status, attempts, next_at, last_error, subject, created_at, sent_at, coalesce(claimed_by, '') FROM outbox WHERE id = ?1;
-- name: outbox-by-token
SELECT id, event, template, recipient, locale, case_id, token, data, status, attempts, next_at, last_error, subject, created_at, sent_at, coalesce(claimed_by, '') FROM outbox WHERE token = ?1;
-- name: outbox-list
-- Every notification, or those of one status ($1/?1 not empty), oldest first.
SELECT id, event, template, recipient, locale, case_id, token, data, status, attempts, next_at, last_error, subject, created_at, sent_at, coalesce(claimed_by, '') FROM outbox WHERE (?1 = '' OR status = ?1) ORDER BY id;
-- name: outbox-reclaim
-- Rows claimed by a gateway whose heartbeat lease (gateway/HOLDER) is gone
-- are due now; so are rows claimed before migration 0008 (claimed_by NULL).
-- A live gateway's claims are left alone.
UPDATE outbox SET next_at = ?1, claimed_at = NULL, claimed_by = NULL
WHERE status = 'pending' AND claimed_at IS NOT NULL AND next_at > ?1
	AND (claimed_by IS NULL OR NOT EXISTS (SELECT 1 FROM leases WHERE leases.name = 'gateway/' || outbox.claimed_by AND leases.expires_at > ?1));
-- name: outbox-sent
UPDATE outbox SET status = 'sent', subject = ?, sent_at = ?, attempts = attempts + 1, last_error = '', claimed_at = NULL WHERE id = ?;
-- name: outbox-retry
UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_at = ?, claimed_at = NULL WHERE id = ? AND status = 'pending';
-- name: outbox-failed
UPDATE outbox SET status = 'failed', attempts = attempts + 1, last_error = ?, claimed_at = NULL WHERE id = ?;
-- name: outbox-notices-since
SELECT count(*) FROM outbox WHERE recipient = ? AND template LIKE 'notice\_%' ESCAPE '\' AND created_at >= ?;
-- name: case-thread
-- R9/I6: the Message-IDs of a case's mails, oldest first (tokens are turned into Message-IDs by the caller).
SELECT kind, ref, at FROM (
	SELECT 'in' AS kind, message_id AS ref, received_at AS at, id FROM messages WHERE case_id = ?1 AND message_id != ''
	UNION ALL
	SELECT 'out', token, coalesce(sent_at, created_at), id FROM outbox WHERE case_id = ?1 AND status = 'sent'
) ORDER BY at, kind, id;

-- name: checkpoint-get
SELECT uid_validity, last_uid FROM checkpoints WHERE mailbox = ?;
-- name: checkpoint-put
INSERT INTO checkpoints (mailbox, uid_validity, last_uid, updated_at) VALUES (?, ?, ?, ?)
ON CONFLICT (mailbox) DO UPDATE SET uid_validity = excluded.uid_validity, last_uid = excluded.last_uid, updated_at = excluded.updated_at;

-- name: orgs-all
SELECT slug FROM orgs ORDER BY slug;

-- name: outbox-stats
SELECT status, count(*), coalesce(min(created_at), 0) FROM outbox GROUP BY status;

-- Limits against loops and backscatter (limits.go, I5). ?key is an address
-- normalised by LimitKey; its plus-tag variants local+…@domain are the
-- addresses between ?lo (local+) and ?hi (local,) that match the LIKE
-- pattern ?tagged: the range lets the index find them.
-- name: mail-comments-since
-- (+outcome, +case_id: look the sender up in messages_from, not every comment.)
SELECT count(*) FROM messages WHERE +outcome = 'comment_added' AND +case_id = ?1 AND received_at >= ?4
	AND (from_addr = ?2 OR (from_addr > ?5 AND from_addr < ?6 AND from_addr LIKE ?3 ESCAPE '\'));
-- name: case-notifications-since
SELECT count(*) FROM outbox WHERE +case_id = ?1 AND created_at >= ?4
	AND (recipient = ?2 OR (recipient > ?5 AND recipient < ?6 AND recipient LIKE ?3 ESCAPE '\'));
-- name: outbox-notices-to-since
-- Every mail to someone who is not (yet) on a case: refusal notices, and a
-- redirect route's own template, whatever it is named.
SELECT count(*) FROM outbox WHERE created_at >= ?3
	AND (template LIKE 'notice\_%' ESCAPE '\' OR case_id IS NULL)
	AND (recipient = ?1 OR (recipient > ?4 AND recipient < ?5 AND recipient LIKE ?2 ESCAPE '\'));
-- name: wrote-before
-- Someone we correspond with: an account, or the author of a case or comment by mail.
SELECT EXISTS (SELECT 1 FROM accounts WHERE address = ?1)
	OR EXISTS (SELECT 1 FROM messages WHERE from_addr = ?1 AND outcome IN ('case_opened', 'comment_added'))
	OR EXISTS (SELECT 1 FROM messages WHERE from_addr > ?3 AND from_addr < ?4 AND from_addr LIKE ?2 ESCAPE '\'
		AND +outcome IN ('case_opened', 'comment_added'));
-- name: new-recipients-since
-- Counts up to ?2, the limit: enough to tell whether it is reached.
SELECT count(*) FROM (SELECT 1 FROM outbox o WHERE o.created_at >= ?1
	AND NOT EXISTS (SELECT 1 FROM accounts a WHERE a.address = o.recipient)
	AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.from_addr = o.recipient AND m.outcome IN ('case_opened', 'comment_added'))
	LIMIT ?2);
-- name: loop-notices-since
SELECT count(*) FROM outbox WHERE case_id = ?1 AND template = ?2 AND created_at >= ?3;
-- name: agents
SELECT address FROM accounts WHERE agent = 1 AND disabled = 0 ORDER BY address;
-- name: team-alerts-about-since
-- An alert about a claimed sender (issue 13), by agent: the outbox_recipient index.
SELECT count(*) FROM outbox WHERE recipient = ?1 AND created_at >= ?2 AND template = ?3 AND event = ?4;

-- Support side (issue 11): the queue, assignment, case fields, history, replays, admin.

-- name: case-assign
UPDATE cases SET assignee = ? WHERE id = ?;
-- name: case-set
UPDATE cases SET priority = ?, product = ?, org = ?, title = ?, team = ? WHERE id = ?;
-- name: cases-queue
-- The support queue across organisations: most urgent first, then oldest.
-- ?3 = 1 filters on the assignee ?4 ('' for unassigned); ?8 is a JSON array
-- of teams the viewer works in (NULL: every team), whose cases they see with
-- those assigned to them (?10).
SELECT id FROM cases
WHERE (?1 = '' OR org = ?1) AND (?2 = '' OR team = ?2) AND (?3 = 0 OR assignee = ?4)
	AND (?5 = '' OR status = ?5) AND (?6 = '' OR priority = ?6) AND (?7 = 0 OR created_at <= ?7)
	AND (?8 IS NULL OR team IN (SELECT value FROM json_each(?8)) OR (?10 != '' AND assignee = ?10))
ORDER BY priority, created_at, id
LIMIT ?9;

-- name: event-insert
INSERT INTO events (case_id, at, actor, kind, detail) VALUES (?, ?, ?, ?, ?);
-- name: events-of
SELECT at, actor, kind, detail FROM events WHERE case_id = ? ORDER BY at, id;

-- name: replay-insert
INSERT INTO replays (message_id, at, outcome, reason, case_id) VALUES (?, ?, ?, ?, ?);
-- name: replays-of
SELECT at, outcome, reason, case_id FROM replays WHERE message_id = ? ORDER BY id;
-- name: messages-of-case
-- The mails that opened a case or were added to it, on arrival or by a
-- replay or release, oldest first (their attachments).
SELECT id FROM messages WHERE case_id = ?1 AND outcome IN ('case_opened', 'comment_added')
UNION SELECT message_id FROM replays WHERE case_id = ?1 AND outcome IN ('case_opened', 'comment_added')
UNION SELECT message_id FROM comments WHERE case_id = ?1 AND message_id IS NOT NULL
ORDER BY 1;
-- name: message-case-set
UPDATE messages SET case_id = ? WHERE id = ?;

-- name: accounts-all
SELECT address, name, verified, agent, locale, created_at, disabled FROM accounts ORDER BY address;
-- name: account-update
UPDATE accounts SET name = ?, locale = ?, agent = ? WHERE address = ?;
-- name: account-disable
UPDATE accounts SET disabled = 1 WHERE address = ?;
-- name: org-update
UPDATE orgs SET name = ?, owner = ? WHERE slug = ?;

-- name: outbox-requeue
-- "outbox retry": a failed (or waiting) notification is due again now.
UPDATE outbox SET status = 'pending', next_at = ?, last_error = '' WHERE id = ? AND status != 'sent';
-- name: outbox-requeue-failed
UPDATE outbox SET status = 'pending', next_at = ?, last_error = '' WHERE status = 'failed'
RETURNING id, event, template, recipient, locale, case_id, token, data, status, attempts, next_at, last_error, subject, created_at, sent_at, coalesce(claimed_by, '');

-- name: message-raw-of
-- The stored raw message of an inbound message record (agent mail attaches its files).
SELECT raw_sha256 FROM messages WHERE id = ?

-- Raw-message staging (mail.go StoreRaw): a raw stored under a temporary
-- key is renamed to its checksum, or dropped when that one exists already.
-- name: raw-chunks-delete
DELETE FROM raw_chunks WHERE sha256 = ?;
-- name: raw-delete
DELETE FROM raw_messages WHERE sha256 = ?;
-- name: raw-chunks-rename
UPDATE raw_chunks SET sha256 = ? WHERE sha256 = ?;
-- name: message-decision-set
UPDATE messages SET case_id = ?, reason = ? WHERE id = ?;

-- The store-wide write lock of PostgreSQL (book.go runTx) is never run
-- here: BEGIN IMMEDIATE (_txlock=immediate) is SQLite's. Named so that both
-- stores name the same queries.
-- name: write-lock
SELECT 1;

-- One mail of a group commit (batch.go): its refusal undoes it alone.
-- name: savepoint
SAVEPOINT mail;
-- name: savepoint-rollback
ROLLBACK TO mail;
-- name: savepoint-release
RELEASE mail;

-- One command of an agent's mail (commands.go): its refusal undoes it
-- alone, the mail and the other commands stay.
-- name: command-savepoint
SAVEPOINT command;
-- name: command-rollback
ROLLBACK TO command;
-- name: command-release
RELEASE command;

-- Schema version (book.go migrate). %d is the version, formatted in: a
-- PRAGMA takes no parameter.
-- name: schema-version-init
SELECT 1;
-- name: schema-version-get
PRAGMA user_version;
-- name: schema-version-set
PRAGMA user_version = %d;

-- Store copy (TestCopyQueriesCoverSchema checks copy.sql with it): the
-- columns of a table, in order.
-- name: copy-columns
SELECT name FROM pragma_table_info(?1) ORDER BY cid;
-- name: copy-rows-in-use
SELECT (SELECT count(*) FROM accounts) + (SELECT count(*) FROM cases) + (SELECT count(*) FROM messages);
-- name: copy-clear
DELETE FROM settings;
-- name: copy-after
SELECT 1;

-- Leases (leases.go, issue 14): one gateway at a time holds each name.
-- name: lease-take
-- One statement takes the lease ?1 for ?2 when it is free or expired at ?3,
-- or renews it when ?2 holds it already (until ?4); otherwise it changes
-- nothing, and no row is affected.
INSERT INTO leases (name, holder, acquired_at, expires_at) VALUES (?1, ?2, ?3, ?4)
ON CONFLICT (name) DO UPDATE SET
	acquired_at = CASE WHEN leases.holder = excluded.holder AND leases.expires_at > ?3 THEN leases.acquired_at ELSE excluded.acquired_at END,
	holder = excluded.holder, expires_at = excluded.expires_at
WHERE leases.holder = excluded.holder OR leases.expires_at <= ?3;
-- name: lease-get
SELECT name, holder, acquired_at, expires_at FROM leases WHERE name = ?1;
-- name: lease-release
DELETE FROM leases WHERE name = ?1 AND holder = ?2;
-- name: leases-live
SELECT name, holder, acquired_at, expires_at FROM leases WHERE expires_at > ?1 ORDER BY name;
-- name: leases-prune
-- The heartbeats of gateways that are gone (each process has its own name,
-- so they would pile up); outbox-reclaim has freed their claims already.
DELETE FROM leases WHERE name LIKE 'gateway/%' AND expires_at <= ?1;
