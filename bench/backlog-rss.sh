#!/usr/bin/env bash
# Memory over a 10,000-mail backlog ("target: flat").
#
# Starts "casemail serve" (temporary store and config, free loopback ports,
# Maildir outbound running), registers alice@example.com, then sends N small
# mails (bench/testdata/mail-small.eml, no Message-ID: each copy is a
# distinct mail thanks to the listener's Received line, and opens a case) as
# fast as smtp-source goes. Every second it samples the server's VmRSS
# (/proc/PID/status) and the number of mails recorded so far
# (casemail_messages_received_total), and prints the RSS when 0, 25, 50, 75
# and 100 % of the mails were recorded, after the outbox drained, and the
# maximum.
#
#   bench/backlog-rss.sh              # N=10000, S=10 sessions, connections reused
#   N=20000 S=4 bench/backlog-rss.sh
#   MAIL=bench/testdata/mail-20k.eml bench/backlog-rss.sh
set -euo pipefail
cd "$(dirname "$0")/.."

N=${N:-10000}
S=${S:-10}
MAIL=$(realpath "${MAIL:-bench/testdata/mail-small.eml}")

. bench/serve-lib.sh

received() {
	curl -fs "http://127.0.0.1:$http_port/metrics" | awk '/^casemail_messages_received_total[{ ]/ { s += $2 } END { print s + 0 }'
}

start_serve
register_sender
sleep 1 # let the start settle before the first sample

samples=$tmp/rss.tsv
t0=$(now)
(
	while :; do
		printf '%s\t%s\t%s\n' "$(awk -v s="$t0" -v n="$(now)" 'BEGIN { printf "%.1f", n - s }')" "$(received)" "$(rss_kb "$serve_pid")"
		sleep 1
	done
) >"$samples" &
sampler_pid=$!
sleep 0.5

ts=$(now)
echo "== backlog: smtp-source -s $S -m $N -d -F $(basename "$MAIL") ($(wc -c <"$MAIL") bytes) -> casemail serve, VmRSS every second"
"$SOURCE" -s "$S" -m "$N" -d -F "$MAIL" -f alice@example.com -t support@localhost "127.0.0.1:$smtp_port"
t1=$(now)
for _ in $(seq 1200); do
	[ "$(metric 'casemail_outbox_messages{status="sent"}')" -ge "$N" ] && break
	sleep 0.1
done
t2=$(now)
sleep 2.5 # two more samples with everything idle
kill "$sampler_pid"; wait "$sampler_pid" 2>/dev/null || true; sampler_pid=
rss_idle=$(rss_kb "$serve_pid")
count=$(received)
sent=$(metric 'casemail_outbox_messages{status="sent"}')
cases=$(cmcli case list --org example --json | python3 -c 'import json, sys; print(len(json.load(sys.stdin)))')
stop_serve

awk -v s="$ts" -v e="$t1" -v d="$t2" -v n="$N" 'BEGIN {
	printf "%d mails recorded in %.1f s (%.0f mails/s); outbox drained %.1f s after the last 250\n", n, e - s, n / (e - s), d - e
}'
echo "samples (s, mails recorded, VmRSS KiB) in order; RSS at each point:"
awk -v n="$N" -v idle="$rss_idle" -F '\t' '
	{ if ($3 > max) { max = $3; maxat = $2 } }
	NR == 1 { printf "  %6d mails (t=%5.1f s): %7.1f MiB\n", $2, $1, $3 / 1024 }
	{ for (q = 1; q <= 4; q++) if (!done[q] && $2 >= n * q / 4) { done[q] = 1; printf "  %6d mails (t=%5.1f s): %7.1f MiB  (first sample at or past %d)\n", $2, $1, $3 / 1024, n * q / 4 } }
	END {
		printf "  after the outbox drained, idle:     %7.1f MiB\n", idle / 1024
		printf "  max:                                %7.1f MiB (at %d mails)\n", max / 1024, maxat
	}' "$samples"
echo "check: $count recorded, $cases cases, $sent acknowledgements sent (want $N each)"
[ "$count" -eq "$N" ] && [ "$cases" -eq "$N" ] || { echo "FAILED: not every mail opened exactly one case" >&2; exit 1; }
