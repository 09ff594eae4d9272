#!/usr/bin/env bash
# Outbound fan-out benchmark: one comment on a case with 200 watchers (200
# outbox rows) sent by the outbound worker into Postfix's smtp-sink, next to
# smtp-source -s 10 -m 200 into the same sink in the same run.
# Usage: bench/fanout.sh [RUNS]   (env: PORT, N, WORKERS)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/sbin"
RUNS=${1:-5}
PORT=${PORT:-25526}
N=${N:-200}
WORKERS=${WORKERS:-4}
BIN=$(mktemp -d /tmp/fanout.XXXXXX)
trap 'kill "$SINK" 2>/dev/null || true; wait "$SINK" 2>/dev/null || true; rm -rf "$BIN"' EXIT

go build -o "$BIN/fanout" ./bench/fanout
smtp-sink -u nobody 127.0.0.1:$PORT 256 &
SINK=$!
for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/$PORT) 2>/dev/null && break; sleep 0.1; done

now() { date +%s.%N; }
src=(); ours=()
for i in $(seq "$RUNS"); do
	t0=$(now)
	smtp-source -s 10 -m "$N" -f bench@support.example.test -t sink@customer.test 127.0.0.1:$PORT
	t1=$(now)
	s=$(echo "$t1 - $t0" | bc -l)
	line=$("$BIN/fanout" -addr 127.0.0.1:$PORT -n "$N" -workers "$WORKERS")
	o=$(echo "$line" | sed -E 's/.* in ([0-9.]+) s.*/\1/')
	printf 'run %d: smtp-source -s 10 -m %d: %.4f s   %s\n' "$i" "$N" "$s" "$line"
	src+=("$s"); ours+=("$o")
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ms=$(median "${src[@]}"); mo=$(median "${ours[@]}")
printf 'median: smtp-source %.4f s (%.0f msg/s), casemail outbound %.4f s (%.0f msg/s), ratio %.2fx (target >= 0.7x)\n' \
	"$ms" "$(echo "$N / $ms" | bc -l)" "$mo" "$(echo "$N / $mo" | bc -l)" "$(echo "$ms / $mo" | bc -l)"
