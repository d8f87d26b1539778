#!/usr/bin/env bash
# fuzz.sh [SECONDS] — runs each libFuzzer target (built by `make fuzz` into
# build-fuzz/fuzz/), side by side, for SECONDS (default 60) on a working corpus seeded from
# tests/fuzz/corpus and tests/fuzz/regressions, and reports the executions.
# A crash, leak, timeout or sanitizer report fails the run; the input is
# left in build-fuzz/crashes/TARGET/.  Once the bug is fixed, keep that file
# in tests/fuzz/regressions/TARGET/, where `make test` replays it.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
secs=${1:-60}
cd "$root"
# The targets run side by side, each for SECONDS: on a machine of two
# cores three targets take SECONDS, not three times as long.
fuzz_one() { # binary
	local bin=$1 t work crashes log runs cov
	t=$(basename "$bin")
	work=build-fuzz/corpus/$t
	crashes=build-fuzz/crashes/$t
	mkdir -p "$work" "$crashes"
	log=build-fuzz/$t.log
	if "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
		-print_final_stats=1 -dict=tests/fuzz/csv.dict -artifact_prefix="$crashes/" \
		"$work" "tests/fuzz/corpus/$t" "tests/fuzz/regressions/$t" >"$log" 2>&1; then
		runs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' || echo '?')
		cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -n 1)
		echo "fuzz: $t: $runs executions in ${secs}s, no crash ($cov, corpus $(ls "$work" | wc -l) inputs)"
	else
		grep -E 'ERROR|SUMMARY|Test unit written|^    #[0-9]' "$log" | head -n 40 >&2
		echo "fuzz: $t FAILED; the input is in $crashes/ and the log in $log" >&2
		return 1
	fi
}
pids=()
for bin in build-fuzz/fuzz/fuzz_*; do
	[ "${bin%.d}" = "$bin" ] || continue
	echo "fuzz: $(basename "$bin") for ${secs}s"
	fuzz_one "$bin" &
	pids+=($!)
done
status=0
for pid in "${pids[@]}"; do wait "$pid" || status=1; done
exit "$status"
