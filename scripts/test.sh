#!/usr/bin/env bash
# test.sh — runs every test: the cmocka unit tests, the fuzz replays, the
# walls of the source (make check-wall, scripts/check-layers.sh), then the
# integration test files, side by side in lanes: each lane a throwaway
# PostgreSQL of its own, started here and always stopped (also when a test
# fails or the run is interrupted), and a temp directory of its own.
#
#   scripts/test.sh [-v] [-j N] [--unit-only | --integration-only] [TEST...]
#
# TEST names an integration test file (tests/integration/test_NAME.sh) or a
# unit test binary (test_NAME); without any, all run.  BUILD selects the
# build directory (build; build-san or build-tsan for a sanitizer build).
# -j N runs the integration files in N lanes (TEST_JOBS; default one per
# core), the longest first (their last times, kept in BUILD/test-times).
# -v prints every integration test's whole log.  PG=MAJOR (14 to 18) runs
# the integration tests on that PostgreSQL (scripts/install-pg.sh fetches it
# when Debian has no such server); PG_BINDIR names a server's bin directory
# instead.  The default is Debian's.  ETL_TEST_BIG=1 runs the files' large
# sizes (make test-big).  A file fails for anything it leaves in its temp
# directory; a lane whose server cannot be started (or made anew) fails the
# file that needed it, with one line.  The last line is "N passed, N failed".
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${BUILD:-build}
run_unit=1
run_integration=1
verbose=0
jobs=${TEST_JOBS:-$(nproc 2>/dev/null || echo 2)}
only=()
while [ $# -gt 0 ]; do
	case "$1" in
	--unit-only) run_integration=0 ;;
	--integration-only) run_unit=0 ;;
	-v) verbose=1 ;;
	-j) jobs=${2:?test.sh: -j needs a number}; shift ;;
	-j*) jobs=${1#-j} ;;
	*) only+=("$1") ;;
	esac
	shift
done
case "$jobs" in '' | *[!0-9]* | 0) echo "test.sh: -j takes a number of lanes, not '$jobs'" >&2; exit 2 ;; esac
selected() {
	[ ${#only[@]} -eq 0 ] && return 0
	local n
	for n in "${only[@]}"; do [ "$n" = "$1" ] && return 0; done
	return 1
}

passed=0
failed=0
failures=()

# Under the sanitizers every report goes to a file of its own, so that a
# report fails the run even where a test expects the exit code it gave.
# build-san is AddressSanitizer and UndefinedBehaviorSanitizer's build,
# build-tsan ThreadSanitizer's (make SANITIZE=thread BUILD=build-tsan).
sandir=""
case "$build" in
build-san | build-tsan)
	sandir=$(mktemp -d "${TMPDIR:-/tmp}/siprems-etl-san.XXXXXX")
	chmod 1777 "$sandir"
	export ASAN_OPTIONS="log_path=$sandir/asan:exitcode=86:detect_leaks=1:abort_on_error=0"
	export UBSAN_OPTIONS="log_path=$sandir/ubsan:exitcode=87:print_stacktrace=1:halt_on_error=1"
	export TSAN_OPTIONS="log_path=$sandir/tsan:exitcode=88:second_deadlock_stack=1"
	;;
esac

if [ "$run_unit" = 1 ]; then
	for t in "$root/$build"/tests/test_*; do
		[ -x "$t" ] || continue
		name=$(basename "$t")
		selected "$name" || continue
		echo "== unit: $name"
		out=$("$t" 2>&1)
		status=$?
		printf '%s\n' "$out" | grep -E '^\[ *(FAILED|PASSED|  ERROR) *\]|^\[  ERROR' || true
		printf '%s\n' "$out" | grep -E '^\[  (FAILED|ERROR) *\] [a-z_]' >&2 || true
		p=$(printf '%s\n' "$out" | grep -c '^\[       OK \]' || true)
		f=$(printf '%s\n' "$out" | grep -cE '^\[  (FAILED|ERROR) *\] [a-z_]' || true)
		if [ "$status" != 0 ] && [ "$f" = 0 ]; then
			printf '%s\n' "$out" | tail -n 20 >&2
			f=1
		fi
		passed=$((passed + p))
		failed=$((failed + f))
		[ "$f" = 0 ] || failures+=("unit/$name")
	done
fi

# The fuzz targets' seed corpus and kept crashers, replayed without libFuzzer.
if [ "$run_unit" = 1 ]; then
	for t in "$root/$build"/tests/replay_fuzz_*; do
		[ -x "$t" ] || continue
		name=$(basename "$t")
		selected "$name" || continue
		target=${name#replay_}
		echo "== fuzz replay: $target"
		out=$("$t" "$root/tests/fuzz/corpus/$target" "$root/tests/fuzz/regressions/$target" 2>&1)
		status=$?
		summary=$(printf '%s\n' "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed$' | tail -n 1)
		if [ "$status" != 0 ] || [ -z "$summary" ]; then
			printf '%s\n' "$out" | tail -n 20 >&2
			summary="0 passed, 1 failed"
		fi
		echo "   $summary"
		p=${summary%% passed*}
		f=${summary#*passed, }
		f=${f%% failed}
		passed=$((passed + p))
		failed=$((failed + f))
		[ "$f" = 0 ] || failures+=("fuzz/$target")
	done
fi

# The walls of the source (docs/internals.md): the libpq wall of the build;
# no circle among the folders nor among the files of any folder, by calls
# and by #include; no function over 100 lines; and the two scripts on trees
# with a wall broken (tests/walls.sh).
if [ "$run_unit" = 1 ] && selected layers; then
	echo "== layers"
	for check in "make -s --no-print-directory -C $root BUILD=$build check-wall" \
		"bash $root/scripts/check-layers.sh $build" "bash $root/scripts/check-functions.sh"; do
		if out=$($check 2>&1); then
			passed=$((passed + 1))
			printf '%s\n' "$out" | sed 's/^/   /'
		else
			failed=$((failed + 1))
			failures+=("layers: ${check##*/}")
			printf '%s\n' "$out" | sed 's/^/   /' >&2
		fi
	done
	out=$(bash "$root/tests/walls.sh" 2>&1)
	printf '%s\n' "$out" | sed '$d; s/^/   /'
	read -r p _ f _ < <(printf '%s\n' "$out" | tail -n 1)
	case "$p$f" in *[!0-9]* | "") p=0 f=1 ;; esac
	passed=$((passed + p))
	failed=$((failed + f))
	[ "$f" = 0 ] || failures+=("layers: tests/walls.sh")
fi

# --- the integration tests: files side by side, one server each lane -------
#
# A lane is a worker with a PostgreSQL of its own (scripts/pg-local.sh) and
# a temp directory of its own (TMPDIR): it takes the next file from the
# queue, checks that its server answers (restarting it, or making it anew
# on a fresh port, when it does not), runs the file in a process group of
# its own (what the file leaves running is killed after it), and fails it
# for anything it left in the temp directory.  So a file may stop, kill and
# restart its server, and create roles, without touching the files beside
# it.  A lane whose server cannot be made to answer says so in one line,
# counted as a failure, gives its file back to the queue and ends: the
# other lanes run the rest.
run_root=""
lane_pids=()
# Ends every process of the run: the lanes and their files (whose own
# cleanup runs first: Citus and PgBouncer), every server under the run's
# directory, then the directory.
stop_lanes() {
	local pid d n
	# A second Ctrl-C must not leave the servers running.
	trap '' INT TERM HUP
	for pid in "${lane_pids[@]}"; do kill -TERM -- "-$pid" 2>/dev/null; done
	for pid in "${lane_pids[@]}"; do
		for n in $(seq 1 300); do
			kill -0 -- "-$pid" 2>/dev/null || break
			[ "$n" = 300 ] && kill -KILL -- "-$pid" 2>/dev/null
			sleep 0.1
		done
		wait "$pid" 2>/dev/null
	done
	lane_pids=()
	if [ -n "$run_root" ] && [ -d "$run_root" ]; then
		# Every server a lane or a file started, wherever it stands.
		while read -r d; do
			d=$(dirname "$(dirname "$d")")
			bash "$root/scripts/pg-local.sh" --dir "$d" kill >/dev/null 2>&1 || true
		done < <(find -L "$run_root" -name postmaster.pid -path '*/data/postmaster.pid' 2>/dev/null)
		while read -r d; do
			kill "$(cat "$d" 2>/dev/null)" 2>/dev/null
		done < <(find "$run_root" -name pgbouncer.pid 2>/dev/null)
		for d in "$run_root"/l*/pg; do
			[ -e "$d" ] && rm -rf "$(readlink -f "$d")"
		done
		rm -rf "$run_root"
	fi
	run_root=""
	[ -z "$sandir" ] || rm -rf "$sandir"
}
trap stop_lanes EXIT
trap 'exit 130' INT TERM HUP

# The files, the longest first (their last times, else their size), so
# that no long one starts last while the other lanes are idle.
order_files() {
	local t name secs
	for t in "$root"/tests/integration/test_*.sh; do
		name=$(basename "$t" .sh)
		selected "${name#test_}" || selected "$name" || continue
		secs=$(awk -v n="$name" '$1 == n { s = $2 } END { print s + 0 }' "$times" 2>/dev/null || echo 0)
		[ "$secs" = 0 ] && secs=$(($(wc -c <"$t") / 100))
		echo "$secs $name"
	done | sort -k1,1nr -k2 | cut -d' ' -f2
}

# The lane's server answers, or is made to: started again (a minute at
# most), else made anew on a fresh port, the lane's PG* following it.  On
# failure, the reason is in $why.
lane_server() { # lane
	local dir="$run_root/l$1/pg" port
	answers() { # seconds
		local i
		for ((i = 0; i < $1 * 2; i++)); do
			psql -X -Atq -d postgres -c 'SELECT 1' >/dev/null 2>&1 && return 0
			sleep 0.5
		done
		return 1
	}
	answers 1 && return 0
	why=$(timeout 60 bash "$root/scripts/pg-local.sh" --dir "$dir" --tcp --fast start 2>&1) && answers 60 && return 0
	bash "$root/scripts/pg-local.sh" --dir "$dir" kill >/dev/null 2>&1
	# What pg_ctl does not know of (a postmaster.pid gone, a server hung).
	pkill -KILL -f -- "-D $(readlink -f "$dir")/data" 2>/dev/null
	rm -rf "$(readlink -f "$dir")" "$dir"
	port=$(cluster_free_port)
	why=$(bash "$root/scripts/pg-local.sh" --dir "$dir" --port "$port" --tcp --fast start 2>&1) || {
		why=$(printf '%s' "$why" | tail -n 3 | tr '\n' ' ')
		return 1
	}
	bash "$root/scripts/pg-local.sh" --dir "$dir" --port "$port" env >"$run_root/l$1/env"
	eval "$(cat "$run_root/l$1/env")"
	export PGDATABASE=postgres ETL_TEST_PORT=$PGPORT
	answers 300 && return 0
	why="it accepts no connections 300 s after its start"
	return 1
}

# One lane: files from the queue until it is empty.  Each file's result is
# a line in results ("name passed failed seconds"), its report said at once.
lane() { # number
	local n=$1 tmp="$run_root/l$1/t" name log status summary p f t0 why left report fpid
	[ -s "$run_root/l$n/env" ] || { echo "lane$n 0 1 0" >>"$run_root/results"; return; }
	# Stopped (test.sh's own end): the file first, its cleanup to its end.
	fpid=""
	trap '[ -z "$fpid" ] || { kill -TERM -- "-$fpid" 2>/dev/null; wait "$fpid"; }; exit 143' TERM INT HUP
	eval "$(cat "$run_root/l$n/env")"
	export PGDATABASE=postgres ETL_TEST_PGDIR="$run_root/l$n/pg" ETL_TEST_PORT=$PGPORT TMPDIR=$tmp
	while name=$(flock "$run_root/queue.lock" bash -c 'n=$(head -n 1 "$1") && [ -n "$n" ] && sed -i 1d "$1" && echo "$n"' _ "$run_root/queue"); do
		log="$run_root/l$n/$name.log"
		t0=$SECONDS
		if ! lane_server "$n"; then
			flock "$run_root/queue.lock" bash -c 'echo "$2" >>"$1"' _ "$run_root/queue" "$name"
			echo "lane$n 0 1 0" >>"$run_root/results"
			{
				flock 9
				echo "== lane $n: its server cannot start, its files go to the other lanes: $why" >&2
			} 9>>"$run_root/out.lock"
			return
		fi
		# In a process group of its own, with SIGINT and SIGQUIT as a
		# shell in a terminal has them (a background job's are ignored).
		env --default-signal=INT,QUIT setsid bash "$root/tests/integration/$name.sh" >"$log" 2>&1 </dev/null &
		fpid=$!
		wait "$fpid"
		status=$?
		kill -KILL -- "-$fpid" 2>/dev/null
		fpid=""
		summary=$(grep -aE '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 1)
		report=""
		if [ "$verbose" = 1 ]; then
			report=$(cat "$log")
		else
			report=$(grep -a -A 12 '^not ok' "$log" | grep -avE '^(ok |--$)')
		fi
		if [ -z "$summary" ]; then
			report="$report${report:+$'\n'}$(tail -n 30 "$log")"
			summary="0 passed, 1 failed"
		fi
		p=${summary%% passed*}
		f=${summary#*passed, }
		f=${f%% failed}
		if [ "$status" != 0 ] && [ "$f" = 0 ]; then f=1; fi
		# Whatever the file left in its temp directory fails it (and goes).
		left=$(find "$tmp" -mindepth 1 -maxdepth 1 -printf '%f\n' 2>/dev/null | head -n 5 | tr '\n' ' ')
		if [ -n "$left" ]; then
			report="$report${report:+$'\n'}not ok - $name left files behind in the temp directory: $left"
			f=$((f + 1))
			find "$tmp" -mindepth 1 -maxdepth 1 -exec rm -rf {} + 2>/dev/null
		fi
		echo "$name $p $f $((SECONDS - t0))" >>"$run_root/results"
		{
			flock 9
			printf '== integration: %s\n   %s passed, %s failed (%s s)\n' "$name" "$p" "$f" "$((SECONDS - t0))"
			[ -z "$report" ] || printf '%s\n' "$report" >&2
		} 9>>"$run_root/out.lock"
		rm -f "$log"
	done
}

if [ "$run_integration" = 1 ]; then
	# A name that matches no file is a mistake, not a pass.
	for n in "${only[@]}"; do
		[ -f "$root/tests/integration/test_${n#test_}.sh" ] || [ -x "$root/$build/tests/$n" ] ||
			[ -x "$root/$build/tests/test_$n" ] || [ "$n" = layers ] || [ -x "$root/$build/tests/replay_$n" ] || {
			echo "test.sh: no test named '$n'" >&2
			failed=$((failed + 1))
			failures+=("no test $n")
		}
	done
	if [ -n "${PG:-}" ] && [ -z "${PG_BINDIR:-}" ]; then
		PG_BINDIR=$(bash "$root/scripts/install-pg.sh" "$PG") || {
			echo "test.sh: no PostgreSQL $PG to test on" >&2
			echo "0 passed, 1 failed"
			exit 1
		}
	fi
	[ -z "${PG_BINDIR:-}" ] || export PG_BINDIR
	# Debian's psql is a Perl wrapper that picks a client per call: the
	# client itself, straight, saves a twentieth of a second a call (the
	# tests make thousands).
	client=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5 -V | while read -r d; do [ -x "$d/psql" ] && echo "$d"; done | tail -n 1)
	[ -z "$client" ] || export PATH="$client:$PATH"
	times="$root/$build/test-times"
	run_root=$(mktemp -d "${TMPDIR:-/tmp}/siprems-etl-run.XXXXXX")
	chmod 755 "$run_root"
	order_files >"$run_root/queue"
	nfiles=$(wc -l <"$run_root/queue")
	[ "$jobs" -le "$nfiles" ] || jobs=$nfiles
fi
if [ "$run_integration" = 1 ] && [ "$nfiles" -gt 0 ]; then
	. "$root/scripts/cluster.sh"
	# Short paths: a server's socket path must stay below 108 bytes, and
	# the files' own servers (Citus) live deep inside a lane.
	for i in $(seq 1 "$jobs"); do
		mkdir -p "$run_root/l$i/t"
		chmod 755 "$run_root/l$i" "$run_root/l$i/t"
		port=$(cluster_free_port)
		if ! o=$(bash "$root/scripts/pg-local.sh" --dir "$run_root/l$i/pg" --port "$port" --tcp --fast start 2>&1); then
			# Made anew at the lane's first file (lane_server), whose
			# failure says why.
			echo "test.sh: lane $i: the test PostgreSQL did not start: $(printf '%s' "$o" | tail -n 1)" >&2
		fi
		bash "$root/scripts/pg-local.sh" --dir "$run_root/l$i/pg" --port "$port" env >"$run_root/l$i/env"
	done
	echo "== PostgreSQL $(eval "$(cat "$run_root/l1/env")" && psql -X -Atq -d postgres -c 'SHOW server_version' 2>/dev/null || echo '(not started)'), $nfiles files in $jobs lane(s)"
	export ETL="$root/$build/siprems-etl"
	# What a test that runs make must pass to reuse this build as it is.
	ETL_MAKE_ARGS="BUILD=$build"
	[ "$build" = build-san ] && ETL_MAKE_ARGS="$ETL_MAKE_ARGS SANITIZE=${SANITIZE:-address,undefined}"
	[ "$build" = build-tsan ] && ETL_MAKE_ARGS="$ETL_MAKE_ARGS SANITIZE=thread"
	[ "$build" = build-cov ] && ETL_MAKE_ARGS="$ETL_MAKE_ARGS COVERAGE=1"
	export ETL_MAKE_ARGS
	: >"$run_root/results"
	t_start=$SECONDS
	for i in $(seq 1 "$jobs"); do
		setsid bash -c "$(declare -f lane lane_server cluster_free_port); $(declare -p root run_root verbose); lane $i" &
		lane_pids+=($!)
	done
	for pid in "${lane_pids[@]}"; do wait "$pid"; done
	lane_pids=()
	ran=0
	while read -r name p f secs; do
		passed=$((passed + p))
		failed=$((failed + f))
		[ "$f" = 0 ] || failures+=("integration/$name")
		[ "${name#lane}" != "$name" ] || ran=$((ran + 1))
	done <"$run_root/results"
	if [ "$ran" != "$nfiles" ]; then
		failed=$((failed + 1))
		failures+=("integration: $((nfiles - ran)) files never ran")
	fi
	# The times, for the next run's order (those of files not run kept).
	if [ -d "$root/$build" ]; then
		{ grep -v '^lane' "$run_root/results" | awk '{ print $1, $4 }'; cat "$times" 2>/dev/null; } |
			awk '!seen[$1]++' >"$times.new" && mv "$times.new" "$times"
	fi
	echo "== integration: $((SECONDS - t_start)) s in $jobs lane(s); the slowest: $(grep -v '^lane' "$run_root/results" | sort -k4,4nr | head -n 4 | awk '{ printf "%s%s %s s", (NR > 1 ? ", " : ""), $1, $4 }')"
fi

if [ -n "$sandir" ]; then
	reports=$(find "$sandir" -type f | wc -l)
	echo "== sanitizer reports: $reports"
	if [ "$reports" != 0 ]; then
		find "$sandir" -type f -exec head -n 40 {} + >&2
		failed=$((failed + reports))
		failures+=("sanitizers")
	else
		passed=$((passed + 1))
	fi
	rm -rf "$sandir"
fi
if [ ${#failures[@]} -gt 0 ]; then
	echo "failed: ${failures[*]}"
fi
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
