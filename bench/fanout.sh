#!/usr/bin/env bash
# fanout.sh: one STOMP topic, one publisher, N subscribers, on this machine.
#
# Builds tickroomd and tickbench, starts a server (broker topics need no
# flags), runs `tickbench fanout` against its /topic/tickbench and writes the
# result JSON, the SVG plot and the logs under $OUT. Everything it starts is
# stopped on exit, and every part has a time limit.
#
#   bench/fanout.sh                      # 1,000 subscribers, 1,000 msg/s, 200-byte bodies, 30 s window
#   bench/fanout.sh -deflate             # extra flags go to tickbench fanout
#   PROFILE=1 bench/fanout.sh            # also a 10 s CPU profile and a heap profile of the server
#   SUBSCRIBERS=200 RATE=5000 DURATION=10s bench/fanout.sh
#
# Environment: OUT (default /tmp/tickbench-results), ADDR (127.0.0.1:8080),
# SUBSCRIBERS (1000), RATE (1000 msg/s), SIZE (200 bytes), DURATION (30s),
# WARMUP (3s), RAMP (500 connections/s), PROFILE (unset), TAG (a name for
# this run's files; default the time).
set -euo pipefail

cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/tickbench-results}
ADDR=${ADDR:-127.0.0.1:8080}
DEBUG_ADDR=${DEBUG_ADDR:-127.0.0.1:6060}
SUBSCRIBERS=${SUBSCRIBERS:-1000}
RATE=${RATE:-1000}
SIZE=${SIZE:-200}
DURATION=${DURATION:-30s}
WARMUP=${WARMUP:-3s}
RAMP=${RAMP:-500}
TAG=${TAG:-$(date +%Y%m%d-%H%M%S)}

secs() { # 30s → 30, 2m → 120 (whole seconds only)
	case $1 in
	*m) echo $((${1%m} * 60)) ;;
	*s) echo "${1%s}" ;;
	*) echo "$1" ;;
	esac
}

mkdir -p "$OUT" "$OUT/bin"
echo "building into $OUT/bin ..."
go build -o "$OUT/bin/tickroomd" ./services/tickroomd
go build -o "$OUT/bin/tickbench" ./bench/tickbench

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

base="$OUT/fanout-$TAG"
"$OUT/bin/tickroomd" -listen "$ADDR" -debug-listen "$DEBUG_ADDR" >"$base.server.log" 2>&1 &
server=$!
pids+=("$server")
for _ in $(seq 50); do # up to 5 s for the listener
	curl -fsS "http://$ADDR/healthz" >/dev/null 2>&1 && break
	sleep 0.1
done
curl -fsS "http://$ADDR/healthz" >/dev/null || {
	echo "server did not start; see $base.server.log" >&2
	exit 1
}

ramp_s=$(((SUBSCRIBERS + RAMP - 1) / RAMP))
run_s=$((ramp_s + $(secs "$WARMUP") + $(secs "$DURATION")))
if [[ -n ${PROFILE:-} ]]; then
	# A 10 s CPU profile from the middle of the window.
	(
		sleep $((run_s - $(secs "$DURATION") / 2 - 5))
		timeout 30 curl -fsS -o "$base.cpu.pprof" "http://$DEBUG_ADDR/debug/pprof/profile?seconds=10"
		exec timeout 30 curl -fsS -o "$base.heap.pprof" "http://$DEBUG_ADDR/debug/pprof/heap"
	) >"$base.profile.log" 2>&1 &
	pids+=("$!")
fi

timeout $((run_s + 60)) "$OUT/bin/tickbench" fanout -url "ws://$ADDR/ws" -topic /topic/tickbench \
	-subscribers "$SUBSCRIBERS" -rate "$RATE" -size "$SIZE" -ramp "$RAMP" -warmup "$WARMUP" \
	-duration "$DURATION" -pid "$server" -out "$base.json" -plot "$base.svg" "$@" \
	2> >(tee "$base.progress.log" >&2) | tee "$base.txt"

# The server warns at start that it runs without a database; anything else is news.
if grep -iE 'level=(WARN|ERROR)|panic' "$base.server.log" | grep -qv 'NO DATABASE CONFIGURED'; then
	echo
	echo "server log has warnings or errors:"
	grep -iE 'level=(WARN|ERROR)|panic' "$base.server.log" | grep -v 'NO DATABASE CONFIGURED' | head -20
fi
if [[ -n ${PROFILE:-} ]]; then
	wait "${pids[-1]}" 2>/dev/null || true
	if [[ -s $base.cpu.pprof ]]; then
		{
			go tool pprof -top -nodecount=35 "$OUT/bin/tickroomd" "$base.cpu.pprof"
			echo
			go tool pprof -top -cum -nodecount=35 "$OUT/bin/tickroomd" "$base.cpu.pprof"
			echo
			[[ -s $base.heap.pprof ]] && go tool pprof -top -sample_index=inuse_space -nodecount=20 "$OUT/bin/tickroomd" "$base.heap.pprof"
		} >"$base.profile.txt" 2>&1
		echo
		echo "server CPU profile (10 s, mid-window): $base.profile.txt"
		head -20 "$base.profile.txt"
	else
		echo "no CPU profile; see $base.profile.log" >&2
	fi
fi
echo
echo "results in $OUT:"
ls -1 "$base".*
