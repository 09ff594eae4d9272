-- Named queries of the customer view (issue 15), same format as queries.sql.

-- name: signin-insert
INSERT INTO portal_signins (token_hash, address, created_at, expires_at) VALUES ($1, $2, $3, $4);
-- name: signin-use
-- Single use: the row is marked in the same statement that reads it.
UPDATE portal_signins SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1 RETURNING address;
-- name: signin-purge
DELETE FROM portal_signins WHERE expires_at < $1;

-- name: session-insert
INSERT INTO portal_sessions (id_hash, address, created_at, expires_at) VALUES ($1, $2, $3, $4);
-- name: session-get
SELECT s.address FROM portal_sessions s JOIN accounts a ON a.address = s.address WHERE s.id_hash = $1 AND s.expires_at > $2;
-- name: session-delete
DELETE FROM portal_sessions WHERE id_hash = $1;
-- name: sessions-delete-of
DELETE FROM portal_sessions WHERE address = $1;
-- name: signins-delete-of
DELETE FROM portal_signins WHERE address = $1;
-- name: session-purge
DELETE FROM portal_sessions WHERE expires_at < $1;

-- name: attachment-insert
INSERT INTO portal_attachments (case_id, author, filename, content_type, size, data, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7);
-- name: attachments-of
SELECT id, case_id, author, filename, content_type, size, created_at FROM portal_attachments WHERE case_id = $1 ORDER BY id;
-- name: attachment-get
SELECT id, case_id, author, filename, content_type, size, created_at, data FROM portal_attachments WHERE id = $1;

-- name: case-last-activity
-- R7 listing order: the latest of opening, closing, reopening and public
-- comments; an internal note is no activity a customer may see (I3).
SELECT greatest(c.created_at, coalesce(c.closed_at, 0), coalesce(c.reopened_at, 0), coalesce(c.escalated_at, 0),
	coalesce((SELECT max(created_at) FROM comments WHERE case_id = c.id AND internal = 0), 0))
FROM cases c WHERE c.id = $1;

-- name: participant-orgs
-- R7: the organisations where an address submitted or watches a case, even
-- without being a member (a watcher added by Cc).
SELECT DISTINCT org FROM cases WHERE requester = $1
UNION
SELECT DISTINCT c.org FROM cases c JOIN watchers w ON w.case_id = c.id WHERE w.address = $1
ORDER BY 1;

-- name: case-mail-messages
-- The inbound mails that became part of a case (its opening mail, its
-- comments): their attachments belong to the case.
-- An agent's internal note by mail is agents' only (I3): its files are not
-- the customer's.
SELECT id, raw_sha256 FROM messages WHERE case_id = $1 AND outcome IN ('case_opened', 'comment_added')
  AND id NOT IN (SELECT message_id FROM comments WHERE internal = 1 AND message_id IS NOT NULL) ORDER BY id;
