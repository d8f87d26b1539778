#!/usr/bin/env bash
# walls.sh — scripts/check-layers.sh and check-functions.sh on small trees of
# their own, each with one wall broken: a call circle between two files of a
# folder, a header that includes one of a folder above, a file that includes
# one, a header no source file owns, a function over 100 lines; and the same
# tree without them, which passes.  Prints "N passed, N failed".
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cc=${CC:-cc}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0

# tree NAME: a tree with folders low/ (a.c, b.c) and high/ (h.c); high calls
# low; b calls a.  Its files are written by the case, then built here.
tree() {
	local t=$tmp/$1
	mkdir -p "$t/scripts" "$t/src/low" "$t/src/high" "$t/include"
	cp "$root/scripts/check-layers.sh" "$root/scripts/check-functions.sh" "$t/scripts/"
	cat >"$t/include/a.h" <<-'EOF'
		int a_one(void);
	EOF
	cat >"$t/include/b.h" <<-'EOF'
		#include "a.h"
		int b_two(void);
	EOF
	cat >"$t/include/h.h" <<-'EOF'
		int h_three(void);
	EOF
	cat >"$t/src/low/a.c" <<-'EOF'
		#include "a.h"
		int a_one(void) { return 1; }
	EOF
	cat >"$t/src/low/b.c" <<-'EOF'
		#include "b.h"
		int b_two(void) { return a_one() + 1; }
	EOF
	cat >"$t/src/high/h.c" <<-'EOF'
		#include "b.h"
		#include "h.h"
		int h_three(void) { return b_two() + 1; }
	EOF
}
build() { # NAME
	local t=$tmp/$1 c o
	for c in "$t"/src/*/*.c; do
		o=${c#"$t/src/"}
		mkdir -p "$t/build/$(dirname "$o")"
		"$cc" -c -I"$t/include" -o "$t/build/${o%.c}.o" "$c" || return 1
	done
}
# expect NAME STATUS PATTERN...: check-layers exits STATUS and says each PATTERN
expect() {
	local out rc p ok=1
	build "$1" || { echo "FAIL $1: the tree does not build"; failed=$((failed + 1)); return; }
	out=$(bash "$tmp/$1/scripts/check-layers.sh" build 2>&1)
	rc=$?
	for p in "${@:3}"; do
		grep -qE -- "$p" <<<"$out" || ok=0
	done
	if [[ $rc == "$2" && $ok == 1 ]]; then
		echo "ok   $1"
		passed=$((passed + 1))
	else
		echo "FAIL $1: exit $rc (want $2), wanted /${*:3}/ in:"
		printf '%s\n' "$out" | sed 's/^/       /'
		failed=$((failed + 1))
	fi
}

tree clean
expect clean 0 'the files of src/low/: no circle'

tree calls # a calls b back
cat >"$tmp/calls/src/low/a.c" <<-'EOF'
	#include "a.h"
	int b_two(void);
	int a_one(void) { return b_two() > 5 ? 1 : 0; }
EOF
expect calls 1 'files of src/low/ depend on one another in a circle'

tree header_up # a low header includes a high one
cat >"$tmp/header_up/include/a.h" <<-'EOF'
	#include "h.h"
	int a_one(void);
EOF
expect header_up 1 'folders of src/ depend on one another in a circle' 'a.h includes h.h'

tree include_up # a low file includes a high header it does not implement
cat >"$tmp/include_up/src/low/a.c" <<-'EOF'
	#include "a.h"
	#include "h.h"
	int a_one(void) { return 1; }
EOF
expect include_up 1 'low/a -> high/h includes h.h'

tree shared # a file that defines what a header declares shares it: no edge
cat >"$tmp/shared/include/b.h" <<-'EOF'
	#include "a.h"
	int b_two(void);
	int b_extra(void);
EOF
cat >"$tmp/shared/src/low/c.c" <<-'EOF'
	#include "b.h"
	int b_extra(void) { return b_two(); }
EOF
expect shared 0 'the files of src/low/: no circle'

tree orphan # a header no source file owns
echo 'int nobody(void);' >"$tmp/orphan/include/nobody.h"
expect orphan 1 'include/nobody.h: not one src/\*/nobody.c owns it \(0\)'

# functions: 100 lines pass, 101 do not
long() { # NAME LINES: a function of LINES lines in low/a.c
	tree "$1"
	{
		echo '#include "a.h"'
		echo 'int'
		echo 'a_one(void)'
		echo '{'
		echo '	int n = 0;'
		for ((i = 0; i < $2 - 5; i++)); do echo '	n++;'; done
		echo '	return n;'
		echo '}'
	} >"$tmp/$1/src/low/a.c"
}
functions() { # NAME STATUS PATTERN
	local out rc
	out=$(bash "$tmp/$1/scripts/check-functions.sh" 2>&1)
	rc=$?
	if [[ $rc == "$2" ]] && grep -qE -- "$3" <<<"$out"; then
		echo "ok   $1"
		passed=$((passed + 1))
	else
		echo "FAIL $1: exit $rc (want $2), wanted /$3/ in: $out"
		failed=$((failed + 1))
	fi
}
long at_limit 100
functions at_limit 0 'no function of src/ over 100 lines'
long over_limit 101
functions over_limit 1 'src/low/a.c:3: a_one\(\) is 101 lines'

echo "$passed passed, $failed failed"
[[ $failed == 0 ]]
