#!/usr/bin/env bash
# test.sh — runs every test: the cmocka unit tests, the fuzz replays, the
# walls of the source (make check-wall, scripts/check-layers.sh), then the
# integration tests against a throwaway PostgreSQL that this script starts
# and always stops (also when a test fails or the run is interrupted).
#
#   scripts/test.sh [-v] [--unit-only | --integration-only] [TEST...]
#
# TEST names an integration test file (tests/integration/test_NAME.sh) or a
# unit test binary (test_NAME); without any, all run.  BUILD selects the
# build directory (build, or build-san for a sanitizer build).
# -v prints every integration test's whole log.  PG=MAJOR (14 to 18) runs
# the integration tests on that PostgreSQL (scripts/install-pg.sh fetches it
# when Debian has no such server); PG_BINDIR names a server's bin directory
# instead.  The default is Debian's.  The last line is "N passed, N failed".
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${BUILD:-build}
run_unit=1
run_integration=1
verbose=0
only=()
for a in "$@"; do
	case "$a" in
	--unit-only) run_integration=0 ;;
	--integration-only) run_unit=0 ;;
	-v) verbose=1 ;;
	*) only+=("$a") ;;
	esac
done
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
sandir=""
if [ "$build" = build-san ]; then
	sandir=$(mktemp -d "${TMPDIR:-/tmp}/siprems-etl-san.XXXXXX")
	chmod 1777 "$sandir"
	export ASAN_OPTIONS="log_path=$sandir/asan:exitcode=86:detect_leaks=1:abort_on_error=0"
	export UBSAN_OPTIONS="log_path=$sandir/ubsan:exitcode=87:print_stacktrace=1:halt_on_error=1"
fi

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

# The walls of the source (docs/internals.md): the libpq wall of the build,
# and no circle among the folders nor among the copy files.
if [ "$run_unit" = 1 ] && selected layers; then
	echo "== layers"
	for check in "make -s --no-print-directory -C $root BUILD=$build check-wall" \
		"bash $root/scripts/check-layers.sh $build"; do
		if out=$($check 2>&1); then
			passed=$((passed + 1))
			printf '%s\n' "$out" | sed 's/^/   /'
		else
			failed=$((failed + 1))
			failures+=("layers: ${check##*/}")
			printf '%s\n' "$out" | sed 's/^/   /' >&2
		fi
	done
fi

. "$root/scripts/cluster.sh"
trap cluster_stop EXIT
trap 'exit 130' INT TERM

if [ "$run_integration" = 1 ]; then
	if [ -n "${PG:-}" ] && [ -z "${PG_BINDIR:-}" ]; then
		PG_BINDIR=$(bash "$root/scripts/install-pg.sh" "$PG") || {
			echo "test.sh: no PostgreSQL $PG to test on" >&2
			echo "0 passed, 1 failed"
			exit 1
		}
	fi
	[ -z "${PG_BINDIR:-}" ] || export PG_BINDIR
	pgdir=$(mktemp -d "${TMPDIR:-/tmp}/siprems-etl-test.XXXXXX")
	chmod 755 "$pgdir"
	if ! cluster_start "$pgdir" --tcp --fast; then
		echo "test.sh: cannot start the test PostgreSQL" >&2
		echo "0 passed, 1 failed"
		exit 1
	fi
	export ETL_TEST_PGDIR=$pgdir ETL_TEST_PORT=$CLUSTER_PORT
	echo "== PostgreSQL $(psql -X -Atq -c 'SHOW server_version')"
	export ETL="$root/$build/siprems-etl"
	# What a test that runs make must pass to reuse this build as it is.
	ETL_MAKE_ARGS="BUILD=$build"
	[ "$build" = build-san ] && ETL_MAKE_ARGS="$ETL_MAKE_ARGS SANITIZE=${SANITIZE:-address,undefined}"
	[ "$build" = build-cov ] && ETL_MAKE_ARGS="$ETL_MAKE_ARGS COVERAGE=1"
	export ETL_MAKE_ARGS
	for t in "$root"/tests/integration/test_*.sh; do
		name=$(basename "$t" .sh)
		selected "${name#test_}" || selected "$name" || continue
		echo "== integration: $name"
		log=$(mktemp)
		bash "$t" >"$log" 2>&1
		status=$?
		if [ "$verbose" = 1 ]; then
			cat "$log"
		else
			grep -a -A 12 '^not ok' "$log" | grep -avE '^(ok |--$)' >&2 || true
		fi
		summary=$(grep -aE '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 1)
		if [ -z "$summary" ]; then
			tail -n 30 "$log" >&2
			summary="0 passed, 1 failed"
		fi
		echo "   $summary"
		p=${summary%% passed*}
		f=${summary#*passed, }
		f=${f%% failed}
		if [ "$status" != 0 ] && [ "$f" = 0 ]; then f=1; fi
		passed=$((passed + p))
		failed=$((failed + f))
		[ "$f" = 0 ] || failures+=("integration/$name")
		rm -f "$log"
	done
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
