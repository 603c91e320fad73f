# lib.sh: what the bench scripts share. Sourced, not run: it sets OUT,
# ADDR, DEBUG_ADDR and TAG from the environment (with defaults), keeps the
# pids of what a script starts in pids and stops them all on exit.

OUT=${OUT:-/tmp/tickbench-results}
ADDR=${ADDR:-127.0.0.1:8080}
DEBUG_ADDR=${DEBUG_ADDR:-127.0.0.1:6060}
TAG=${TAG:-$(date +%Y%m%d-%H%M%S)}

secs() { # 30s → 30, 2m → 120 (whole seconds only)
	case $1 in
	*m) echo $((${1%m} * 60)) ;;
	*s) echo "${1%s}" ;;
	*) echo "$1" ;;
	esac
}

# build NAME... builds services/NAME (or bench/NAME) into $OUT/bin.
build() {
	mkdir -p "$OUT" "$OUT/bin"
	echo "building into $OUT/bin ..."
	local name
	for name in "$@"; do
		if [[ -d services/$name ]]; then
			go build -o "$OUT/bin/$name" "./services/$name"
		else
			go build -o "$OUT/bin/$name" "./bench/$name"
		fi
	done
}

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

# start_server BASE ARG... starts tickroomd ($TICKROOMD, else the one built)
# on $ADDR (pprof on $DEBUG_ADDR)
# with the extra ARGs, its log in BASE.server.log, sets server to its pid
# and waits up to 5 s for /healthz; it exits the script if none comes.
start_server() {
	local base=$1
	shift
	if curl -fsS "http://$ADDR/healthz" >/dev/null 2>&1; then
		echo "something already serves $ADDR; stop it or set ADDR" >&2
		exit 1
	fi
	"${TICKROOMD:-$OUT/bin/tickroomd}" -listen "$ADDR" -debug-listen "$DEBUG_ADDR" "$@" >"$base.server.log" 2>&1 &
	server=$!
	pids+=("$server")
	for _ in $(seq 50); do
		curl -fsS "http://$ADDR/healthz" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	echo "server did not start; see $base.server.log" >&2
	exit 1
}

# profile_after BASE SECONDS takes, when PROFILE is set, a 10 s CPU profile
# of the server SECONDS from now, then a heap profile.
profile_after() {
	[[ -n ${PROFILE:-} ]] || return 0
	local base=$1 delay=$2
	(
		sleep "$delay"
		timeout 30 curl -fsS -o "$base.cpu.pprof" "http://$DEBUG_ADDR/debug/pprof/profile?seconds=10"
		exec timeout 30 curl -fsS -o "$base.heap.pprof" "http://$DEBUG_ADDR/debug/pprof/heap"
	) >"$base.profile.log" 2>&1 &
	profiler=$!
	pids+=("$profiler")
}

# report BASE prints the server log's warnings (beyond the expected "no
# database" one), the profile's top (PROFILE), and the run's files.
report() {
	local base=$1
	if grep -iE 'level=(WARN|ERROR)|panic' "$base.server.log" | grep -qv 'NO DATABASE CONFIGURED'; then
		echo
		echo "server log has warnings or errors:"
		grep -iE 'level=(WARN|ERROR)|panic' "$base.server.log" | grep -v 'NO DATABASE CONFIGURED' | head -20
	fi
	if [[ -n ${PROFILE:-} ]]; then
		wait "$profiler" 2>/dev/null || true
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
}
