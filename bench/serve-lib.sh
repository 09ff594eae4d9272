# Shared by bench/ingest-smtp.sh and bench/backlog-rss.sh (sourced, not run):
# builds casemail, starts "casemail serve" on free loopback ports with a
# temporary store and a Maildir outbound, registers the sender, and stops
# the server (and any helper in extra_pids) on exit. Sets: tmp, cm (binary),
# cfg, smtp_port, http_port, serve_pid.
#
# STORE=postgres puts the casebook in PostgreSQL instead of SQLite: a
# throw-away cluster started here as internal/testenv/postgres does (initdb
# in a temporary directory, as the postgres user when root; pg_ctl on a Unix
# socket only), but with PostgreSQL's durable defaults (fsync=on,
# synchronous_commit=on, full_page_writes=on): a benchmark of the real
# thing. Each new_store is a new database in it; the cluster is stopped and
# removed on exit. PG_OPTS adds server options (e.g. "-c
# log_min_duration_statement=0" to see each statement's time; KEEP=1 keeps
# the server log).

SOURCE=${SMTP_SOURCE:-/usr/sbin/smtp-source}
[ -x "$SOURCE" ] || { echo "smtp-source not found (apt-get install postfix)" >&2; exit 1; }
command -v curl >/dev/null || { echo "curl not found" >&2; exit 1; }

STORE=${STORE:-sqlite}
case $STORE in sqlite | postgres) ;; *) echo "STORE must be sqlite or postgres, not $STORE" >&2; exit 1 ;; esac

tmp=$(mktemp -d /tmp/cmbench.XXXXXX)
serve_pid=
sampler_pid=
extra_pids=()
pg_dir=
cleanup() {
	if [ -n "$sampler_pid" ]; then kill "$sampler_pid" 2>/dev/null || true; wait "$sampler_pid" 2>/dev/null || true; fi
	for p in "${extra_pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
	if [ -n "$serve_pid" ]; then kill -TERM "$serve_pid" 2>/dev/null || true; wait "$serve_pid" 2>/dev/null || true; fi
	if [ -n "$pg_dir" ]; then
		pg_run "$pg_bin/pg_ctl" -D "$pg_dir/data" -m fast -w stop >/dev/null 2>&1 || true
		[ -z "${KEEP:-}" ] || cp "$pg_dir/log" "$tmp/postgres.log"
		rm -rf "$pg_dir"
	fi
	if [ -n "${KEEP:-}" ]; then echo "kept $tmp" >&2; else rm -rf "$tmp"; fi
}
trap cleanup EXIT

# pg_run CMD...: runs a PostgreSQL tool as the postgres user when root
# (initdb refuses root).
pg_run() {
	if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
pg_db=0
if [ "$STORE" = postgres ]; then
	pg_bin=${CASEMAIL_PG_BIN:-$(dirname "$(ls -d /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -1)")}
	[ -x "$pg_bin/initdb" ] || { echo "PostgreSQL not found (apt-get install postgresql)" >&2; exit 1; }
	# A short directory: the socket path must fit in 108 bytes.
	pg_dir=$(mktemp -d /tmp/pg.XXXXXX)
	[ "$(id -u)" != 0 ] || chown postgres: "$pg_dir"
	pg_run "$pg_bin/initdb" -D "$pg_dir/data" -U casemail -A trust -E UTF8 --locale=C.UTF-8 >"$pg_dir/initdb.log" 2>&1 ||
		{ cat "$pg_dir/initdb.log" >&2; exit 1; }
	pg_run "$pg_bin/pg_ctl" -D "$pg_dir/data" -w -t 60 -l "$pg_dir/log" \
		-o "-p 5432 -k $pg_dir -c listen_addresses= -c fsync=on -c synchronous_commit=on -c full_page_writes=on ${PG_OPTS:-}" start >/dev/null ||
		{ cat "$pg_dir/log" >&2; exit 1; }
	echo "PostgreSQL $("$pg_bin/postgres" --version | awk '{ print $3 }') on a Unix socket in $pg_dir: fsync=on, synchronous_commit=on, full_page_writes=on, shared_buffers=$(pg_run "$pg_bin/psql" -h "$pg_dir" -U casemail -d postgres -Atc 'SHOW shared_buffers')"
fi

# store_toml: the [store] line of a new store in directory $store (a new
# database bench$pg_db with PostgreSQL).
store_toml() {
	if [ "$STORE" = postgres ]; then
		pg_run "$pg_bin/createdb" -h "$pg_dir" -U casemail "bench$pg_db"
		echo "dsn = \"postgres://casemail@/bench$pg_db?host=$pg_dir&port=5432&sslmode=disable\""
	else
		echo "path = \"$store/casemail.db\""
	fi
}

cm=$tmp/casemail
go build -o "$cm" ./cmd/casemail

# free_ports N: N free loopback ports (all bound before any is released).
free_ports() {
	python3 -c '
import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))' "$1"
}
read -r smtp_port http_port < <(free_ports 2)

# new_store [OUTBOUND_TOML]: a fresh store directory and config; the
# outbound section defaults to a Maildir in that directory.
cfg=
store=
new_store() {
	store=$(mktemp -d "$tmp/store.XXXX")
	cfg=$store/casemail.toml
	local outbound="transport = \"maildir:$store/sent\""
	[ $# -eq 0 ] || outbound=$1
	local store_line
	pg_db=$((pg_db + 1))
	store_line=$(store_toml)
	cat >"$cfg" <<TOML
[store]
$store_line
[smtp]
listen = "127.0.0.1:$smtp_port"
[http]
listen = "127.0.0.1:$http_port"
[outbound]
$outbound
TOML
}
new_store

cmcli() { "$cm" "$@" --config "$cfg"; }

# start_serve: runs casemail serve in the background (log in $store/serve.log)
# and waits until /healthz answers.
start_serve() {
	"$cm" serve --config "$cfg" 2>"$store/serve.log" &
	serve_pid=$!
	for _ in $(seq 200); do
		curl -fs "http://127.0.0.1:$http_port/healthz" >/dev/null 2>&1 && return 0
		kill -0 "$serve_pid" 2>/dev/null || { cat "$store/serve.log" >&2; echo "casemail serve died" >&2; exit 1; }
		sleep 0.05
	done
	echo "casemail serve did not become ready" >&2
	exit 1
}

stop_serve() {
	kill -TERM "$serve_pid"
	wait "$serve_pid" || true
	serve_pid=
}

# The sender of every benchmark mail: verified, in an organisation entitled
# to the default route's product ("support"), so each mail opens a case (R6).
register_sender() {
	cmcli account add alice@example.com --verified >/dev/null
	cmcli org create example --owner alice@example.com --entitle support >/dev/null
}

# metric NAME_AND_LABELS: one value from /metrics (0 when absent).
metric() {
	curl -fs "http://127.0.0.1:$http_port/metrics" | awk -v k="$1" '$1 == k { v = $2 } END { print v + 0 }'
}

# cpu_seconds PID: "user system" CPU seconds of a process so far.
cpu_seconds() {
	awk -v hz="$(getconf CLK_TCK)" '{ sub(/.*\) /, ""); print $12 / hz, $13 / hz }' "/proc/$1/stat"
}

# rss_kb PID: resident set size (VmRSS) in KiB.
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

now() { date +%s.%N; }
