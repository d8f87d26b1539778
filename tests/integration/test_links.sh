#!/usr/bin/env bash
# Files the tool writes never follow a link it did not make: a symbolic link
# planted at a reject file's name, at its .part, at --summary-json's path
# or at a file generate writes leaves the file it points to as it was (its
# bytes and its mode); a resumed load reopens its .part only when it is a
# regular file of this user with one link, and otherwise refuses with a
# line that says so, and resumes once it is gone; the directories they go
# in are held from the start (swapped for links mid-load, they are not
# followed).  Tiny files: what is
# proved is what happens to the victim.
. "$(dirname "$0")/../lib.sh"

cd "$T_TMP" || exit 1
db=$(new_db links_db)
"$ETL" --db "$db" schema >/dev/null

# victim NAME: a file of this user the tool must never write.
victim() { printf 'precious %s\n' "$1" >"$1"; chmod 644 "$1"; }
intact() { # NAME WHAT
	expect_eq "$(cat "$1") $(stat -c %a "$1")" "precious $1 644" "$2: the file the link points to is as it was"
}

printf 'sku,name,price\nL-1,a,1\nL-2,b,x\nL-3,c,2\nL-4,d,y\n' >p.csv

# --- a link at the reject file's name, and at its .part ---------------------------
victim v1
ln -s v1 p.csv.rejects.csv
etl --db "$db" load p.csv
expect_rc 1 "a load with rejects runs beside a planted link"
intact v1 "a link at NAME.rejects.csv"
expect_eq "$(stat -c %F p.csv.rejects.csv)" "regular file" "the reject file is a file of its own in the link's place"
expect_match "$(cat p.csv.rejects.csv)" "L-2,b,x,3," "holding the rejects"
rm -f p.csv.rejects.csv

victim v2
ln -s v2 .p2.csv.rejects.csv.part
cp p.csv p2.csv
etl --db "$db" load --on-conflict skip p2.csv
expect_rc 1 "a link at the .part name"
intact v2 "a link at .NAME.rejects.csv.part"
expect_eq "$(stat -c %F p2.csv.rejects.csv)" "regular file" "the reject file is a file of its own"
expect_eq "$(ls -A | grep -c '\.part$')" "0" "no .part is left"

# --- a resumed load and its .part --------------------------------------------------
printf 'sku,name,price\nR-1,a,1\nR-2,b,x\nR-3,c,2\nR-4,d,y\n' >r.csv
etl --db "$db" load --max-rejects 0 r.csv
expect_rc 5 "stopped after its first reject: resumable"
mv r.csv.rejects.csv kept.rej
victim v3
ln -s v3 r.csv.rejects.csv
etl --db "$db" load r.csv
expect_rc 3 "the resume refuses a reject file that is a link"
expect_match "$err" "refused to reopen: a symbolic link; it is not the reject file siprems-etl made" "and says why"
intact v3 "a link where the resumed reject file was"
rm -f r.csv.rejects.csv .r.csv.rejects.csv.part
victim v4
ln v4 .r.csv.rejects.csv.part # a hard link: two names, one file
etl --db "$db" load r.csv
expect_rc 3 "the resume refuses a .part with a second link"
expect_match "$err" "not a regular file of this user with one link" "and says why"
intact v4 "a hard link as the .part"
rm -f .r.csv.rejects.csv.part
mv kept.rej r.csv.rejects.csv
etl --db "$db" load r.csv
expect_rc 1 "with its own reject file back, the load resumes"
expect_eq "$(cut -d, -f1 r.csv.rejects.csv | tr '\n' ' ')" "sku R-2 R-4 " "and its reject file holds both attempts' rejects"
expect_eq "$(sql links_db "SELECT string_agg(sku, ' ' ORDER BY sku) FROM products WHERE sku LIKE 'R-%'")" "R-1 R-3" \
	"each good row once"

# --- --summary-json, generate ----------------------------------------------------------
victim v5
ln -s v5 summary.json
printf 'sku,name,price\nS-1,a,1\n' >s.csv
etl --db "$db" load --summary-json summary.json s.csv
expect_rc 0 "a load whose --summary-json path is a link"
intact v5 "a link at --summary-json's path"
expect_match "$(cat summary.json)" "\"exit_code\": 0" "the summary is written in the link's place"
expect_eq "$(ls -A | grep -c '^\.summary\.json\.')" "0" "no temporary file is left"
mkdir gen
victim v6
ln -s ../v6 gen/products.csv.gz
"$ETL" generate --out gen --products 5 --days 2 --seed 1 >/dev/null 2>&1
intact v6 "a link where generate writes"
expect_eq "$(gzip -dc gen/products.csv.gz | head -n 1)" "sku,name,category,variation,price,stock" "generate's file stands in its place"

# --- directories swapped for links during a run ------------------------------------
# The reject directory and the summary's are held from the start: moved away
# and replaced by links mid-load, the files still go where they were.
here=$(pwd -P)
# start_load FIRST REST ARGS...: a load of d.csv, a FIFO that gives FIRST,
# then REST once the file go exists; sets loader and writer.
start_load() {
	local first=$1 rest=$2
	shift 2
	mkfifo d.csv
	{
		printf '%s' "$first"
		for _ in $(seq 1 1000); do [ -e go ] && break; sleep 0.02; done
		printf '%s' "$rest"
	} >d.csv &
	writer=$!
	"$ETL" --db "$db" load "$@" d.csv >d.out 2>&1 &
	loader=$!
}
# held N: waits until the loader holds N of the directories rej and out
# (10 s at most) and prints how many it holds.
held() {
	local n=0
	for _ in $(seq 1 500); do
		n=$(for f in /proc/"$loader"/fd/*; do readlink "$f"; done 2>/dev/null | grep -cxE "$here/(rej|out)")
		[ "$n" = "$1" ] && break
		sleep 0.02
	done
	echo "$n"
}
mkdir rej out elsewhere
start_load $'sku,name,price\nD-1,a,1\nD-2,b,x\n' $'D-3,c,2\nD-4,d,y\n' --reject-dir rej --summary-json out/s.json
expect_eq "$(held 2)" 2 "the loader holds the reject directory and the summary's from the start"
mv rej rej.moved
mv out out.moved
ln -s elsewhere rej
ln -s elsewhere out
touch go
wait "$loader"
expect_eq "$?" 1 "the load goes on to its end (exit 1: two rejects)"
wait "$writer"
expect_eq "$(ls -A elsewhere | tr '\n' ' ')" "" "nothing is written where the links point"
expect_eq "$(cut -d, -f1 rej.moved/d.csv.rejects.csv 2>/dev/null | tr '\n' ' ')" "sku D-2 D-4 " \
	"the reject file is in the directory the run began with"
expect_match "$(cat out.moved/s.json 2>/dev/null)" '"exit_code": 1' "and so is the summary"
expect_eq "$(ls -A rej.moved out.moved | grep -c '^\.')" 0 "no temporary file is left there"
rm -rf rej out rej.moved out.moved elsewhere d.csv go
# Removed and made anew mid-load: the new one is not used, and that is said.
mkdir rej
start_load $'sku,name,price\nE-1,a,1\n' $'E-2,b,x\n' --reject-dir rej
expect_eq "$(held 1)" 1 "the loader holds the reject directory"
rm -rf rej
mkdir rej
touch go
wait "$loader"
expect_eq "$?" 5 "a reject directory removed during the load: the reject cannot be written (exit 5)"
wait "$writer"
expect_match "$(cat d.out)" "the directory it goes in was removed during the run" "and the message says why"
expect_eq "$(ls -A rej | wc -l)" 0 "nothing is written into the new directory of that name"
rm -rf rej d.csv d.out go

# --- a directory one may write in but not list (mode 0333: drop boxes) --------------
# Held as a path (O_PATH), it takes reject files, the summary and generate's
# files as before.  Root reads any directory: as root the run is nobody's.
if [ "$(id -u)" = 0 ]; then
	box=$(mktemp -d /tmp/siprems-etl-box.XXXXXX)
	at_exit "rm -rf '$box'"
	chmod 755 "$box"
	as=(setpriv --reuid 65534 --regid 65534 --clear-groups)
else
	box=$PWD/box
	mkdir "$box"
	as=()
fi
mkdir -m 0333 "$box/drop"
printf 'sku,name,price\nW-1,a,x\n' >"$box/w.csv"
chmod 644 "$box/w.csv"
run env -C "$box" "${as[@]}" "$ETL" --db "host=/nonexistent" load --dry-run --reject-dir drop \
	--summary-json drop/s.json w.csv
expect_rc 1 "a dry run with its rejects and summary in a write-only directory"
run env -C "$box" "${as[@]}" "$ETL" generate --out drop --products 3 --days 2
expect_rc 0 "generate into it"
chmod 0755 "$box/drop"
expect_eq "$(ls "$box/drop" | tr '\n' ' ')" "events.csv.gz products.csv.gz s.json sales.csv.gz users.csv.gz w.csv.rejects.csv " \
	"every file is there"
[ "$(id -u)" = 0 ] || rm -rf "$box"

# --- .env: not through a link, never cut silently ----------------------------------
mkdir envdir
printf 'DATABASE_URL=postgresql://nobody@127.0.0.1:1/elsewhere\n' >planted.env
ln -s ../planted.env envdir/.env
clean=(env -u DATABASE_URL -u DB_HOST -u DB_PORT -u DB_NAME -u DB_USER -u DB_PASSWORD)
run env -C envdir "${clean[@]}" "$ETL" history --limit 1
expect_match "$err" "\.env: a symbolic link; not read" "a .env that is a link is not read, and that is said"
expect_no_match "$err" "elsewhere" "nothing of it is used"
rm envdir/.env
{ printf 'DB_NAME=%s\n' "$(head -c 5000 /dev/zero | tr '\0' x)"; printf 'DB_HOST=/nonexistent\n'; } >envdir/.env
run env -C envdir "${clean[@]}" "$ETL" history --limit 1
expect_match "$err" "\.env:1: ignoring a line longer than 4094 characters" "a line too long is named, not cut"
expect_match "$err" "on host /nonexistent" "and the next line is read as itself"
rm envdir/.env
mkfifo envdir/.env
run timeout 20 env -C envdir "${clean[@]}" "$ETL" history --limit 1
expect_match "$err" "\.env: not a regular file of this user; not read" "a .env that is a FIFO is not waited on, and that is said"

finish
