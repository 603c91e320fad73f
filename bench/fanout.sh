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
#   SERVER_FLAGS="-queue-len 1024" bench/fanout.sh   # flags for tickroomd
#
# Environment: OUT (default /tmp/tickbench-results), ADDR (127.0.0.1:8080),
# SUBSCRIBERS (1000), RATE (1000 msg/s), SIZE (200 bytes), DURATION (30s),
# WARMUP (3s), RAMP (500 connections/s), PROFILE (unset), SERVER_FLAGS
# (none), TAG (a name for this run's files; default the time).
set -euo pipefail

cd "$(dirname "$0")/.."
SUBSCRIBERS=${SUBSCRIBERS:-1000}
RATE=${RATE:-1000}
SIZE=${SIZE:-200}
DURATION=${DURATION:-30s}
WARMUP=${WARMUP:-3s}
RAMP=${RAMP:-500}

source bench/lib.sh
build tickroomd tickbench

base="$OUT/fanout-$TAG"
start_server "$base" ${SERVER_FLAGS:-}

ramp_s=$(((SUBSCRIBERS + RAMP - 1) / RAMP))
run_s=$((ramp_s + $(secs "$WARMUP") + $(secs "$DURATION")))
# A 10 s CPU profile from the middle of the window (PROFILE=1).
profile_after "$base" $((run_s - $(secs "$DURATION") / 2 - 5))

timeout $((run_s + 60)) "$OUT/bin/tickbench" fanout -url "ws://$ADDR/ws" -topic /topic/tickbench \
	-subscribers "$SUBSCRIBERS" -rate "$RATE" -size "$SIZE" -ramp "$RAMP" -warmup "$WARMUP" \
	-duration "$DURATION" -pid "$server" -out "$base.json" -plot "$base.svg" "$@" \
	2> >(tee "$base.progress.log" >&2) | tee "$base.txt"

report "$base"
