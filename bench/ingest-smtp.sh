#!/usr/bin/env bash
# SMTP ingest throughput against parse-only ("ingest ≥ 0.8 × parse-only").
#
# Starts "casemail serve" (temporary store and config, free loopback ports,
# Maildir outbound running as in production), registers alice@example.com in
# an organisation entitled to "support", and sends M copies of a 20 KB
# multipart mail (bench/testdata/mail-20k.eml: text + HTML + base64
# attachment) with Postfix's smtp-source. The file has no Message-ID on
# purpose: every copy gets its own Received line from the listener, and a
# mail without Message-ID is fingerprinted by its raw bytes, so each copy is a
# distinct mail and opens its own case (I2 would otherwise rightly collapse
# identical mails into one). smtp-source returns after the last 250, and 250
# means committed (I1), so its wall time is the ingest time. The case count
# is checked with the CLI afterwards.
#
# Then, in the same run, the parse-only rate of the same file:
#   go test -run XXX -bench ParseOnly -cpu 1,2 ./ingest/
# (ingest.Parse: enmime + classification + reply extraction, plus the
# fingerprint), one goroutine and GOMAXPROCS goroutines, and the ratios.
#
#   bench/ingest-smtp.sh            # M=2000 S=10 sessions, connections reused (-d)
#   M=5000 S=4 bench/ingest-smtp.sh
#   MAIL=bench/testdata/mail-small.eml bench/ingest-smtp.sh
set -euo pipefail
cd "$(dirname "$0")/.."

M=${M:-2000}
S=${S:-10}
MAIL=${MAIL:-bench/testdata/mail-20k.eml}
BENCHTIME=${BENCHTIME:-2s}
COUNT=${COUNT:-3}
MAIL=$(realpath "$MAIL")

. bench/serve-lib.sh

start_serve
register_sender

echo "== SMTP ingest: smtp-source -s $S -m $M -d -F $(basename "$MAIL") ($(wc -c <"$MAIL") bytes) -> casemail serve"
read -r u0 s0 < <(cpu_seconds "$serve_pid")
t0=$(now)
"$SOURCE" -s "$S" -m "$M" -d -F "$MAIL" -f alice@example.com -t support@localhost "127.0.0.1:$smtp_port"
t1=$(now)
read -r u1 s1 < <(cpu_seconds "$serve_pid")
sent_at_end=$(metric 'casemail_outbox_messages{status="sent"}')
rss_end=$(rss_kb "$serve_pid")

# The outbound worker sends one acknowledgement per case (R6): wait for all.
for _ in $(seq 600); do
	[ "$(metric 'casemail_outbox_messages{status="sent"}')" -ge "$M" ] && break
	sleep 0.1
done
t2=$(now)
read -r u2 s2 < <(cpu_seconds "$serve_pid")
sent=$(metric 'casemail_outbox_messages{status="sent"}')
failed=$(metric 'casemail_outbox_messages{status="failed"}')
tempfail=$(metric 'casemail_ingest_temporary_failures_total')
cases=$(cmcli case list --org example --json | python3 -c 'import json, sys; print(len(json.load(sys.stdin)))')
opened=$(cmcli message list --outcome case_opened --json | python3 -c 'import json, sys; print(len(json.load(sys.stdin)))')
stop_serve

ingest_rate=$(awk -v s="$t0" -v e="$t1" -v m="$M" 'BEGIN { printf "%.1f", m / (e - s) }')
awk -v s="$t0" -v e="$t1" -v d="$t2" -v m="$M" -v u0="$u0" -v u1="$u1" -v u2="$u2" -v s0="$s0" -v s1="$s1" -v s2="$s2" -v sa="$sent_at_end" -v rss="$rss_end" 'BEGIN {
	printf "ingest: %d mails in %.2f s = %.0f mails/s\n", m, e - s, m / (e - s)
	c0 = u0 + s0; c1 = u1 + s1; c2 = u2 + s2
	printf "serve CPU during ingest: %.2f s = %.2f user + %.2f system (%.0f%% of one core, %.2f ms/mail); RSS at end %d MiB\n", c1 - c0, u1 - u0, s1 - s0, 100 * (c1 - c0) / (e - s), 1000 * (c1 - c0) / m, rss / 1024
	printf "outbound: %d of %d acknowledgements sent when the last 250 came; all sent %.2f s later, %.2f s more CPU\n", sa, m, d - e, c2 - c1
}'
echo "check: $cases cases in the organisation, $opened messages case_opened, $sent acknowledgements sent, $failed failed, $tempfail temporary failures (want $M $M $M 0 0)"
ok=1
[ "$cases" -eq "$M" ] && [ "$opened" -eq "$M" ] && [ "$tempfail" -eq 0 ] || ok=0

echo "== parse-only: go test -run XXX -bench ParseOnly -benchtime $BENCHTIME -count $COUNT -cpu 1,2 ./ingest/"
CASEMAIL_BENCH_MAIL=$MAIL go test -run XXX -bench ParseOnly -benchtime "$BENCHTIME" -count "$COUNT" -cpu 1,2 ./ingest/ | tee "$tmp/parse.txt" | grep '^Benchmark'
# Median rate over the -count runs, from ns/op (for RunParallel, ns/op is
# wall time per mail over all goroutines).
rate() { awk -v n="$1" '$1 == n { print 1e9 / $3 }' "$tmp/parse.txt" | sort -g | awk '{ v[NR] = $1 } END { printf "%.1f", v[int((NR + 1) / 2)] }'; }
p1=$(rate BenchmarkParseOnly/serial)
p2s=$(rate BenchmarkParseOnly/serial-2)
p2=$(rate BenchmarkParseOnly/parallel-2)
awk -v n="$COUNT" -v i="$ingest_rate" -v p1="$p1" -v p2s="$p2s" -v p2="$p2" 'BEGIN {
	printf "parse-only (median of %d runs): %.0f mails/s on one core (GOMAXPROCS=1), %.0f serial with GOMAXPROCS=2, %.0f on two cores (RunParallel, GOMAXPROCS=2)\n", n, p1, p2s, p2
	printf "ratio ingest / parse-only: %.2f against one core, %.2f against two cores (fair: the ingest uses both cores)\n", i / p1, i / p2
}'
[ "$ok" = 1 ] || { echo "FAILED: not every mail opened exactly one case" >&2; exit 1; }
