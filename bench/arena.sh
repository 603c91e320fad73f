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
ROOMS=${ROOMS:-100}
PLAYERS=${PLAYERS:-10}
SPECTATORS=${SPECTATORS:-0}
RATE=${RATE:-10}
STOMP=${STOMP:-0}
TICK=${TICK:-30}
DURATION=${DURATION:-30s}
WARMUP=${WARMUP:-3s}
RAMP=${RAMP:-500}

source bench/lib.sh
build tickroomd tickbench

base="$OUT/arena-$TAG"
start_server "$base" -tick-rates "arena=$TICK"

members=$((ROOMS * (PLAYERS + SPECTATORS)))
ramp_s=$(((members + RAMP - 1) / RAMP))
run_s=$((ramp_s + $(secs "$WARMUP") + $(secs "$DURATION")))
# A 10 s CPU profile from the middle of the window (PROFILE=1).
profile_after "$base" $((run_s - $(secs "$DURATION") / 2 - 5))

timeout $((run_s + 60)) "$OUT/bin/tickbench" arena -url "ws://$ADDR/ws" \
	-rooms "$ROOMS" -players "$PLAYERS" -spectators "$SPECTATORS" -input-rate "$RATE" -stomp "$STOMP" \
	-tick-rate "$TICK" -ramp "$RAMP" -warmup "$WARMUP" -duration "$DURATION" -pid "$server" \
	-out "$base.json" -plot "$base.svg" "$@" \
	2> >(tee "$base.progress.log" >&2) | tee "$base.txt"

report "$base"
