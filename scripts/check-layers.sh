#!/usr/bin/env bash
# check-layers.sh [BUILD] — the walls of the source, read off the objects and the
# #include lines:
#   calls:    an object's undefined symbol that another object defines;
#   includes: a file that includes include/H.h depends on H's owner, the source
#             file of the same name (src/*/H.c; H_impl.h is the folder's own and
#             belongs to no single file of it), unless the file defines a name
#             H declares (it shares H then); a header that includes another
#             makes its owner depend on the other's.
# Both kinds together must leave
#   1. the folders of src/ without a circle, and
#   2. the files of every folder without a circle.
# A header no source file owns is an error too. Prints each circle it finds and
# exits 1; else one line per check.
set -uo pipefail
export LC_ALL=C
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
	nm -g --defined-only "$o" | awk -v o="${o%.o}" 'NF == 3 && $2 ~ /[TDBRC]/ { print $3, o }'
done | sort >"$tmp/defs"
for o in "${objs[@]}"; do
	nm -u "$o" | awk -v o="${o%.o}" '{ print $NF, o }'
done | sort >"$tmp/uses"
# one line per dependency: "from to how", names as folder/file without .c/.o
join "$tmp/uses" "$tmp/defs" | awk '$2 != $3 { print $2, $3, "calls" }' | sort -u >"$tmp/deps"

# the owner of each header: the source file of its name, H_impl.h the folder's
status=0
for h in "$root"/include/*.h; do
	name=$(basename "$h" .h)
	base=${name%_impl}
	found=("$root"/src/*/"$base.c")
	if ((${#found[@]} != 1)); then
		echo "check-layers: include/$name.h: not one src/*/$base.c owns it (${#found[@]})" >>"$tmp/orphans"
		continue
	fi
	src=${found[0]#"$root/src/"}
	if [[ $name == *_impl ]]; then
		echo "$name ${src%%/*}/*"
	else
		echo "$name ${src%.c}"
	fi
done | sort >"$tmp/owners"
if [[ -s $tmp/orphans ]]; then
	cat "$tmp/orphans" >&2
	status=1
fi
includes() { # file: the headers it includes, one per line
	sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"/]*\)\.h".*/\1/p' "$1" | sort -u
}
for c in "$root"/src/*/*.c; do
	f=${c#"$root/src/"}
	includes "$c" | awk -v f="${f%.c}" '{ print $1, f }'
done | sort >"$tmp/inc_src"
for h in "$root"/include/*.h; do
	name=$(basename "$h" .h)
	includes "$h" | awk -v h="$name" '{ print $1, h }'
done | sort >"$tmp/inc_hdr"
# src file -> owner of an included header, unless the file defines something
# the header declares (it is one of the header's owners then)
declares() { # header name, file: whether the header names a symbol the file defines
	awk -v f="$2" '$2 == f { print $1 }' "$tmp/defs" >"$tmp/syms"
	[[ -s $tmp/syms ]] && grep -qwF -f "$tmp/syms" "$root/include/$1.h"
}
join "$tmp/inc_src" "$tmp/owners" | while read -r h f owner; do
	[[ $f == "$owner" ]] && continue
	declares "$h" "$f" && continue
	echo "$f $owner includes $h.h"
done >>"$tmp/deps"
# owner of a header -> owner of the header it includes
join -1 2 -2 1 -o 1.1,1.2,2.2 <(sort -k 2,2 "$tmp/inc_hdr") "$tmp/owners" | sort >"$tmp/hdr_from"
join "$tmp/hdr_from" "$tmp/owners" |
	awk '$3 != $4 { print $3, $4, $2 ".h includes " $1 ".h" }' >>"$tmp/deps"

acyclic() { # what, file of "from to how" lines
	local out
	out=$(awk '{ print $1, $2 }' "$2" | sort -u | tsort 2>&1 >/dev/null)
	if [[ -n $out ]]; then
		echo "check-layers: $1 depend on one another in a circle:" >&2
		printf '%s\n' "$out" | awk '/loop:/ { if (c != "") print "  " c; c = ""; next }
			{ c = c (c == "" ? "" : " -> ") $2 } END { if (c != "") print "  " c }' >&2
		echo "  through these dependencies:" >&2
		printf '%s\n' "$out" | awk '!/loop:/ { print $2 }' | sort -u >"$tmp/loop"
		awk 'NR == FNR { in_loop[$1] = 1; next } in_loop[$1] && in_loop[$2] { print "    " $0 }' \
			"$tmp/loop" "$2" >&2
		status=1
	else
		echo "check-layers: $1: no circle ($(awk '{ print $1, $2 }' "$2" | sort -u | wc -l) pairs)"
	fi
}
# a folder's own header (H_impl.h, owner "folder/*") ties no file to another;
# between folders it counts like any other
awk '{ split($1, a, "/"); split($2, b, "/"); if (a[1] != b[1]) print a[1], b[1], $0 }' "$tmp/deps" |
	awk '{ w = $3 " -> " $4; $1 = $1; print $1, $2, w, $5, $6, $7, $8, $9 }' | sort -u >"$tmp/folders"
acyclic "the folders of src/" "$tmp/folders"
for d in "$root"/src/*/; do
	d=$(basename "$d")
	awk -v d="$d" '{ split($1, a, "/"); split($2, b, "/") }
		a[1] == d && b[1] == d && b[2] != "*" { print }' "$tmp/deps" | sort -u >"$tmp/in_$d"
	acyclic "the files of src/$d/" "$tmp/in_$d"
done
exit "$status"
