-- Sender authentication (issue 13), as the SQLite store's
-- migrations/0006_sender_auth.sql: the verdict on who really sent each
-- inbound mail, and the mark on a comment whose From domain was not
-- authenticated (a reply token threaded it). Flags are BIGINT 0/1, as the
-- other flags of this schema.

ALTER TABLE messages ADD COLUMN IF NOT EXISTS auth TEXT NOT NULL DEFAULT '';
ALTER TABLE messages ADD COLUMN IF NOT EXISTS unauthenticated BIGINT NOT NULL DEFAULT 0;
ALTER TABLE comments ADD COLUMN IF NOT EXISTS unauthenticated BIGINT NOT NULL DEFAULT 0;
