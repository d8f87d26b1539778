#!/usr/bin/env bash
# The command line: --help, --version, usage errors (exit 2).
. "$(dirname "$0")/../lib.sh"

etl --help
expect_rc 0 "--help exits 0"
for word in schema load check seed generate history --batch-rows --on-conflict --max-rejects \
	--reject-dir --dry-run --force --single-transaction --summary-json --timezone --encoding \
	--delimiter --jobs --db --quiet --no-progress DATABASE_URL DB_HOST .env; do
	expect_match "$out" -- "$word" "--help mentions $word"
done
expect_match "$out" "Exit status: 0 done; 1 rows rejected" "--help lists the exit statuses"

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

finish
