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
# A second run on a fresh store holds the outbound worker (its relay is a
# socket that never answers, so it waits on its first mail for the whole
# run): the difference is the outbound worker's share.
#
# Then, in the same run, the parse-only rate of the same file:
#   go test -run XXX -bench ParseOnly -count 3 -cpu 1,2 ./ingest/
# (ingest.Parse: enmime + classification + reply extraction, plus the
# fingerprint), one goroutine and GOMAXPROCS goroutines, and the ratios.
#
#   bench/ingest-smtp.sh            # M=2000 S=10 sessions, connections reused (-d)
#   M=5000 S=4 bench/ingest-smtp.sh
#   HOLD=0 bench/ingest-smtp.sh     # skip the run with the outbound held
#   MAIL=bench/testdata/mail-small.eml bench/ingest-smtp.sh
set -euo pipefail
cd "$(dirname "$0")/.."

M=${M:-2000}
S=${S:-10}
MAIL=${MAIL:-bench/testdata/mail-20k.eml}
BENCHTIME=${BENCHTIME:-2s}
COUNT=${COUNT:-3}
HOLD=${HOLD:-1}
MAIL=$(realpath "$MAIL")

. bench/serve-lib.sh

# ingest_run LABEL: one smtp-source run against a started, registered
# server; sets rate (mails/s) and checks that every mail opened a case.
ingest_run() {
	local u0 s0 u1 s1 t0 t1 sent_at_end rss_end tempfail cases opened
	read -r u0 s0 < <(cpu_seconds "$serve_pid")
	t0=$(now)
	"$SOURCE" -s "$S" -m "$M" -d -F "$MAIL" -f alice@example.com -t support@localhost "127.0.0.1:$smtp_port"
	t1=$(now)
	read -r u1 s1 < <(cpu_seconds "$serve_pid")
	sent_at_end=$(metric 'casemail_outbox_messages{status="sent"}')
	rss_end=$(rss_kb "$serve_pid")
	tempfail=$(metric 'casemail_ingest_temporary_failures_total')
	cases=$(cmcli case list --org example --json | python3 -c 'import json, sys; print(len(json.load(sys.stdin)))')
	opened=$(cmcli message list --outcome case_opened --json | python3 -c 'import json, sys; print(len(json.load(sys.stdin)))')
	rate=$(awk -v s="$t0" -v e="$t1" -v m="$M" 'BEGIN { printf "%.1f", m / (e - s) }')
	awk -v l="$1" -v s="$t0" -v e="$t1" -v m="$M" -v u0="$u0" -v u1="$u1" -v s0="$s0" -v s1="$s1" -v sa="$sent_at_end" -v rss="$rss_end" 'BEGIN {
		c = u1 + s1 - u0 - s0
		printf "%s: %d mails in %.2f s = %.0f mails/s; %d acknowledgements sent by then\n", l, m, e - s, m / (e - s), sa
		printf "  serve CPU %.2f s = %.2f user + %.2f system (%.0f%% of one core, %.2f ms/mail); RSS at end %d MiB\n", c, u1 - u0, s1 - s0, 100 * c / (e - s), 1000 * c / m, rss / 1024
	}'
	echo "  check: $cases cases, $opened messages case_opened, $tempfail temporary failures (want $M $M 0)"
	[ "$cases" -eq "$M" ] && [ "$opened" -eq "$M" ] && [ "$tempfail" -eq 0 ] || { echo "FAILED: not every mail opened exactly one case" >&2; exit 1; }
}

echo "== SMTP ingest: smtp-source -s $S -m $M -d -F $(basename "$MAIL") ($(wc -c <"$MAIL") bytes) -> casemail serve"
start_serve
register_sender
ingest_run "with outbound (Maildir)"
t1=$(now)
for _ in $(seq 600); do
	[ "$(metric 'casemail_outbox_messages{status="sent"}')" -ge "$M" ] && break
	sleep 0.1
done
awk -v e="$t1" -v d="$(now)" -v n="$(metric 'casemail_outbox_messages{status="sent"}')" 'BEGIN { printf "  outbox: all %d acknowledgements sent %.2f s after the last 250\n", n, d - e }'
stop_serve
rate_out=$rate

if [ "$HOLD" = 1 ]; then
	read -r hold_port < <(free_ports 1)
	python3 -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(64); time.sleep(3600)' "$hold_port" &
	extra_pids+=($!)
	new_store "transport = \"smtp://127.0.0.1:$hold_port\"
starttls = \"never\"
timeout = \"10m\""
	start_serve
	register_sender
	ingest_run "outbound held"
	stop_serve
	awk -v a="$rate_out" -v b="$rate" 'BEGIN { printf "outbound worker share: %.0f%% of the ingest rate (%.0f vs %.0f mails/s)\n", 100 * (1 - a / b), a, b }'
fi

echo "== parse-only: go test -run XXX -bench ParseOnly -benchtime $BENCHTIME -count $COUNT -cpu 1,2 ./ingest/"
CASEMAIL_BENCH_MAIL=$MAIL go test -run XXX -bench ParseOnly -benchtime "$BENCHTIME" -count "$COUNT" -cpu 1,2 ./ingest/ | tee "$tmp/parse.txt" | grep '^Benchmark'
# Median rate over the -count runs, from ns/op (for RunParallel, ns/op is
# wall time per mail over all goroutines).
median_rate() { awk -v n="$1" '$1 == n { print 1e9 / $3 }' "$tmp/parse.txt" | sort -g | awk '{ v[NR] = $1 } END { printf "%.1f", v[int((NR + 1) / 2)] }'; }
p1=$(median_rate BenchmarkParseOnly/serial)
p2s=$(median_rate BenchmarkParseOnly/serial-2)
p2=$(median_rate BenchmarkParseOnly/parallel-2)
awk -v n="$COUNT" -v i="$rate_out" -v p1="$p1" -v p2s="$p2s" -v p2="$p2" 'BEGIN {
	printf "parse-only (median of %d runs): %.0f mails/s on one core (GOMAXPROCS=1), %.0f serial with GOMAXPROCS=2, %.0f on two cores (RunParallel, GOMAXPROCS=2)\n", n, p1, p2s, p2
	printf "ratio ingest (with outbound) / parse-only: %.2f against one core, %.2f against two cores (the fair one: the ingest uses both cores)\n", i / p1, i / p2
}'
