#!/usr/bin/env bash
# check-functions.sh [MAX] — no function of src/ longer than MAX lines (100),
# counted from the line that names it to its closing brace.  Prints each one
# that is and exits 1; else one line.
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
max=${1:-100}
long=$(cd "$root" && awk -v max="$max" '
	FNR == 1 { start = 0 }
	/^[A-Za-z_][A-Za-z0-9_]*\(/ { name = $0; sub(/\(.*/, "", name); start = FNR }
	/^\}/ && start { n = FNR - start + 1; if (n > max) print FILENAME ":" start ": " name "() is " n " lines"; start = 0 }
' src/*/*.c)
if [[ -n $long ]]; then
	echo "check-functions: over $max lines:" >&2
	printf '  %s\n' "$long" >&2
	exit 1
fi
echo "check-functions: no function of src/ over $max lines ($(cat "$root"/src/*/*.c | grep -c '^[A-Za-z_][A-Za-z0-9_]*(') functions)"
