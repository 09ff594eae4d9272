# Shared by bench/ingest-smtp.sh and bench/backlog-rss.sh (sourced, not run):
# builds casemail, starts "casemail serve" on free loopback ports with a
# temporary store and a Maildir outbound, registers the sender, and stops
# the server on exit. Sets: tmp, cm (binary), cfg, smtp_port, http_port,
# serve_pid.

SOURCE=${SMTP_SOURCE:-/usr/sbin/smtp-source}
[ -x "$SOURCE" ] || { echo "smtp-source not found (apt-get install postfix)" >&2; exit 1; }
command -v curl >/dev/null || { echo "curl not found" >&2; exit 1; }

tmp=$(mktemp -d /tmp/cmbench.XXXXXX)
serve_pid=
sampler_pid=
cleanup() {
	if [ -n "$sampler_pid" ]; then kill "$sampler_pid" 2>/dev/null || true; wait "$sampler_pid" 2>/dev/null || true; fi
	if [ -n "$serve_pid" ]; then kill -TERM "$serve_pid" 2>/dev/null || true; wait "$serve_pid" 2>/dev/null || true; fi
	if [ -n "${KEEP:-}" ]; then echo "kept $tmp" >&2; else rm -rf "$tmp"; fi
}
trap cleanup EXIT

cm=$tmp/casemail
go build -o "$cm" ./cmd/casemail

# Two free ports at once (both bound before either is released).
read -r smtp_port http_port < <(python3 -c '
import socket
a, b = socket.socket(), socket.socket()
a.bind(("127.0.0.1", 0)); b.bind(("127.0.0.1", 0))
print(a.getsockname()[1], b.getsockname()[1])')

cfg=$tmp/casemail.toml
cat >"$cfg" <<TOML
[store]
path = "$tmp/casemail.db"
[smtp]
listen = "127.0.0.1:$smtp_port"
[outbound]
transport = "maildir:$tmp/sent"
[http]
listen = "127.0.0.1:$http_port"
TOML

cmcli() { "$cm" "$@" --config "$cfg"; }

# start_serve: runs casemail serve in the background (log in $tmp/serve.log)
# and waits until /healthz answers.
start_serve() {
	"$cm" serve --config "$cfg" 2>"$tmp/serve.log" &
	serve_pid=$!
	for _ in $(seq 200); do
		curl -fs "http://127.0.0.1:$http_port/healthz" >/dev/null 2>&1 && return 0
		kill -0 "$serve_pid" 2>/dev/null || { cat "$tmp/serve.log" >&2; echo "casemail serve died" >&2; exit 1; }
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
