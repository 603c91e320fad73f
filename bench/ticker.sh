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
OUT=${OUT:-/tmp/tickbench-results}
ADDR=${ADDR:-127.0.0.1:8080}
DEBUG_ADDR=${DEBUG_ADDR:-127.0.0.1:6060}
MEMBERS=${MEMBERS:-1000}
SYMBOLS=${SYMBOLS:-500}
RATE=${RATE:-50000}
DURATION=${DURATION:-30s}
WARMUP=${WARMUP:-3s}
RAMP=${RAMP:-500}
SAMPLE=${SAMPLE:-50}
TAG=${TAG:-$(date +%Y%m%d-%H%M%S)}
ROOMS=${ROOMS:-1}
SYMBOL_SUBS=${SYMBOL_SUBS:-0}
SYMBOLS_PER_SUB=${SYMBOLS_PER_SUB:-10}
if ((ROOMS < 1 || ROOMS > SYMBOLS)); then
	echo "ROOMS=$ROOMS: want 1..SYMBOLS ($SYMBOLS)" >&2
	exit 2
fi

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
go build -o "$OUT/bin/tickfeed" ./services/tickfeed
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
"$OUT/bin/tickroomd" -listen "$ADDR" -debug-listen "$DEBUG_ADDR" -publish-key dev \
	-markets "$markets" >"$base.server.log" 2>&1 &
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

if [[ -n ${PROFILE:-} ]]; then
	# A 10 s CPU profile from the middle of the window.
	(
		sleep $((ramp_s + $(secs "$WARMUP") + $(secs "$DURATION") / 2 - 5))
		curl -fsS -o "$base.cpu.pprof" "http://$DEBUG_ADDR/debug/pprof/profile?seconds=10"
		exec curl -fsS -o "$base.heap.pprof" "http://$DEBUG_ADDR/debug/pprof/heap"
	) >"$base.profile.log" 2>&1 &
	pids+=("$!")
fi

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
