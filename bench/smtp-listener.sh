#!/usr/bin/env bash
# SMTP listener throughput, transport only: Postfix's smtp-source against
# bench/cmd/smtpsink-casemail (ingest/smtpd with a receiver that reads and
# discards each message). Prints msg/s.
#
#   bench/smtp-listener.sh                 # -s 10 -m 2000 -l 20000 -d
#   bench/smtp-listener.sh -s 1 -m 2000    # any smtp-source flags
#   LMTP=1 bench/smtp-listener.sh          # LMTP (adds -L)
set -euo pipefail
cd "$(dirname "$0")/.."

SOURCE=${SMTP_SOURCE:-/usr/sbin/smtp-source}
[ -x "$SOURCE" ] || { echo "smtp-source not found (apt-get install postfix)" >&2; exit 1; }
ARGS=("$@")
[ ${#ARGS[@]} -gt 0 ] || ARGS=(-s 10 -m 2000 -l 20000 -d)

tmp=$(mktemp -d /tmp/smtpbench.XXXXXX)
sink_pid=
cleanup() {
	if [ -n "$sink_pid" ]; then kill "$sink_pid" 2>/dev/null || true; wait "$sink_pid" 2>/dev/null || true; fi
	rm -rf "$tmp"
}
trap cleanup EXIT

go build -o "$tmp/sink" ./bench/cmd/smtpsink-casemail

# A free port: bind :0, read it back, release it.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
sink_flags=(-listen "127.0.0.1:$port" -domain localhost -max-connections 200)
proto=()
if [ "${LMTP:-}" = 1 ]; then sink_flags+=(-lmtp); proto=(-L); fi
"$tmp/sink" "${sink_flags[@]}" 2>"$tmp/sink.log" &
sink_pid=$!
for _ in $(seq 100); do
	(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
	sleep 0.05
done

m=2000
for ((i = 0; i < ${#ARGS[@]}; i++)); do [ "${ARGS[$i]}" = -m ] && m=${ARGS[$((i + 1))]}; done

start=$(date +%s.%N)
"$SOURCE" "${proto[@]}" "${ARGS[@]}" -f bench@client.test -t support@localhost "127.0.0.1:$port"
end=$(date +%s.%N)

kill -TERM "$sink_pid"; wait "$sink_pid" || true; sink_pid=
received=$(sed -n 's/.*: \([0-9]*\) messages received.*/\1/p' "$tmp/sink.log")
awk -v s="$start" -v e="$end" -v m="$m" -v r="$received" -v a="${proto[*]} ${ARGS[*]}" \
	'BEGIN { printf "smtp-source %s: %d messages in %.2f s = %.0f msg/s (sink received %s)\n", a, m, e - s, m / (e - s), r }'
