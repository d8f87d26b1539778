#!/usr/bin/env bash
# The command line: --help, --version, usage errors (exit 2).
. "$(dirname "$0")/../lib.sh"

etl --help
expect_rc 0 "--help exits 0"
for word in schema load check seed generate history --batch-rows --on-conflict --max-rejects \
	--reject-dir --dry-run --force --single-transaction --summary-json --timezone --encoding \
	--delimiter --jobs --db --quiet --no-progress DATABASE_URL DB_HOST .env; do
	expect_match "$out" "(^|[^[:alnum:]_-])${word//./\\.}([^[:alnum:]_-]|$)" "--help mentions $word"
done
expect_match "$out" "Exit status: 0 done; 1 rows rejected" "--help lists the exit statuses"

# --- one set of exit statuses: error.c's table, --help, the man page, the README, docs/deploy.md --
# The statuses error.c maps its codes to, each once, in order.
statuses() { sort -un | tr '\n' ' '; }
from_code=$(sed -n '/^} code_table\[\] = {/,/^};/p' "$ROOT/src/lib/error.c" |
	sed -n 's/^ *{ETL_[A-Z]*, \([0-9]\), .*/\1/p' | statuses)
expect_eq "$from_code" "0 1 2 3 4 5 6 " "error.c maps its codes to the statuses 0 to 6"
from_help=$(printf '%s\n' "$out" | sed -n '/^Exit status:/,$p' | tr '\n' ' ' | sed 's/^Exit status://' |
	tr ';' '\n' | sed -n 's/^ *\([0-9]\) .*/\1/p' | statuses)
expect_eq "$from_help" "$from_code" "--help names each of them"
from_man=$(sed -n '/^\.SH EXIT STATUS/,/^\.SH /p' "$ROOT/docs/siprems-etl.1" | sed -n 's/^\.B \([0-9]\)$/\1/p')
expect_eq "$(printf '%s\n' "$from_man" | statuses)" "$from_code" "the man page names each of them"
expect_eq "$(printf '%s\n' "$from_man" | wc -l)" 7 "each once"
from_readme=$(sed -n 's/^| \([0-9]\) | .*/\1/p' "$ROOT/README.md")
expect_eq "$(printf '%s\n' "$from_readme" | statuses)" "$from_code" "the README's table names each of them"
expect_eq "$(printf '%s\n' "$from_readme" | wc -l)" 7 "each once"
expect_eq "$(sed -n 's/^| \([0-9]\) | .*/\1/p' "$ROOT/docs/deploy.md" | statuses)" "$from_code" \
	"docs/deploy.md says what each asks of the operator"

# --- one set of options: --help (and each command's), the man page, the README and docs/ --
# Long options as each names them (the man page's font escapes and \- taken out).
help_opts=$(for c in "" schema load check seed generate history undo; do
	"$ETL" $c --help 2>&1
done | grep -o -- '--[a-z][a-z-]*' | sort -u)
man_opts=$(sed -e 's/\\f[BIRP]//g' -e 's/\\-/-/g' "$ROOT/docs/siprems-etl.1" | grep -o -- '--[a-z][a-z-]*' | sort -u)
expect_eq "$(comm -23 <(printf '%s\n' "$help_opts") <(printf '%s\n' "$man_opts") | tr '\n' ' ')" "" \
	"every option --help names is in the man page"
expect_eq "$(comm -13 <(printf '%s\n' "$help_opts") <(printf '%s\n' "$man_opts") | tr '\n' ' ')" "" \
	"every option the man page names is in --help"
expect_eq "$(printf '%s\n' "$help_opts" | wc -l)" "$(printf '%s\n' "$help_opts" | grep -c .)" "(the lists are not empty)"
expect_eq "$(($(printf '%s\n' "$help_opts" | wc -l) > 40))" 1 "--help names its options ($(printf '%s\n' "$help_opts" | wc -l))"
# Options of other programs the pages quote: scripts/bench.sh, install-pg.sh and
# citus-local.sh; useradd; systemctl; the compiler.
other_tools='rows|append|runs|scaling|pg|no-citus|bin|citus|create-home|home-dir|system|failed|now|coverage'
for doc in README.md docs/loading.md docs/formats.md docs/deploy.md docs/databases.md docs/performance.md docs/hardening.md; do
	unknown=$(grep -o -- '--[a-z][a-z-]*' "$ROOT/$doc" | sort -u | comm -23 - <(printf '%s\n' "$help_opts") |
		grep -vxE -- "--($other_tools)" | tr '\n' ' ')
	expect_eq "$unknown" "" "every option $doc names is one the tool has"
done

etl --version
expect_rc 0 "--version exits 0"
expect_match "$out" "^siprems-etl [0-9]+\.[0-9]+\.[0-9]+$" "--version prints the version"

etl schema --help
expect_rc 0 "schema --help exits 0"
expect_match "$out" "Usage: siprems-etl schema \[--dry-run\]" "schema --help shows its usage"

etl
expect_rc 2 "no command exits 2"
expect_match "$err" "^siprems-etl: no command given; see --help$" "no command says so"
etl frobnicate
expect_rc 2 "an unknown command exits 2"
expect_match "$err" "^siprems-etl: unknown command 'frobnicate'; see --help$" "an unknown command is named"
etl --frobnicate schema
expect_rc 2 "an unknown global option exits 2"
expect_match "$err" "unknown or incomplete option '--frobnicate'" "an unknown global option is named"
etl schema --frobnicate
expect_rc 2 "an unknown command option exits 2"
expect_match "$err" "schema: unknown or incomplete option '--frobnicate'" "an unknown command option is named"
etl schema extra-arg
expect_rc 2 "an unexpected argument exits 2"
etl --db
expect_rc 2 "--db without a value exits 2"

# --- the man page and bash completion, installed -----------------------------------------
prefix="$T_TMP/prefix"
# shellcheck disable=SC2086
run make -C "$ROOT" --no-print-directory install PREFIX="$prefix" ${ETL_MAKE_ARGS:-}
expect_rc 0 "make install PREFIX=DIR succeeds"
run env MANPAGER=cat MANWIDTH=100 man -M "$prefix/share/man" siprems-etl
expect_rc 0 "man -M PREFIX/share/man siprems-etl finds the installed page"
expect_match "$out" "siprems-etl +- +bulk +loader, +duplicate-key +pre-check +and +seeder" "and shows its name line"
expect_match "$out" "EXIT STATUS" "and its exit statuses"
missing=""
for cmd in "" schema load check seed generate history undo; do
	# shellcheck disable=SC2086
	for opt in $("$ETL" $cmd --help | grep -oE -- '--[a-z][a-z-]+' | sort -u); do
		grep -qF -- "$(printf '%s' "$opt" | sed 's/-/\\-/g')" "$ROOT/docs/siprems-etl.1" || missing="$missing ${cmd:-global}:$opt"
	done
done
expect_eq "$missing" "" "the man page describes every option that --help lists"
complete_words() { # the completions for the words given, the last one being completed
	bash -c '. "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _siprems_etl; printf "%s\n" "${COMPREPLY[@]}"' \
		_ "$prefix/share/bash-completion/completions/siprems-etl" "$@"
}
expect_eq "$(PATH="$(dirname "$ETL"):$PATH" complete_words siprems-etl se | tr '\n' ' ')" "seed " "bash completion completes commands"
expect_eq "$(PATH="$(dirname "$ETL"):$PATH" complete_words siprems-etl load --on | tr '\n' ' ')" "--on-conflict " "and a command's options"
expect_eq "$(PATH="$(dirname "$ETL"):$PATH" complete_words siprems-etl load --on-conflict u | tr '\n' ' ')" "update " "and their values"
expect_eq "$(PATH="$(dirname "$ETL"):$PATH" complete_words siprems-etl --db x seed --as | tr '\n' ' ')" "--as-of " "after global options too"

finish
