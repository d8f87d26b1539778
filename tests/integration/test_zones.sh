#!/usr/bin/env bash
# Timestamps at the edges of daylight saving time.  An instant written with
# an offset (Z, +HH:MM, +HHMM, +HH, in the zone's own offset or another)
# lands as that instant in a TIMESTAMPTZ column and as its wall clock in
# the load's zone in a TIMESTAMP column, also in the hour a fall-back
# repeats, an hour and a second around each transition of a northern and a
# southern zone, one without offset in winter, and UTC (where TIMESTAMPTZ
# goes by binary COPY).  A time written without an offset is kept as
# written.  On the guide's schema, the app's schema.sql (TIMESTAMPTZ), the
# database the app's ORM makes, and that ORM with a TIMESTAMPTZ column; on
# the fast path into an empty table and on the batched path.  The oracle is
# PostgreSQL's own zone arithmetic on the UTC instant.
. "$(dirname "$0")/../lib.sh"

cd "$T_TMP" || exit 1

printf 'sku,name,category,price,stock\nTZ-1,Zona,Misc,1000,5\n' >products.csv
printf 'sku,quantity_sold,price_per_unit,transaction_date\nTZ-1,1000000,1.00,2025-06-01 12:00:00\n' >before.csv

# cases.ZONE.csv (sales rows, quantity = case number) and expect.ZONE.tsv
# (case, UTC instant or \N, wall time as written or \N) for a zone: the
# instants 90 min, 30 min and 1 s before each 2025 transition, at it and
# 30 and 90 min after, each in every offset form; and wall times without
# an offset beside them (none in a repeated or skipped hour).
cases() { # zone [zone whose transitions to use]
	/usr/bin/python3 - "$@" <<'EOF'
import sys
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

zone = sys.argv[1]
rules = ZoneInfo(sys.argv[2] if len(sys.argv) > 2 else zone)
here = ZoneInfo(zone)
utc = timezone.utc

def offset_text(off, colon=True, hours_only=False):
    s = int(off.total_seconds())
    sign = "-" if s < 0 else "+"
    s = abs(s)
    if hours_only:
        return "%s%02d" % (sign, s // 3600)
    return "%s%02d%s%02d" % (sign, s // 3600, ":" if colon else "", s // 60 % 60)

# The transitions of 2025: where the offset changes from one hour to the next.
edges = []
t = datetime(2025, 1, 1, tzinfo=utc)
while t.year == 2025:
    nxt = t + timedelta(minutes=15)
    if t.astimezone(rules).utcoffset() != nxt.astimezone(rules).utcoffset():
        edges.append(nxt)
    t = nxt
if len(edges) != 2:
    sys.exit("expected two transitions in 2025, found %d" % len(edges))

rows, expect = [], []
q = 0
def add(text, at=None, wall=None):
    global q
    q += 1
    rows.append("TZ-1,%d,1.00,%s" % (q, text))
    expect.append("%d\t%s\t%s" % (q, at.strftime("%Y-%m-%d %H:%M:%S.%f+00") if at else "\\N",
                                  wall or "\\N"))

for edge in edges:
    for delta in (-5400, -1800, -1, 0, 1800, 5400):
        at = edge + timedelta(seconds=delta)
        local = at.astimezone(here)
        off = local.utcoffset()
        far = at.astimezone(timezone(timedelta(hours=7)))
        add(at.strftime("%Y-%m-%dT%H:%M:%SZ"), at)
        add(at.strftime("%Y-%m-%d %H:%M:%S+00:00"), at)
        add(local.strftime("%Y-%m-%dT%H:%M:%S") + offset_text(off), at)
        add(local.strftime("%Y-%m-%d %H:%M:%S") + offset_text(off, colon=False), at)
        if int(off.total_seconds()) % 3600 == 0:
            add(local.strftime("%Y-%m-%d %H:%M:%S") + offset_text(off, hours_only=True), at)
        add(far.strftime("%Y-%m-%dT%H:%M:%S.123456") + "+07:00", at + timedelta(microseconds=123456))
        add(at.strftime("%Y-%m-%dt%H:%M:%Sz"), at)
        # The same clock without an offset, unless that hour is repeated or
        # skipped in the zone (it names no single instant there).
        wall = local.replace(tzinfo=None)
        folds = {wall.replace(fold=f, tzinfo=here).utcoffset() for f in (0, 1)}
        back = wall.replace(tzinfo=here).astimezone(utc).astimezone(here).replace(tzinfo=None)
        if len(folds) == 1 and back == wall:
            add(wall.strftime("%Y-%m-%d %H:%M:%S"), None, wall.strftime("%Y-%m-%d %H:%M:%S"))

name = zone.replace("/", "_")
with open("cases.%s.csv" % name, "w") as f:
    f.write("sku,quantity_sold,price_per_unit,transaction_date\n" + "\n".join(rows) + "\n")
with open("expect.%s.tsv" % name, "w") as f:
    f.write("\n".join(expect) + "\n")
print(q)
EOF
}

# A database of the given schema: guide (TIMESTAMP), app (its schema.sql:
# TIMESTAMPTZ), orm (TIMESTAMP), orm_tz (the ORM with a TIMESTAMPTZ).
make_db() { # name schema
	local c
	c=$(new_db "$1") || return 1
	case $2 in
	guide) "$ETL" --db "$c" schema >/dev/null 2>&1 ;;
	app)
		"$ETL" --db "$c" schema >/dev/null 2>&1
		sql "$1" "ALTER TABLE transactions ALTER COLUMN transaction_date TYPE timestamptz" >/dev/null
		;;
	orm | orm_tz)
		sql "$1" "$(orm_ddl)" >/dev/null
		[ "$2" = orm ] || sql "$1" "ALTER TABLE transactions ALTER COLUMN transaction_date TYPE timestamptz" >/dev/null
		;;
	esac
	echo "$c"
}

# Rows whose transaction_date is not what the case expects, at most five.
wrong() { # database zone expect-file
	sql "$1" "CREATE TABLE expect (q int PRIMARY KEY, at timestamptz, wall timestamp)" >/dev/null
	psql -X -q -d "$1" -c "\\copy expect FROM '$3'" >/dev/null
	sql "$1" "SET TimeZone = 'UTC';
	  SELECT count(*) || coalesce(': ' || string_agg(d, ', '), '')
	  FROM (SELECT format('case %s %s, expected %s', e.q, t.transaction_date,
	                      CASE WHEN pg_typeof(t.transaction_date) = 'timestamp with time zone'::regtype
	                           THEN coalesce(e.at, e.wall AT TIME ZONE '$2')::text
	                           ELSE coalesce((e.at AT TIME ZONE '$2')::text, e.wall::text) END) d
	        FROM expect e LEFT JOIN transactions t ON t.quantity_sold = e.q
	        WHERE CASE WHEN pg_typeof(t.transaction_date) = 'timestamp with time zone'::regtype
	                   THEN t.transaction_date::text IS DISTINCT FROM coalesce(e.at, e.wall AT TIME ZONE '$2')::text
	                   ELSE t.transaction_date::text IS DISTINCT FROM coalesce((e.at AT TIME ZONE '$2')::text, e.wall::text) END
	        ORDER BY e.q LIMIT 5) s"
}

# zone | how the load is given it | the zone whose transitions to use
for spec in "America/New_York option" "Australia/Sydney database" "Europe/London option" "UTC option America/New_York"; do
	read -r zone how rules <<<"$spec"
	n=$(cases "$zone" $rules) || { not_ok "cases for $zone" "$n"; continue; }
	name=${zone//\//_}
	for schema in guide app orm orm_tz; do
		for path in fast batched; do
			db=$(echo "zones_${name}_${schema}_$path" | tr 'A-Z' 'a-z')
			c=$(make_db "$db" "$schema")
			opts=()
			if [ "$how" = option ]; then
				opts=(--timezone "$zone")
			else
				sql "$db" "ALTER DATABASE $db SET timezone TO '$zone'" >/dev/null
			fi
			etl --db "$c" --quiet load "${opts[@]}" products.csv
			expect_rc 0 "$zone, $schema, $path: the product loads"
			[ "$path" = fast ] || "$ETL" --db "$c" --quiet load "${opts[@]}" before.csv >/dev/null 2>&1
			etl --db "$c" load "${opts[@]}" "cases.$name.csv"
			expect_rc 0 "$zone ($how), $schema, $path path: $n timestamps load"
			if [ "$path" = fast ]; then
				expect_match "$err" "transactions was empty" "$zone, $schema: the fast path"
			else
				expect_no_match "$err" "transactions was empty" "$zone, $schema: the batched path"
			fi
			expect_eq "$(wrong "$db" "$zone" "$PWD/expect.$name.tsv")" "0" \
				"$zone ($how), $schema, $path path: every instant is the one written (TIMESTAMPTZ) or its wall clock there (TIMESTAMP)"
			dropdb "$db" >/dev/null 2>&1
		done
	done
done

# --- one file, one zone: a resumed load keeps the options it began with ----------
# 3,000 sales at 01:30 UTC (the evening before in New York, the morning in
# Jakarta); records 2,001-2,200 name an unknown product, so --max-rejects 50
# stops the load in its fifth batch of 500, after 2,000 loaded rows.
/usr/bin/python3 - <<'PY'
with open("stopped.csv", "w") as f:
    f.write("sku,quantity_sold,price_per_unit,transaction_date\n")
    for i in range(1, 3001):
        f.write("%s,%d,1.50,2025-11-02T01:30:00Z\n" % ("NOPE" if 2000 < i <= 2200 else "TZ-1", i))
PY
c=$(make_db zones_resume app)
etl --db "$c" --quiet load products.csv
etl --db "$c" load --timezone America/New_York --batch-rows 500 --max-rejects 50 stopped.csv
expect_rc 5 "--max-rejects stops the load part-way"
first=$(sql zones_resume "SELECT load_id || ' ' || status || ' ' || records_done || ' ' || attempts || ' ' || options FROM etl_loads WHERE kind = 'sales'")
expect_match "$first" "^[0-9]+ stopped 20[0-9][0-9] 1 .*timezone=America/New_York" "the history: stopped after 2,000 records and some, in New York"
done_records=$(echo "$first" | cut -d' ' -f3)
load_id=${first%% *}
for other in "--timezone Asia/Jakarta" "--decimal-comma" "--encoding latin1" "--null NA" "--date-format YYYY-MM-DD\"T\"HH24:MI:SSTZH" "--on-conflict skip"; do
	read -r -a args <<<"$other"
	zone=(--timezone America/New_York)
	[ "${args[0]}" = --timezone ] && zone=()
	etl --db "$c" load "${zone[@]}" "${args[@]}" stopped.csv
	expect_rc 3 "resumed with $other: refused"
	expect_match "$err" "load $load_id of this file \\(stopped\\) committed $done_records records with ${args[0]} [^,]*\\(this run: [^,]*\\): going on would load one file two ways, so nothing was loaded.*'siprems-etl undo $load_id'" \
		"$other: the message names the option, both values and the ways on"
	expect_eq "$(sql zones_resume "SELECT load_id || ' ' || status || ' ' || records_done || ' ' || attempts || ' ' || options FROM etl_loads WHERE kind = 'sales'")" "$first" \
		"$other: the history is as it was (options of the first attempt)"
	expect_eq "$(sql zones_resume "SELECT count(*) FROM transactions")" "2000" "$other: the table holds the 2,000 committed rows only"
done
etl --db "$c" load --timezone America/New_York stopped.csv
expect_rc 1 "resumed with its own options, it completes (exit 1: the 200 rejects)"
expect_eq "$(sql zones_resume "SET TimeZone = 'UTC'; SELECT count(*) || ' ' || count(DISTINCT transaction_date) || ' ' || min(transaction_date) FROM transactions")" \
	"2800 1 2025-11-02 01:30:00+00" "every row of the file is the same instant: one file, one zone"
expect_match "$(sql zones_resume "SELECT status || ' ' || attempts || ' ' || options FROM etl_loads WHERE kind = 'sales'")" "^partial 2 .*timezone=America/New_York" \
	"the history: one load, two attempts, New York"
# What shapes no value of the kind is not refused: a products file (no
# timestamp) stopped in one zone resumes in another.
awk 'BEGIN { print "sku,name,category,price,stock"; for (i = 1; i <= 3000; i++) printf "Z-%04d,P %d,Misc,%s,5\n", i, i, (i > 2000 && i <= 2200) ? "bad" : "100" }' >pstop.csv
etl --db "$c" load --timezone America/New_York --batch-rows 500 --max-rejects 50 pstop.csv
expect_rc 5 "a products file stops part-way"
etl --db "$c" load --timezone Asia/Jakarta pstop.csv
expect_rc 1 "resumed in another zone, it completes: a zone shapes no product (exit 1: the rejects)"
expect_eq "$(sql zones_resume "SELECT count(*) FROM products WHERE sku LIKE 'Z-%'")" 2800 "every good product once"
# A wall clock without an offset: the zone decides a TIMESTAMPTZ's instant.
# Stopped in one zone, undone, loaded anew in another: all in the other.
sed 's/T01:30:00Z/ 01:30:00/' stopped.csv >wall.csv
etl --db "$c" load --timezone America/New_York --batch-rows 500 --max-rejects 50 wall.csv
expect_rc 5 "a file of wall clocks stops part-way"
etl --db "$c" load --timezone Asia/Jakarta wall.csv
expect_rc 3 "resumed in another zone: refused"
etl --db "$c" load --timezone Asia/Jakarta --force wall.csv
expect_rc 1 "--force undoes the stopped load and loads the file anew in the new zone"
expect_eq "$(sql zones_resume "SET TimeZone = 'UTC'; SELECT count(*) || ' ' || count(DISTINCT transaction_date) || ' ' || min(transaction_date) FROM transactions WHERE transaction_date <> '2025-11-02 01:30:00+00'")" \
	"2800 1 2025-11-01 18:30:00+00" "its 2,800 rows are all 01:30 in Jakarta, none in New York"

finish
