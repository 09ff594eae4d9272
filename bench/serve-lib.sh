# Shared by bench/ingest-smtp.sh and bench/backlog-rss.sh (sourced, not run):
# builds casemail, starts "casemail serve" on free loopback ports with a
# temporary store and a Maildir outbound, registers the sender, and stops
# the server (and any helper in extra_pids) on exit. Sets: tmp, cm (binary),
# cfg, smtp_port, http_port, serve_pid.

SOURCE=${SMTP_SOURCE:-/usr/sbin/smtp-source}
[ -x "$SOURCE" ] || { echo "smtp-source not found (apt-get install postfix)" >&2; exit 1; }
command -v curl >/dev/null || { echo "curl not found" >&2; exit 1; }

tmp=$(mktemp -d /tmp/cmbench.XXXXXX)
serve_pid=
sampler_pid=
extra_pids=()
cleanup() {
	if [ -n "$sampler_pid" ]; then kill "$sampler_pid" 2>/dev/null || true; wait "$sampler_pid" 2>/dev/null || true; fi
	for p in "${extra_pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
	if [ -n "$serve_pid" ]; then kill -TERM "$serve_pid" 2>/dev/null || true; wait "$serve_pid" 2>/dev/null || true; fi
	if [ -n "${KEEP:-}" ]; then echo "kept $tmp" >&2; else rm -rf "$tmp"; fi
}
trap cleanup EXIT

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
	cat >"$cfg" <<TOML
[store]
path = "$store/casemail.db"
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
