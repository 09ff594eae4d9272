#!/usr/bin/env bash
# Peak RSS of "casemail serve" while one mail with a 25 MB attachment is
# received over SMTP (issue 6: must stay <= 64 MB).
#
#   bench/memory.sh            # one 25 MB attachment
#   SIZE_MB=10 bench/memory.sh
#
# Builds casemail, starts serve with a temp config (SQLite in a temp dir,
# SMTP on a free loopback port, maildir outbound, no HTTP listener),
# registers an account and an organisation, sends the mail with swaks,
# waits until "casemail message list --json" shows it, reads VmHWM from
# /proc/PID/status and stops serve with SIGTERM.
set -euo pipefail
cd "$(dirname "$0")/.."

SIZE_MB=${SIZE_MB:-25}
command -v swaks >/dev/null || { echo "swaks not found (apt-get install swaks)" >&2; exit 1; }

tmp=$(mktemp -d /tmp/membench.XXXXXX)
serve_pid=
cleanup() {
	if [ -n "$serve_pid" ]; then kill -TERM "$serve_pid" 2>/dev/null || true; wait "$serve_pid" 2>/dev/null || true; fi
	rm -rf "$tmp"
}
trap cleanup EXIT

go build -o "$tmp/casemail" ./cmd/casemail

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
cat >"$tmp/casemail.toml" <<TOML
[store]
path = "$tmp/casemail.db"
[smtp]
listen = "127.0.0.1:$port"
domains = ["support.test"]
# A 25 MB attachment is ~34 MB once base64-encoded: over the 25 MiB default.
max_message_bytes = $((48 << 20))
[outbound]
transport = "maildir:$tmp/sent"
from = "Support <support@support.test>"
reply_domain = "support.test"
[[route]]
address = "support@support.test"
product = "support"
[http]
listen = ""
[log]
level = "warn"
TOML
cm() { "$tmp/casemail" --config "$tmp/casemail.toml" "$@"; }

cm account add alice@customer.test --verified >/dev/null
cm org create acme --owner alice@customer.test --entitle support >/dev/null

# Deterministic, incompressible-looking attachment bytes.
python3 - "$tmp/attachment.bin" "$SIZE_MB" <<'PY'
import hashlib, sys
path, mb = sys.argv[1], int(sys.argv[2])
with open(path, "wb") as f:
    block, n = b"", 0
    while n < mb * 1000 * 1000:
        block = hashlib.sha256(block + n.to_bytes(8, "big")).digest() * 2048
        f.write(block[: mb * 1000 * 1000 - n]); n += len(block)
PY

"$tmp/casemail" --config "$tmp/casemail.toml" serve 2>"$tmp/serve.log" &
serve_pid=$!
for _ in $(seq 200); do
	(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
	sleep 0.05
done
rss() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$serve_pid/status"; }
idle_rss=$(rss VmRSS)

start=$(date +%s.%N)
swaks --server "127.0.0.1:$port" --from alice@customer.test --to support@support.test \
	--header "Subject: big attachment" --body "See the attached file." \
	--attach-type application/octet-stream --attach-name big.bin --attach @"$tmp/attachment.bin" >"$tmp/swaks.log" 2>&1 ||
	{ tail -5 "$tmp/swaks.log" >&2; exit 1; }
end=$(date +%s.%N)

for _ in $(seq 600); do
	cm message list --json | grep -q '"outcome"' && break
	sleep 0.1
done
outcome=$(cm message list --json | python3 -c 'import json,sys; m=json.load(sys.stdin); print(m[-1]["outcome"], m[-1]["reason"]) if m else print("none")')
hwm=$(rss VmHWM)
kill -TERM "$serve_pid"; wait "$serve_pid" || true; serve_pid=

size=$(stat -c %s "$tmp/attachment.bin")
awk -v h="$hwm" -v i="$idle_rss" -v s="$size" -v a="$start" -v b="$end" -v o="$outcome" 'BEGIN {
	printf "attachment %d bytes, SMTP transaction %.2f s, outcome: %s\n", s, b - a, o
	printf "casemail serve RSS: idle %.1f MB, peak (VmHWM) %.1f MB\n", i / 1024, h / 1024 }'
