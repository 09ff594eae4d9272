#!/usr/bin/env bash
# IMAP catch-up benchmark: appends IMAP_BENCH_MAILS (default 10000) small
# mails to a throw-away Dovecot, times a bare UID FETCH of them, then times
# the poller draining the same backlog (batch IMAP_BENCH_BATCH, receiver
# IMAP_BENCH_RECEIVER, processed folder IMAP_BENCH_PROCESSED, mail file
# IMAP_BENCH_MAIL, e.g. bench/testdata/mail-20k.eml). Reports, does
# not assert; copy the printed line into bench/README.md "IMAP catch-up".
# IMAP_BENCH_STORE=postgres puts the gateway's casebook in PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/sbin"
# go test runs in the package's directory.
if [ -n "${IMAP_BENCH_MAIL:-}" ]; then export IMAP_BENCH_MAIL=$(realpath "$IMAP_BENCH_MAIL"); fi
go test -run '^$' -bench Catchup -benchtime 1x -count "${COUNT:-1}" -timeout 30m ./bench/imapcatchup/
