#!/usr/bin/env bash
# The nightly job kit (scripts/deploy/, docs/deploy.md): the units pass
# `systemd-analyze verify` without a word; the script loads a drop directory
# (files all in go to done/, rejects to rejects/, the summary beside), does
# nothing on an empty incoming/, exits 75 while another run holds the lock,
# and a reject file corrected in place and loaded completes its source,
# which the next night moves to done/ too.  Tiny files: what is proved is the layout.
. "$(dirname "$0")/../lib.sh"

cd "$T_TMP" || exit 1
kit=$ROOT/scripts/deploy

# --- the units -----------------------------------------------------------------------
mkdir -p units man/man1
cp "$ROOT/docs/siprems-etl.1" man/man1/
cp "$kit/siprems-etl-nightly.service" "$kit/siprems-etl-nightly.timer" units/
# Where this tree has them (verify checks that ExecStart can run).
sed -i "s|/usr/local/bin/siprems-etl-nightly|$kit/siprems-etl-nightly|; s|/usr/local/bin/siprems-etl\$|$ETL|" \
	units/siprems-etl-nightly.service
run env MANPATH="$T_TMP/man" systemd-analyze verify units/siprems-etl-nightly.service units/siprems-etl-nightly.timer
expect_rc 0 "systemd-analyze verify passes the service and its timer"
expect_eq "$out$err" "" "without a warning"
expect_match "$(cat "$kit/siprems-etl.cron")" "^30 2 \* \* \* siprems-etl /usr/local/bin/siprems-etl-nightly " \
	"the cron line runs the script as siprems-etl"

# --- the drop directory ------------------------------------------------------------------
db=$(new_db nightly_db)
"$ETL" --db "$db" --quiet schema >/dev/null
mkdir -p drop/incoming
printf 'DATABASE_URL=postgresql:///nightly_db?host=%s&port=%s&user=%s\n' "$PGHOST" "$PGPORT" "$PGUSER" >drop/.env
nightly() { run env -u DATABASE_URL -u PGDATABASE SIPREMS_ETL_DIR="$T_TMP/drop" SIPREMS_ETL="$ETL" "$kit/siprems-etl-nightly"; }
printf 'sku,name,price\nN-1,Satu,1000\nN-2,Dua,2000\n' >drop/incoming/good.csv
printf 'sku,name,price\nN-3,Tiga,3000\nN-4,Empat,oops\n' >drop/incoming/bad.csv
nightly
expect_rc 1 "a night with one rejected row exits 1"
expect_eq "$(ls drop/done | tr '\n' ' ')" "good.csv " "the file all in goes to done/"
expect_eq "$(ls drop/incoming | tr '\n' ' ')" "bad.csv " "the file with a reject stays in incoming/"
expect_match "$(cat drop/rejects/bad.csv.rejects.csv)" "N-4,Empat,oops,3," "its reject file is in rejects/"
expect_match "$(cat drop/last-run.json)" '"exit_code": 1' "last-run.json has the summary"
expect_eq "$(sql nightly_db "SELECT string_agg(sku, ' ' ORDER BY sku) FROM products")" "N-1 N-2 N-3" "the good rows are in"

# The reject file corrected in place and loaded by hand, as docs/deploy.md
# says: its source is complete, and the next night moves it to done/ too.
sed -i 's/oops/4000/' drop/rejects/bad.csv.rejects.csv
run env -C drop -u DATABASE_URL -u PGDATABASE "$ETL" load --archive done --reject-dir rejects rejects/bad.csv.rejects.csv
expect_rc 0 "the corrected reject file loads"
expect_eq "$(sql nightly_db "SELECT string_agg(sku, ' ' ORDER BY sku) FROM products")" "N-1 N-2 N-3 N-4" \
	"the corrected row is in, nothing twice"
nightly
expect_rc 0 "the next night exits 0"
expect_match "$err" "incoming/bad\.csv +products +skipped +2 +0 +0 +2 +0 " "its source is skipped: all its rows are in"
expect_eq "$(find drop/incoming drop/rejects -type f | wc -l) $(ls drop/done | tr '\n' ' ')" \
	"0 bad.csv bad.csv.rejects.csv good.csv " "and every file is in done/"

# --- an empty night, a night that finds the previous one running ---------------------------
nightly
expect_rc 0 "an empty incoming/ exits 0"
expect_match "$out" "nothing in .*/incoming" "and says so"
printf 'sku,name,price\nN-5,Lima,5000\n' >drop/incoming/late.csv
exec 9>drop/.lock # this shell holds the lock, as a run still going would
flock -n 9
nightly
expect_rc 75 "a night that finds the previous run holding the lock exits 75"
expect_eq "$(ls drop/incoming)" "late.csv" "and leaves the drop as it was"
exec 9>&-
nightly
expect_rc 0 "the next night loads it"

finish
