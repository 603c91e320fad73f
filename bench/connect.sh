#!/usr/bin/env bash
# connect.sh: a connection storm against tickroomd on this machine.
#
# Builds tickroomd and tickbench, starts a server, runs `tickbench connect`
# against it (connections opened at RATE per second until CONNS are held,
# held for HOLD, then probed and closed) and writes the result JSON, the
# SVG plot, the table and the logs under $OUT. Everything it starts is
# stopped on exit, and every part has a time limit.
#
#   bench/connect.sh                     # 19,000 tickroom.v1 connections at 2,000/s, held 10 s
#   PROTO=mix bench/connect.sh           # half tickroom.v1, half STOMP
#   bench/connect.sh -deflate            # extra flags go to tickbench connect
#   CONNS=5000 RATE=1000 HOLD=5s bench/connect.sh
#
# Each process may hold at most RLIMIT_NOFILE files (ulimit -n; 20,000 on
# this machine, and it cannot be raised here), so CONNS defaults to 19,000:
# below the limit of both server and bench. Past it the bench counts its
# own EMFILE failures (fd_limit_bench) and the server's accept fails (the
# attempts time out); the result shows the open files of both at the peak.
#
# Environment: OUT (default /tmp/tickbench-results), ADDR (127.0.0.1:8080),
# DEBUG_ADDR (127.0.0.1:6060), CONNS (19000), RATE (2000/s), PROTO (binary,
# stomp or mix), HOLD (10s), TAG (a name for this run's files; default the
# time), TICKROOMD and TICKBENCH (use these binaries instead of building).
set -euo pipefail

cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/tickbench-results}
ADDR=${ADDR:-127.0.0.1:8080}
DEBUG_ADDR=${DEBUG_ADDR:-127.0.0.1:6060}
CONNS=${CONNS:-19000}
RATE=${RATE:-2000}
PROTO=${PROTO:-binary}
HOLD=${HOLD:-10s}
TAG=${TAG:-$(date +%Y%m%d-%H%M%S)}

secs() { # 30s → 30, 2m → 120 (whole seconds only)
	case $1 in
	*m) echo $((${1%m} * 60)) ;;
	*s) echo "${1%s}" ;;
	*) echo "$1" ;;
	esac
}

mkdir -p "$OUT" "$OUT/bin"
if [[ -z ${TICKROOMD:-} || -z ${TICKBENCH:-} ]]; then
	echo "building into $OUT/bin ..."
	go build -o "$OUT/bin/tickroomd" ./services/tickroomd
	go build -o "$OUT/bin/tickbench" ./bench/tickbench
fi
TICKROOMD=${TICKROOMD:-$OUT/bin/tickroomd}
TICKBENCH=${TICKBENCH:-$OUT/bin/tickbench}

if curl -fsS "http://$ADDR/healthz" >/dev/null 2>&1; then
	echo "something already serves $ADDR; stop it or set ADDR" >&2
	exit 1
fi

pids=()
cleanup() {
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	sleep 0.5
	for p in "${pids[@]}"; do
		kill -9 "$p" 2>/dev/null || true
	done
}
trap cleanup EXIT

base="$OUT/connect-$TAG"
"$TICKROOMD" -listen "$ADDR" -debug-listen "$DEBUG_ADDR" >"$base.server.log" 2>&1 &
server=$!
pids+=("$server")
for _ in $(seq 50); do # up to 5 s for the listener
	curl -fsS "http://$ADDR/healthz" >/dev/null 2>&1 && break
	sleep 0.1
done
if ! kill -0 "$server" 2>/dev/null || ! curl -fsS "http://$ADDR/healthz" >/dev/null; then
	echo "server did not start; see $base.server.log" >&2
	exit 1
fi
echo "server pid $server, open-file limit $(awk '/Max open files/ {print $4}' "/proc/$server/limits"); bench shell ulimit -n $(ulimit -n)"

run_s=$(((CONNS + RATE - 1) / RATE + $(secs "$HOLD") + 60))
status=0
timeout $((run_s + 60)) "$TICKBENCH" connect -url "ws://$ADDR/ws" -conns "$CONNS" -rate "$RATE" -proto "$PROTO" \
	-hold "$HOLD" -timeout "${run_s}s" -pid "$server" -out "$base.json" -plot "$base.svg" "$@" \
	2> >(tee "$base.progress.log" >&2) | tee "$base.txt" || status=$?

# Is the server still serving after the storm (its connections are closed by now)?
if curl -fsS -m 5 "http://$ADDR/healthz" >/dev/null; then
	echo "server answers /healthz after the storm"
else
	echo "SERVER DOES NOT ANSWER /healthz after the storm" >&2
fi
# The server warns at start that it runs without a database; anything else is news.
if grep -iE 'level=(WARN|ERROR)|panic|too many open files|accept' "$base.server.log" | grep -qv 'NO DATABASE CONFIGURED'; then
	echo
	echo "server log has warnings or errors ($(grep -ciE 'too many open files' "$base.server.log") lines about too many open files):"
	grep -iE 'level=(WARN|ERROR)|panic|too many open files|accept' "$base.server.log" | grep -v 'NO DATABASE CONFIGURED' | head -10
fi
echo
echo "results in $OUT:"
ls -1 "$base".*
exit "$status"
