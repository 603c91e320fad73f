#!/usr/bin/env bash
# arena.sh: arena rooms with players sending inputs and spectators, on this machine.
#
# Builds tickroomd and tickbench, starts a server with the arena's tick rate
# set to $TICK, runs `tickbench arena` against it and writes the result JSON,
# the SVG plot and the logs under $OUT. Everything it starts is stopped on
# exit, and every part has a time limit.
#
#   bench/arena.sh                       # 100 rooms × 10 players, inputs 10/s, 30 Hz tick, 30 s window
#   bench/arena.sh -deflate              # extra flags go to tickbench arena
#   ROOMS=1 PLAYERS=16 SPECTATORS=1984 TICK=20 bench/arena.sh   # one room of 2,000 members at 20 Hz
#   STOMP=0.5 bench/arena.sh             # half the connections over STOMP 1.2
#   PROFILE=1 bench/arena.sh             # also a 10 s CPU profile and a heap profile of the server
#
# Environment: OUT (default /tmp/tickbench-results), ADDR (127.0.0.1:8080),
# ROOMS (100), PLAYERS (10 per room), SPECTATORS (0 per room), RATE (10
# inputs/s per player), STOMP (0: the share of connections over STOMP),
# TICK (30 Hz), DURATION (30s), WARMUP (3s), RAMP (500 connections/s),
# PROFILE (unset), TAG (a name for this run's files; default the time).
set -euo pipefail

cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/tickbench-results}
ADDR=${ADDR:-127.0.0.1:8080}
DEBUG_ADDR=${DEBUG_ADDR:-127.0.0.1:6060}
ROOMS=${ROOMS:-100}
PLAYERS=${PLAYERS:-10}
SPECTATORS=${SPECTATORS:-0}
RATE=${RATE:-10}
STOMP=${STOMP:-0}
TICK=${TICK:-30}
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

base="$OUT/arena-$TAG"
"$OUT/bin/tickroomd" -listen "$ADDR" -debug-listen "$DEBUG_ADDR" -tick-rates "arena=$TICK" >"$base.server.log" 2>&1 &
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

members=$((ROOMS * (PLAYERS + SPECTATORS)))
ramp_s=$(((members + RAMP - 1) / RAMP))
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

timeout $((run_s + 60)) "$OUT/bin/tickbench" arena -url "ws://$ADDR/ws" \
	-rooms "$ROOMS" -players "$PLAYERS" -spectators "$SPECTATORS" -input-rate "$RATE" -stomp "$STOMP" \
	-tick-rate "$TICK" -ramp "$RAMP" -warmup "$WARMUP" -duration "$DURATION" -pid "$server" \
	-out "$base.json" -plot "$base.svg" "$@" \
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
