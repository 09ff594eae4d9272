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
# STORE=postgres (see bench/serve-lib.sh) runs the same on a throw-away
# PostgreSQL cluster, then once more with two gateways on that store: two
# "casemail serve" with their own SMTP ports, smtp-source split over both
# (S/2 sessions and M/2 mails each, at the same time), timed until both
# finish. Both send their notifications into one Maildir (HOLD2=1 holds
# them as in the HOLD run instead). Each run prints the group-commit
# writer's mails per commit (casemail_store_batch_*_total).
#
#   bench/ingest-smtp.sh            # M=2000 S=10 sessions, connections reused (-d)
#   M=5000 S=4 bench/ingest-smtp.sh
#   HOLD=0 bench/ingest-smtp.sh     # skip the run with the outbound held
#   STORE=postgres bench/ingest-smtp.sh   # TWO=0 skips the two-gateway run
#   STORE=postgres HOLD2=1 bench/ingest-smtp.sh   # two gateways, outbound held
#   PARSE=0 bench/ingest-smtp.sh    # skip the parse-only baseline
#   MAIL=bench/testdata/mail-small.eml bench/ingest-smtp.sh
set -euo pipefail
cd "$(dirname "$0")/.."

M=${M:-2000}
S=${S:-10}
MAIL=${MAIL:-bench/testdata/mail-20k.eml}
BENCHTIME=${BENCHTIME:-2s}
COUNT=${COUNT:-3}
HOLD=${HOLD:-1}
TWO=${TWO:-1}
HOLD2=${HOLD2:-0}
PARSE=${PARSE:-1}
MAIL=$(realpath "$MAIL")

. bench/serve-lib.sh

# batch_counts PORT: "commits mails" of the group-commit writer of the
# server whose HTTP port is PORT.
batch_counts() {
	curl -fs "http://127.0.0.1:$1/metrics" | awk '$1 == "casemail_store_batch_commits_total" { c = $2 } $1 == "casemail_store_batch_mails_total" { m = $2 } END { print c + 0, m + 0 }'
}

# check_cases N: every one of N mails opened exactly one case.
check_cases() {
	local cases opened tempfail=$2
	cases=$(cmcli case list --org example --json | python3 -c 'import json, sys; print(len(json.load(sys.stdin)))')
	opened=$(cmcli message list --outcome case_opened --json | python3 -c 'import json, sys; print(len(json.load(sys.stdin)))')
	echo "  check: $cases cases, $opened messages case_opened, $tempfail temporary failures (want $1 $1 0)"
	[ "$cases" -eq "$1" ] && [ "$opened" -eq "$1" ] && [ "$tempfail" -eq 0 ] || { echo "FAILED: not every mail opened exactly one case" >&2; exit 1; }
}

# ingest_run LABEL: one smtp-source run against a started, registered
# server; sets rate (mails/s) and checks that every mail opened a case.
ingest_run() {
	local u0 s0 u1 s1 t0 t1 sent_at_end rss_end tempfail c0 b0 c1 b1
	read -r c0 b0 < <(batch_counts "$http_port")
	read -r u0 s0 < <(cpu_seconds "$serve_pid")
	t0=$(now)
	"$SOURCE" -s "$S" -m "$M" -d -F "$MAIL" -f alice@example.com -t support@localhost "127.0.0.1:$smtp_port"
	t1=$(now)
	read -r u1 s1 < <(cpu_seconds "$serve_pid")
	read -r c1 b1 < <(batch_counts "$http_port")
	sent_at_end=$(metric 'casemail_outbox_messages{status="sent"}')
	rss_end=$(rss_kb "$serve_pid")
	tempfail=$(metric 'casemail_ingest_temporary_failures_total')
	rate=$(awk -v s="$t0" -v e="$t1" -v m="$M" 'BEGIN { printf "%.1f", m / (e - s) }')
	awk -v l="$1" -v s="$t0" -v e="$t1" -v m="$M" -v u0="$u0" -v u1="$u1" -v s0="$s0" -v s1="$s1" -v sa="$sent_at_end" -v rss="$rss_end" 'BEGIN {
		c = u1 + s1 - u0 - s0
		printf "%s: %d mails in %.2f s = %.0f mails/s; %d acknowledgements sent by then\n", l, m, e - s, m / (e - s), sa
		printf "  serve CPU %.2f s = %.2f user + %.2f system (%.0f%% of one core, %.2f ms/mail); RSS at end %d MiB\n", c, u1 - u0, s1 - s0, 100 * c / (e - s), 1000 * c / m, rss / 1024
	}'
	awk -v c="$((c1 - c0))" -v b="$((b1 - b0))" 'BEGIN { printf "  group commit: %d mails in %d commits = %.2f mails per commit\n", b, c, c ? b / c : 0 }'
	check_cases "$M" "$tempfail"
}

# hold_outbound: the [outbound] lines of a relay that accepts connections
# and never answers, so the outbound worker waits on its first mail for the
# whole run. The relay is started once, by start_hold (not in a $(…): it
# would hold the substitution's pipe open).
hold_port=
start_hold() {
	[ -z "$hold_port" ] || return 0
	read -r hold_port < <(free_ports 1)
	python3 -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(64); time.sleep(3600)' "$hold_port" </dev/null >/dev/null 2>&1 &
	extra_pids+=($!)
}
hold_outbound() { printf 'transport = "smtp://127.0.0.1:%s"\nstarttls = "never"\ntimeout = "10m"\n' "$hold_port"; }

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
	start_hold
	new_store "$(hold_outbound)"
	start_serve
	register_sender
	ingest_run "outbound held"
	stop_serve
	awk -v a="$rate_out" -v b="$rate" 'BEGIN { printf "outbound worker share: %.0f%% of the ingest rate (%.0f vs %.0f mails/s)\n", 100 * (1 - a / b), a, b }'
fi

if [ "$STORE" = postgres ] && [ "$TWO" = 1 ]; then
	if [ "$HOLD2" = 1 ]; then
		echo "== two gateways on one PostgreSQL store, outbound held on both: smtp-source -s $((S / 2)) -m $((M / 2)) -d into each, at the same time"
		start_hold
		new_store "$(hold_outbound)"
	else
		# Both gateways send into one Maildir (safe for concurrent writers);
		# each notification is claimed by one of them (FOR UPDATE SKIP LOCKED).
		echo "== two gateways on one PostgreSQL store, outbound (Maildir) running on both: smtp-source -s $((S / 2)) -m $((M / 2)) -d into each, at the same time"
		new_store
	fi
	start_serve
	register_sender
	# The second gateway: the same config on its own ports.
	read -r smtp2 http2 < <(free_ports 2)
	cfg2=$store/casemail2.toml
	sed -e "s/127.0.0.1:$smtp_port/127.0.0.1:$smtp2/" -e "s/127.0.0.1:$http_port/127.0.0.1:$http2/" "$cfg" >"$cfg2"
	"$cm" serve --config "$cfg2" 2>"$store/serve2.log" &
	serve2_pid=$!
	extra_pids+=("$serve2_pid")
	for _ in $(seq 200); do curl -fs "http://127.0.0.1:$http2/healthz" >/dev/null 2>&1 && break; sleep 0.05; done
	read -r c0a b0a < <(batch_counts "$http_port")
	read -r c0b b0b < <(batch_counts "$http2")
	read -r u0a s0a < <(cpu_seconds "$serve_pid")
	read -r u0b s0b < <(cpu_seconds "$serve2_pid")
	t0=$(now)
	"$SOURCE" -s $((S / 2)) -m $((M / 2)) -d -F "$MAIL" -f alice@example.com -t support@localhost "127.0.0.1:$smtp_port" &
	src1=$!
	"$SOURCE" -s $((S / 2)) -m $((M / 2)) -d -F "$MAIL" -f alice@example.com -t support@localhost "127.0.0.1:$smtp2" &
	src2=$!
	wait "$src1"
	wait "$src2"
	t1=$(now)
	read -r u1a s1a < <(cpu_seconds "$serve_pid")
	read -r u1b s1b < <(cpu_seconds "$serve2_pid")
	read -r c1a b1a < <(batch_counts "$http_port")
	read -r c1b b1b < <(batch_counts "$http2")
	tempfail=$(($(metric 'casemail_ingest_temporary_failures_total') + $(curl -fs "http://127.0.0.1:$http2/metrics" | awk '$1 == "casemail_ingest_temporary_failures_total" { v = $2 } END { print v + 0 }')))
	m2=$((M / 2 * 2))
	awk -v s="$t0" -v e="$t1" -v m="$m2" -v u0a="$u0a" -v s0a="$s0a" -v u1a="$u1a" -v s1a="$s1a" -v u0b="$u0b" -v s0b="$s0b" -v u1b="$u1b" -v s1b="$s1b" 'BEGIN {
		ca = u1a + s1a - u0a - s0a
		cb = u1b + s1b - u0b - s0b
		printf "two gateways: %d mails in %.2f s = %.0f mails/s\n", m, e - s, m / (e - s)
		printf "  serve CPU %.2f s + %.2f s (%.2f ms/mail in all)\n", ca, cb, 1000 * (ca + cb) / m
	}'
	awk -v c="$((c1a - c0a + c1b - c0b))" -v b="$((b1a - b0a + b1b - b0b))" 'BEGIN { printf "  group commit: %d mails in %d commits = %.2f mails per commit\n", b, c, c ? b / c : 0 }'
	check_cases "$m2" "$tempfail"
	if [ "$HOLD2" != 1 ]; then
		# Each notification claimed by one gateway: the shared Maildir holds
		# exactly one mail per outbox row.
		for _ in $(seq 600); do
			[ "$(metric 'casemail_outbox_messages{status="sent"}')" -ge "$m2" ] && break
			sleep 0.1
		done
		delivered=$(find "$store/sent/new" -type f | wc -l)
		echo "  outbox: $delivered mails in the shared Maildir for $m2 acknowledgements (want equal: each sent once)"
		[ "$delivered" -eq "$m2" ] || { echo "FAILED: notifications lost or sent twice" >&2; exit 1; }
	fi
	kill -TERM "$serve2_pid"
	wait "$serve2_pid" || true
	stop_serve
fi

[ "$PARSE" = 1 ] || exit 0

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
