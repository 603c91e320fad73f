#!/usr/bin/env bash
# ticker.sh: measure the market ticker target on this machine.
#
# Builds tickroomd, tickfeed and tickbench, starts a server with a standing
# 500-symbol market room, joins the members (tickbench ticker), starts the
# feed once they are connecting, and writes the result JSON, the SVG plot
# and the logs of all three under $OUT. Everything it starts is stopped on
# exit, and every part has a time limit.
#
#   bench/ticker.sh                      # 1,000 members, 50,000 items/s, 30 s window
#   bench/ticker.sh -deflate             # extra flags go to tickbench ticker
#   PROFILE=1 bench/ticker.sh            # also a 10 s CPU profile and a heap profile of the server
#   MEMBERS=200 RATE=5000 DURATION=10s bench/ticker.sh
#   ROOMS=2 SYMBOL_SUBS=200 bench/ticker.sh   # 2 market rooms, 200 symbol subscribers x 10 symbols
#
# Environment: OUT (default /tmp/tickbench-results), ADDR (127.0.0.1:8080),
# MEMBERS (1000), SYMBOLS (500), RATE (50000 items/s), DURATION (30s),
# WARMUP (3s), RAMP (500 connections/s), SAMPLE (50), PROFILE (unset),
# TAG (a name for this run's files; default the time),
# ROOMS (1): with more, the symbols are split among rooms market1..marketN
# (a symbol is best held by one room), one tickfeed per room sends RATE/ROOMS
# items/s, the members are spread over the rooms, and the first feed is the
# one sampled; SYMBOL_SUBS (0) connections that each subscribe to
# SYMBOLS_PER_SUB (10) symbol topics, taken round-robin from the symbols.
set -euo pipefail

cd "$(dirname "$0")/.."
MEMBERS=${MEMBERS:-1000}
SYMBOLS=${SYMBOLS:-500}
RATE=${RATE:-50000}
DURATION=${DURATION:-30s}
WARMUP=${WARMUP:-3s}
RAMP=${RAMP:-500}
SAMPLE=${SAMPLE:-50}
ROOMS=${ROOMS:-1}
SYMBOL_SUBS=${SYMBOL_SUBS:-0}
SYMBOLS_PER_SUB=${SYMBOLS_PER_SUB:-10}
if ((ROOMS < 1 || ROOMS > SYMBOLS)); then
	echo "ROOMS=$ROOMS: want 1..SYMBOLS ($SYMBOLS)" >&2
	exit 2
fi

source bench/lib.sh
build tickroomd tickfeed tickbench

base="$OUT/ticker-$TAG"
syms=$("$OUT/bin/tickbench" -print-symbols "$SYMBOLS")
# rooms[i] holds the symbols roomsyms[i]: one room "market" with them all,
# or ROOMS rooms market1..marketN with a contiguous share each.
rooms=() roomsyms=()
if ((ROOMS == 1)); then
	rooms=(market) roomsyms=("$syms")
else
	IFS=, read -ra all <<<"$syms"
	for ((i = 0; i < ROOMS; i++)); do
		from=$((i * SYMBOLS / ROOMS)) to=$(((i + 1) * SYMBOLS / ROOMS))
		rooms+=("market$((i + 1))")
		roomsyms+=("$(IFS=,; echo "${all[*]:from:to-from}")")
	done
fi
markets=""
for i in "${!rooms[@]}"; do
	markets+="${markets:+;}${rooms[i]}=${roomsyms[i]}"
done
start_server "$base" -publish-key dev -markets "$markets"

# The feed starts once the members are connecting (the ramp takes
# MEMBERS/RAMP seconds) and runs past the end of the window. A subshell that
# sleeps and then execs tickfeed keeps one pid, which tickbench samples.
ramp_s=$(((MEMBERS + SYMBOL_SUBS + RAMP - 1) / RAMP))
feed_s=$((ramp_s + $(secs "$WARMUP") + $(secs "$DURATION") + 8))
feeds=() feedlogs=()
if ((ROOMS == 1)); then
	(
		sleep 1
		exec "$OUT/bin/tickfeed" -url "http://$ADDR" -key dev -room market -symbols "$SYMBOLS" \
			-rate "$RATE" -duration "${feed_s}s"
	) >"$base.feed.log" 2>&1 &
	feeds+=("$!") feedlogs+=("$base.feed.log")
else
	for i in "${!rooms[@]}"; do
		(
			sleep 1
			exec "$OUT/bin/tickfeed" -url "http://$ADDR" -key dev -room "${rooms[i]}" \
				-symbol-list "${roomsyms[i]}" -rate $((RATE / ROOMS)) -duration "${feed_s}s"
		) >"$base.feed-${rooms[i]}.log" 2>&1 &
		feeds+=("$!") feedlogs+=("$base.feed-${rooms[i]}.log")
	done
fi
feed=${feeds[0]}
pids+=("${feeds[@]}")

# What the members join, and the symbol subscribers (none by default).
bench_args=(-room market)
if ((ROOMS > 1)); then
	bench_args=(-rooms "$(IFS=,; echo "${rooms[*]}")")
fi
if ((SYMBOL_SUBS > 0)); then
	bench_args+=(-symbol-subs "$SYMBOL_SUBS" -symbols-per-sub "$SYMBOLS_PER_SUB" -symbol-list "$syms")
fi

# A 10 s CPU profile from the middle of the window (PROFILE=1).
profile_after "$base" $((ramp_s + $(secs "$WARMUP") + $(secs "$DURATION") / 2 - 5))

timeout $((feed_s + 60)) "$OUT/bin/tickbench" ticker -url "ws://$ADDR/ws" "${bench_args[@]}" \
	-members "$MEMBERS" -sample "$SAMPLE" -ramp "$RAMP" -warmup "$WARMUP" -duration "$DURATION" \
	-pid "$server" -feed-pid "$feed" -out "$base.json" -plot "$base.svg" "$@" \
	2> >(tee "$base.progress.log" >&2) | tee "$base.txt"

# Let the feeds finish and print their summaries (they stop by themselves).
for f in "${feeds[@]}"; do
	for _ in $(seq 150); do
		kill -0 "$f" 2>/dev/null || break
		sleep 0.1
	done
done
for log in "${feedlogs[@]}"; do
	echo
	echo "feed summary${feedlogs[1]:+ (${log##*/})}:"
	grep -E '^(sent|accepted|POST latency|rejected|failed)' "$log" || tail -5 "$log"
done
report "$base"
