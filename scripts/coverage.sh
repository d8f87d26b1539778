#!/usr/bin/env bash
# coverage.sh BUILD — what the tests reach: runs the whole suite (unit and
# integration, scripts/test.sh) on the gcov build in BUILD (made by `make
# COVERAGE=1`), then gives, per file of src/, the lines and the branches
# executed, and the totals; the per-line detail stays in BUILD/gcov/.
# Exits with the suite's status.
set -uo pipefail
shopt -s nullglob

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-build-cov}
cd "$root" || exit 1
find "$build" -name '*.gcda' -delete
BUILD=$build bash scripts/test.sh
status=$?

mkdir -p "$build/gcov"
report=$build/coverage.txt
for src in src/*/*.c; do
	gcov -b -o "$build/$(basename "$(dirname "$src")")" "$src" 2>/dev/null
	mv ./*.gcov "$build/gcov/" 2>/dev/null
done | awk '
	/^File / { f = $2; gsub(/\x27/, "", f); keep = f ~ /^src\/.*\.c$/ && !(f in seen); if (keep) seen[f] = 1 }
	keep && /^Lines executed:/ { split($2, a, "%"); sub(/executed:/, "", a[1]); lp[f] = a[1]; ln[f] = $NF }
	keep && /^Taken at least once:/ { split($4, b, "%"); sub(/once:/, "", b[1]); bp[f] = b[1]; bn[f] = $NF }
	END { for (f in seen) print f, ln[f] + 0, lp[f] + 0, bn[f] + 0, bp[f] + 0 }' | sort | awk '
	BEGIN { printf "%-28s %8s %7s %10s %7s\n", "file", "lines", "%", "branches", "%" }
	{
		printf "%-28s %8d %6.1f%% %10d %6.1f%%\n", $1, $2, $3, $4, $5
		tl += $2; hl += $2 * $3 / 100; tb += $4; hb += $4 * $5 / 100
	}
	END { printf "%-28s %8d %6.1f%% %10d %6.1f%%\n", "total", tl, tl ? 100 * hl / tl : 0, tb, tb ? 100 * hb / tb : 0 }' | tee "$report"
echo "coverage: per file above (also $report); line by line in $build/gcov/"
exit "$status"
