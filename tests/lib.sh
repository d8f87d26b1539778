# tests/lib.sh — helpers for the integration tests (sourced).
#
# Each test file runs the real binary ($ETL) against the throwaway server that
# scripts/test.sh started (PGHOST/PGPORT/PGUSER are exported), makes its own
# databases, and ends with finish, which prints "N passed, N failed".
#
#   run CMD...            runs CMD; sets $rc, $out (stdout) and $err (stderr)
#   etl ARGS...           run "$ETL" ARGS...
#   expect_rc N WHAT      the last run exited with N
#   expect_eq A B WHAT    A equals B
#   expect_match S RE WHAT / expect_no_match S RE WHAT   (grep -E)
#   sql DB QUERY          psql -Atq, failing the test on an SQL error
#   new_db NAME           (re)creates database NAME; prints its conninfo
#   products_db NAME      new_db NAME with the file's products.csv loaded
#   one_sale DB SKU PRICE DATE   a row in DB's transactions (a load then takes
#                         the batched path, not the empty table's)
#   batched_db NAME SKU PRICE DATE   products_db NAME and one_sale; prints
#                         its conninfo
#   sales_checksum DB [WHERE]   "count md5" of DB's sales by SKU, quantity,
#                         price, time and promo flag (WHERE narrows them)
#   committed DB          waits (at most 5 s) until a sales load in DB has
#                         committed a batch
#   same_file A B WHAT    both exist, are not empty, and have the same bytes
#   no_rejects PATH...    prints those of the reject files (or their .part) that exist
#   at_exit CMD           runs CMD when the file ends, however it ends, before
#                         its temp directory goes (a file never sets its own
#                         EXIT trap: that would replace this one)
#   scale N BIG           N, or BIG under `make test-big` (ETL_TEST_BIG=1)
set -u

ROOT=${ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
ETL=${ETL:-$ROOT/build/siprems-etl}
T_TMP=$(mktemp -d "${TMPDIR:-/tmp}/siprems-etl-t.XXXXXX")
chmod 755 "$T_TMP"
T_AT_EXIT=()
at_exit() { T_AT_EXIT+=("$*"); }
t_exit() {
	local c
	# Each to its end: a second signal, or an exit inside one, must not
	# skip the rest.
	trap '' TERM INT HUP
	for c in "${T_AT_EXIT[@]}"; do (eval "$c") >/dev/null 2>&1; done
	rm -rf "$T_TMP"
}
trap t_exit EXIT
trap 'exit 143' TERM
trap 'exit 130' INT
trap 'exit 129' HUP

# Debian's python3 (install-deps.sh installs it): a version manager's shim
# in front of it costs a quarter of a second a call.
if [ -x /usr/bin/python3 ]; then python3() { /usr/bin/python3 "$@"; }; fi

# The size of a case: small for `make test`, large for `make test-big`.
scale() { if [ "${ETL_TEST_BIG:-0}" = 1 ]; then echo "$2"; else echo "$1"; fi; }
rc=0
out=""
err=""

# Every check is counted in a file and said on the test's own stdout (fd 3),
# so that one made inside $(...) (a failing sql in a command substitution)
# is neither lost nor swallowed by the substitution.
exec 3>&1
: >"$T_TMP/passed"
: >"$T_TMP/failed"

ok() {
	echo "$1" >>"$T_TMP/passed"
	echo "ok - $1" >&3
}

not_ok() {
	echo "$1" >>"$T_TMP/failed"
	{
		echo "not ok - $1"
		shift
		local l
		for l in "$@"; do printf '#   %s\n' "$l"; done
		printf '#   last command: %s\n' "${T_LAST:-}"
		printf '#   stderr: %s\n' "$(printf '%s' "$err" | head -c 1500)"
	} >&3
}

run() {
	T_LAST="$*"
	"$@" >"$T_TMP/stdout" 2>"$T_TMP/stderr" </dev/null
	rc=$?
	out=$(cat "$T_TMP/stdout")
	err=$(cat "$T_TMP/stderr")
}

etl() { run "$ETL" "$@"; }

expect_rc() {
	if [ "$rc" = "$1" ]; then ok "$2"; else not_ok "$2" "exit status $rc, expected $1"; fi
}

expect_eq() {
	if [ "$1" = "$2" ]; then ok "$3"; else not_ok "$3" "got:      $1" "expected: $2"; fi
}

expect_match() {
	if printf '%s' "$1" | grep -qE -- "$2"; then ok "$3"; else not_ok "$3" "no match for /$2/ in: $(printf '%s' "$1" | head -c 800)"; fi
}

expect_no_match() {
	if printf '%s' "$1" | grep -qE -- "$2"; then not_ok "$3" "unexpected match for /$2/ in: $(printf '%s' "$1" | grep -E -- "$2" | head -c 800)"; else ok "$3"; fi
}

sql() {
	local db=$1
	shift
	psql -X -Atq -v ON_ERROR_STOP=1 -d "$db" -c "$*" 2>"$T_TMP/sqlerr" || {
		not_ok "sql: $*" "$(cat "$T_TMP/sqlerr")"
		return 1
	}
}

# same_file A B WHAT: both files exist, are not empty and have the same
# bytes (an md5 of two missing files would be equal).
same_file() {
	if [ ! -s "$1" ] || [ ! -s "$2" ]; then
		not_ok "$3" "$( [ -s "$1" ] || echo "$1 missing or empty; ")$( [ -s "$2" ] || echo "$2 missing or empty")"
		return
	fi
	if cmp -s "$1" "$2"; then ok "$3"; else not_ok "$3" "$1 and $2 differ"; fi
}

# no_rejects PATH...: the reject files named exist under neither their name
# nor their .part name (a killed load leaves .NAME.part).
no_rejects() {
	local p left=""
	for p in "$@"; do
		[ -e "$p" ] && left+="$p "
		[ -e "$(dirname "$p")/.$(basename "$p").part" ] && left+="$(dirname "$p")/.$(basename "$p").part "
	done
	echo "$left"
}

# The DDL of the database the app's ORM makes (tests/orm.sql).
orm_ddl() { cat "$ROOT/tests/orm.sql"; }

committed() { # database [condition on etl_loads, default: a batch committed]
	for _ in $(seq 1 250); do
		[ "$(psql -X -Atq -d "$1" -c "SELECT coalesce(bool_or(${2:-records_done > 0}), false) FROM etl_loads WHERE kind = 'sales'" 2>/dev/null)" = t ] && return 0
		sleep 0.02
	done
	return 1
}

# Waits (at most 10 s) until a COPY of siprems-etl runs in database $1, or
# the loader (pid $2) has ended: a kill then lands inside the load, however
# fast the machine.
copying() { # database pid
	for _ in $(seq 1 500); do
		kill -0 "$2" 2>/dev/null || return 0
		[ "$(psql -X -Atq -d "$1" -c "SELECT count(*) > 0 FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'siprems-etl' AND query LIKE 'COPY %'" 2>/dev/null)" = t ] && return 0
		sleep 0.02
	done
}

# Holds SHARE on transactions in database $1 for $2 seconds from a psql in
# the background (its pid in $holder), and returns once it is granted.
hold_share_lock() { # database seconds
	psql -X -q -d "$1" -c "BEGIN; LOCK TABLE transactions IN SHARE MODE; SELECT pg_sleep($2); COMMIT" >/dev/null 2>&1 &
	holder=$!
	for _ in $(seq 1 200); do
		[ "$(psql -X -Atq -d "$1" -c "SELECT count(*) FROM pg_locks WHERE relation = 'transactions'::regclass AND mode = 'ShareLock' AND granted")" = 1 ] && return 0
		sleep 0.05
	done
}

# Ends the session that hold_share_lock started, at once (its lock with it).
release_share_lock() { # database
	psql -X -Atq -d "$1" -c "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE database = (SELECT oid FROM pg_database WHERE datname = current_database()) AND relation = 'transactions'::regclass AND mode = 'ShareLock' AND granted AND pid <> pg_backend_pid()" >/dev/null 2>&1
	wait "$holder" 2>/dev/null
}

# Makes each COPY into transactions in database $1 take 0.1 s more (a
# statement trigger), so that a load of a few batches is still running
# when a test acts on it.
slow_copies() { # database
	sql "$1" "CREATE FUNCTION slow() RETURNS trigger LANGUAGE plpgsql AS \$\$ BEGIN PERFORM pg_sleep(0.1); RETURN NULL; END \$\$;
	  CREATE TRIGGER slow AFTER INSERT ON transactions FOR EACH STATEMENT EXECUTE FUNCTION slow()"
}

rand_between() { python3 -c "import random, sys; print(round(random.uniform(float(sys.argv[1]), float(sys.argv[2])), 3))" "$1" "$2"; }

# Waits (at most 5 s) until the loader started as pid has taken its turn in
# the history: attempts of the sales load above $2.  Before that it only
# reads the file, which a kill leaves as it was.
claimed() { # database attempts_before pid
	for _ in $(seq 1 250); do
		[ "$(sql "$1" "SELECT coalesce(max(attempts), 0) FROM etl_loads WHERE kind = 'sales'")" -gt "$2" ] && return 0
		kill -0 "$3" 2>/dev/null || return 0
		sleep 0.02
	done
}

new_db() {
	dropdb --if-exists "$1" >/dev/null 2>&1
	createdb "$1" || { echo "cannot create database $1" >&2; return 1; }
	echo "host=$PGHOST port=$PGPORT user=$PGUSER dbname=$1"
}

products_db() {
	local c
	c=$(new_db "$1") || return 1
	"$ETL" --db "$c" --quiet load products.csv >/dev/null 2>&1
	echo "$c"
}

one_sale() {
	sql "$1" "INSERT INTO transactions (product_id, quantity_sold, price_per_unit, transaction_date)
	  SELECT product_id, 1, $3, '$4' FROM products WHERE sku = '$2'"
}

# batched_db DATABASE SKU PRICE TIME: the products, and one sale of SKU at
# PRICE and TIME, so that loads into it take the batched path; prints the
# conninfo.
batched_db() {
	local c
	c=$(products_db "$1") || return 1
	one_sale "$1" "$2" "$3" "$4"
	echo "$c"
}

sales_checksum() {
	sql "$1" "SELECT count(*) || ' ' || md5(string_agg(r, E'\n' ORDER BY r)) FROM (
	  SELECT concat_ws(',', p.sku, t.quantity_sold, t.price_per_unit, t.transaction_date, t.is_promo) r
	  FROM transactions t JOIN products p USING (product_id) ${2:+WHERE $2}) s"
}

# json_check FILE: checks a --summary-json file against the shape the README documents, with
# the counts adding up per file and in total; prints
# "file:status:read:loaded:rejected ..." and the exit code.
json_check() {
	python3 - "$1" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
# "error" is there only where something failed or stopped: the run's (with
# a non-zero exit code), a file's (failed or stopped).
assert set(d) - {"error"} == {"files", "totals", "exit_code"}, d.keys()
assert "error" not in d or (d["exit_code"] not in (0, 1) and d["error"]), d
keys = ["rows_read", "rows_loaded", "rows_updated", "rows_skipped", "rows_rejected"]
for f in d["files"]:
    assert set(f) - {"error"} == {"file", "kind", "status", "reject_file", "load_id", "seconds", *keys}, f.keys()
    assert "error" not in f or (f["status"] in ("failed", "stopped") and f["error"]), f
    assert f["load_id"] is None or (isinstance(f["load_id"], int) and f["load_id"] > 0), f
    assert f["status"] in ("loaded", "partial", "skipped", "failed", "stopped")
    assert f["rows_read"] == sum(f[k] for k in keys[1:]), f
for k in keys:
    assert d["totals"][k] == sum(f[k] for f in d["files"]), k
print(" ".join(f'{f["file"]}:{f["status"]}:{f["rows_read"]}:{f["rows_loaded"]}:{f["rows_rejected"]}' for f in d["files"]), d["exit_code"])
EOF
}

# json_counts FILE: after the same checks, "file:status:read:loaded:updated:
# skipped:rejected" per file.
json_counts() {
	json_check "$1" >/dev/null || return 1
	python3 - "$1" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
print(" ".join(":".join(str(f[k]) for k in ("file", "status", "rows_read", "rows_loaded", "rows_updated", "rows_skipped", "rows_rejected")) for f in d["files"]))
EOF
}

finish() {
	T_PASS=$(wc -l <"$T_TMP/passed")
	T_FAIL=$(wc -l <"$T_TMP/failed")
	echo "$T_PASS passed, $T_FAIL failed"
	[ "$T_FAIL" = 0 ]
	exit $?
}

# Stops (kill: at once) or starts the test server.  A start waits until the
# server accepts connections (at most 300 s: crash recovery on a busy
# machine takes a while); a failure is a failed check and ends the file.
server() { # start|stop|kill
	local o
	if ! o=$(bash "$ROOT/scripts/pg-local.sh" --dir "$ETL_TEST_PGDIR" --port "$ETL_TEST_PORT" "$1" 2>&1); then
		not_ok "the test server: $1" "$o"
		finish
	fi
	[ "$1" = start ] || return 0
	for _ in $(seq 1 600); do
		psql -X -Atq -d postgres -c "SELECT 1" >/dev/null 2>&1 && return 0
		sleep 0.5
	done
	not_ok "the test server accepts no connections 300 s after its start" "$(psql -X -Atq -d postgres -c "SELECT 1" 2>&1)"
	finish
}
