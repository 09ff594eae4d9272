-- Sender authentication (issue 13): the verdict on who really sent each
-- inbound mail, kept beside it (the raw mail stays as the customer sent it),
-- and the mark on a comment whose From domain was not authenticated (a
-- reply token threaded it: the recipient's capability, not the From).

ALTER TABLE messages ADD COLUMN auth TEXT NOT NULL DEFAULT '';
ALTER TABLE messages ADD COLUMN unauthenticated INTEGER NOT NULL DEFAULT 0;
ALTER TABLE comments ADD COLUMN unauthenticated INTEGER NOT NULL DEFAULT 0;
