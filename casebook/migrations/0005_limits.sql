-- Limits against loops and backscatter (issue 10, limits.go): count a
-- sender's mail and the mail to people who never wrote without scanning
-- every message. IF NOT EXISTS: harmless if this file is renumbered.
CREATE INDEX IF NOT EXISTS messages_from ON messages (from_addr, outcome, received_at);
CREATE INDEX IF NOT EXISTS outbox_created ON outbox (created_at);
