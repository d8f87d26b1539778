#!/usr/bin/env bash
# check-layers.sh [BUILD] — the walls of the source, read off the objects:
# who calls whom is which object's undefined symbols another defines (nm).
#   1. the folders of src/ call one another without a circle (tsort);
#   2. within src/copy/, the files call one another without a circle.
# Prints the circle it finds and exits 1; else one line per check.
set -uo pipefail
shopt -s nullglob

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-${BUILD:-build}}
cd "$root/$build" 2>/dev/null || { echo "check-layers.sh: no $build/ (make first)" >&2; exit 2; }
objs=()
for o in */*.o; do # an object whose source moved away is left out
	[[ -f $root/src/${o%.o}.c ]] && objs+=("$o")
done
((${#objs[@]} > 0)) || { echo "check-layers.sh: no objects in $build/" >&2; exit 2; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for o in "${objs[@]}"; do
	nm -g --defined-only "$o" | awk -v o="$o" 'NF == 3 && $2 ~ /[TDBRC]/ { print $3, o }'
done | sort >"$tmp/defs"
for o in "${objs[@]}"; do
	nm -u "$o" | awk -v o="$o" '{ print $NF, o }'
done | sort >"$tmp/uses"
# caller callee, one line per pair of objects
join "$tmp/uses" "$tmp/defs" | awk '$2 != $3 { print $2, $3 }' | sort -u >"$tmp/calls"

status=0
acyclic() { # name, edges file
	local out
	if ! out=$(tsort "$2" 2>&1 >/dev/null) || [[ -n $out ]]; then
		echo "check-layers: $1 call one another in a circle:" >&2
		printf '%s\n' "$out" | awk '/loop/ { if (c != "") print "  " c; c = ""; next }
			{ c = c (c == "" ? "" : " -> ") $2 } END { if (c != "") print "  " c }' >&2
		status=1
	else
		echo "check-layers: $1: no circle ($(wc -l <"$2") caller-callee pairs)"
	fi
}
awk '{ split($1, a, "/"); split($2, b, "/"); if (a[1] != b[1]) print a[1], b[1] }' \
	"$tmp/calls" | sort -u >"$tmp/folders"
acyclic "the folders of src/" "$tmp/folders"
awk '$1 ~ /^copy\// && $2 ~ /^copy\// { print $1, $2 }' "$tmp/calls" >"$tmp/copy"
acyclic "the files of src/copy/" "$tmp/copy"
exit "$status"
