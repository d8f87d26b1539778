#!/usr/bin/env bash
# Plaintext passwords: hashed on every core, and with
# --on-conflict skip or error only for the rows whose key the table lacks:
# a row the load skips (or rejects as a repeated key) costs no hash.  Each
# row is hashed once, also when refused rows are settled one by one; no
# placeholder ever reaches the table; every stored hash verifies.
#
# Sizes: each hash costs 600,000 rounds of PBKDF2 (0.2 s of a core here,
# over 1 s under AddressSanitizer, whose interceptors sit in libcrypto's
# calls), so the files are the fewest rows that prove each point: more rows
# than cores to see every core used, a few batches for --jobs, a ratio of
# hashes large enough for the CPU-time comparison.
. "$(dirname "$0")/../lib.sh"

cd "$T_TMP" || exit 1
cores=$(nproc)

# users.csv: u01..u10 with the passwords pw-01..; u01..u06 already in the
# table (u02 and u05 there in another letter case).
users() { # file first last
	{
		echo "email,full_name,password"
		for ((i = $2; i <= $3; i++)); do printf 'u%02d@toko.id,User %d,pw-%02d\n' "$i" "$i" "$i"; done
	} >"$1"
}
users users.csv 1 10
existing() { # database conninfo [last: 6]
	"$ETL" --db "$2" --quiet schema >/dev/null || not_ok "schema for $1"
	sql "$1" "INSERT INTO users (email, full_name, password_hash, is_active)
	  SELECT CASE WHEN i IN (2, 5) THEN upper(format('u%s@toko.id', lpad(i::text, 2, '0')))
	              ELSE format('u%s@toko.id', lpad(i::text, 2, '0')) END,
	         'Old ' || i, 'pbkdf2:sha256:600000\$oldsalt' || lpad(i::text, 9, '0') || '\$' || repeat('0', 64), true
	  FROM generate_series(1, ${3:-6}) i"
}
# Every stored hash of the file's users verifies with its password (the
# old rows keep theirs): "N verified, M old".
verify() { # database
	sql "$1" "SELECT email || ' ' || password_hash FROM users ORDER BY 1" | python3 -c '
import hashlib, hmac, sys
good = old = bad = 0
for line in sys.stdin:
    email, h = line.split()
    method, salt, hexd = h.split("$")
    if salt.startswith("oldsalt"):
        old += 1
        continue
    n = email.split("@")[0][1:]
    ok = hmac.compare_digest(hashlib.pbkdf2_hmac("sha256", ("pw-" + n).encode(), salt.encode(), int(method.split(":")[2])).hex(), hexd)
    good += ok
    bad += not ok
print(f"{good} verified, {old} old, {bad} wrong")'
}
# The passwords hashed, as the --verbose lines count them: "hashed not".
hashed() {
	printf '%s\n' "$err" | awk '/password(s)? hashed on/ { h += $3 } /; [0-9]+ not, the table has the key/ { for (i = 1; i <= NF; i++) if ($i == "not,") n += $(i - 1) } END { printf "%d %d\n", h, n }'
}
placeholders() { sql "$1" "SELECT count(*) FROM users WHERE password_hash NOT LIKE 'pbkdf2:%'"; }

for fmt in binary text; do
	# --- skip: the rows whose key exists cost no hash ---------------------------------------
	db=pw_skip_$fmt
	c=$(new_db "$db")
	existing "$db" "$c"
	etl --db "$c" --verbose --no-progress load --copy-format "$fmt" --on-conflict skip --summary-json s.json users.csv
	expect_rc 0 "$fmt: --on-conflict skip loads the four new users"
	expect_eq "$(hashed)" "4 6" "$fmt: four passwords hashed, the six whose key exists (two in another case) not"
	expect_match "$err" "users: 4 passwords hashed on $cores cores?" "$fmt: on every core ($cores)"
	expect_eq "$(json_counts s.json)" "users.csv:loaded:10:4:0:6:0" "$fmt: the summary: 4 loaded, 6 skipped"
	expect_eq "$(verify "$db")" "4 verified, 6 old, 0 wrong" "$fmt: every new hash verifies, the old rows keep theirs"
	expect_eq "$(sql "$db" "SELECT string_agg(email, ' ' ORDER BY email) FROM users WHERE full_name LIKE 'Old%' AND email <> lower(email)")" \
		"U02@TOKO.ID U05@TOKO.ID" "$fmt: the stored spelling of a key in another case stays"
	expect_eq "$(placeholders "$db")" 0 "$fmt: no placeholder in the table"

	# --- error (the default): a repeated key is rejected, and not hashed ---------------------
	db=pw_err_$fmt
	c=$(new_db "$db")
	existing "$db" "$c"
	mkdir -p "rej_$fmt"
	etl --db "$c" --verbose --no-progress load --copy-format "$fmt" --reject-dir "rej_$fmt" users.csv
	expect_rc 1 "$fmt: --on-conflict error rejects the six existing keys (exit 1)"
	expect_eq "$(hashed)" "4 6" "$fmt: four hashed, the six rejected ones not"
	expect_eq "$(sql "$db" "SELECT count(*) FILTER (WHERE full_name LIKE 'User%'), count(*) FROM users")" "4|10" "$fmt: four new rows, ten in all"
	expect_eq "$(($(wc -l <"rej_$fmt/users.csv.rejects.csv") - 1))" 6 "$fmt: the six in the reject file"
	expect_no_match "$(cat "rej_$fmt/users.csv.rejects.csv")" "pbkdf2|!!!!" "$fmt: the reject file has the rows as read, no hash, no placeholder"
	expect_eq "$(verify "$db")" "4 verified, 6 old, 0 wrong" "$fmt: every new hash verifies"
	expect_eq "$(placeholders "$db")" 0 "$fmt: no placeholder in the table"

	# --- refused rows settled one by one: each row hashed once -------------------------------
	db=pw_iso_$fmt
	c=$(new_db "$db")
	existing "$db" "$c"
	sql "$db" "ALTER TABLE users ADD CONSTRAINT no_eight CHECK (full_name <> 'User 8')"
	etl --db "$c" --verbose --no-progress load --copy-format "$fmt" --on-conflict skip --reject-dir "rej_$fmt" users.csv
	expect_rc 1 "$fmt: the row the check refuses is rejected (exit 1)"
	expect_match "$err" "settl|refused" "$fmt: the batch was settled row by row"
	expect_eq "$(hashed | cut -d' ' -f1)" 4 "$fmt: still four hashes: no row hashed twice"
	expect_eq "$(sql "$db" "SELECT string_agg(email, ' ' ORDER BY email) FROM users WHERE full_name LIKE 'User%'")" \
		"u07@toko.id u09@toko.id u10@toko.id" "$fmt: the three good new rows in, the refused one out"
	expect_eq "$(verify "$db")" "3 verified, 6 old, 0 wrong" "$fmt: their hashes verify"
	expect_eq "$(placeholders "$db")" 0 "$fmt: no placeholder in the table"

	# --- update: every row gets its new hash -------------------------------------------------
	db=pw_upd_$fmt
	c=$(new_db "$db")
	existing "$db" "$c"
	etl --db "$c" --verbose --no-progress load --copy-format "$fmt" --on-conflict update users.csv
	expect_rc 0 "$fmt: --on-conflict update loads all ten"
	expect_eq "$(hashed | cut -d' ' -f1)" 10 "$fmt: update hashes every row (each is written)"
	expect_eq "$(verify "$db")" "10 verified, 0 old, 0 wrong" "$fmt: every row holds its file's password"

	# --- an empty table (one COPY) with several connections ----------------------------------
	db=pw_fast_$fmt
	c=$(new_db "$db")
	n=$((cores * 3))
	users many.csv 1 "$n"
	etl --db "$c" --verbose --no-progress load --copy-format "$fmt" --jobs 2 many.csv
	expect_rc 0 "$fmt: $n users into the empty table"
	expect_match "$err" "users was empty: loaded with one COPY" "$fmt: the empty table's path"
	expect_eq "$(hashed | cut -d' ' -f1)" "$n" "$fmt: $n hashes"
	expect_match "$err" "users: $n passwords hashed on $cores cores?" "$fmt: on every core"
	expect_eq "$(verify "$db")" "$n verified, 0 old, 0 wrong" "$fmt: all verify"
done

# --- batches on several connections, skip: only the new keys -----------------------------------
db=pw_jobs
c=$(new_db "$db")
existing "$db" "$c"
users many.csv 1 16
etl --db "$c" --verbose --no-progress load --jobs 3 --batch-rows 4 --on-conflict skip many.csv
expect_rc 0 "--jobs 3, batches of 4: loads"
expect_eq "$(hashed)" "10 6" "10 new keys hashed, the 6 existing not"
expect_eq "$(verify "$db")" "10 verified, 6 old, 0 wrong" "every hash verifies"
expect_eq "$(placeholders "$db")" 0 "no placeholder in the table"

# --- what the process does, whatever it prints: its CPU time and its threads ------------------
# user + system CPU seconds of one load (the shell's children's times).
users fifteen.csv 1 15
cpu() { # database args...
	local db=$1 c
	shift
	c=$(new_db "$db")
	existing "$db" "$c" 12
	{ "$ETL" --db "$c" --quiet load "$@" fifteen.csv >/dev/null 2>&1; times; } | tail -1 |
		sed -E 's/([0-9]+)m([0-9.]+)s ([0-9]+)m([0-9.]+)s/\1 \2 \3 \4/' | awk '{ print $1 * 60 + $2 + $3 * 60 + $4 }'
}
skip_cpu=$(cpu pw_cpu_skip --on-conflict skip)
upd_cpu=$(cpu pw_cpu_upd --on-conflict update)
expect_eq "$(awk -v a="$skip_cpu" -v b="$upd_cpu" 'BEGIN { print (b > 0 && a / b < 0.6) ? "less" : "same" }')" less \
	"15 users, 12 in the table: skip costs the CPU of 3 hashes, update of 15 (${skip_cpu}s against ${upd_cpu}s)"
c=$(new_db pw_threads)
users many.csv 1 12
"$ETL" --db "$c" --quiet load --jobs 1 many.csv >/dev/null 2>&1 &
pid=$! most=0
while kill -0 "$pid" 2>/dev/null; do
	n=$(ls "/proc/$pid/task" 2>/dev/null | wc -l)
	[ "$n" -gt "$most" ] && most=$n
	sleep 0.1
done
wait "$pid"
expect_eq "$?" 0 "12 users with --jobs 1"
expect_eq "$((most >= cores))" 1 "--jobs 1 hashes on $cores threads at once (most seen: $most)"

finish
