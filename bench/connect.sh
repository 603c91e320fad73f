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
CONNS=${CONNS:-19000}
RATE=${RATE:-2000}
PROTO=${PROTO:-binary}
HOLD=${HOLD:-10s}

source bench/lib.sh
if [[ -z ${TICKROOMD:-} || -z ${TICKBENCH:-} ]]; then
	build tickroomd tickbench
fi
TICKBENCH=${TICKBENCH:-$OUT/bin/tickbench}

base="$OUT/connect-$TAG"
start_server "$base"
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
