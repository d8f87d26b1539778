#!/usr/bin/env bash
# Secrets and access: with the database password given through DB_PASSWORD,
# a .env file, a URI in --db and DATABASE_URL, every command (with --verbose,
# and failing ones too) leaves it out of every output, every file it writes,
# every row it records and the server's log; a user's plaintext password is
# stored only as a hash and never written anywhere either.  A role with only
# SELECT on the tables can run `check`.
. "$(dirname "$0")/../lib.sh"

cd "$T_TMP" || exit 1
pw='Db-Secret-Pw-7q1'
upw='User-Plain-Secret-3k8'
new_db etl_sec >/dev/null
sql postgres "DROP ROLE IF EXISTS etl_sec; CREATE ROLE etl_sec LOGIN PASSWORD '$pw'; ALTER DATABASE etl_sec OWNER TO etl_sec" >/dev/null
sql etl_sec "ALTER SCHEMA public OWNER TO etl_sec" >/dev/null
clean_env=(env -u PGHOST -u PGPORT -u PGUSER -u PGDATABASE -u PGPASSWORD -u DATABASE_URL
	-u DB_HOST -u DB_PORT -u DB_NAME -u DB_USER -u DB_PASSWORD)

printf 'sku,name,price\nP-1,One,1.00\nP-2,Two,2.00\n' >products.csv
printf 'sku,quantity_sold,transaction_date\nP-1,1,2024-01-01\nP-2,2,2024-01-02\nNOPE,1,2024-01-03\n' >sales.csv
printf 'email,full_name,password\nu1@example.com,User One,%s\nnot-an-email,User Two,%s\n' "$upw" "$upw" >users.csv
gen_args=(generate --out gen --products 5 --days 3)
mkdir -p rej

all=allout.txt
: >"$all"
# every ARGS...: runs one command every way the password can be given, with
# --verbose, and keeps all it printed.
every() {
	local want=$1
	shift
	local how
	for how in env dotenv uri url; do
		rm -f .env
		case "$how" in
		env) run "${clean_env[@]}" DB_HOST=127.0.0.1 DB_PORT="$PGPORT" DB_NAME=etl_sec DB_USER=etl_sec DB_PASSWORD="$pw" "$ETL" --verbose "$@" ;;
		dotenv)
			printf 'DB_HOST=127.0.0.1\nDB_PORT=%s\nDB_NAME=etl_sec\nDB_USER=etl_sec\nDB_PASSWORD=%s\n' "$PGPORT" "$pw" >.env
			run "${clean_env[@]}" "$ETL" --verbose "$@" ;;
		uri) run "${clean_env[@]}" "$ETL" --verbose --db "postgresql://etl_sec:$pw@127.0.0.1:$PGPORT/etl_sec" "$@" ;;
		url) run "${clean_env[@]}" DATABASE_URL="postgresql://etl_sec:$pw@127.0.0.1:$PGPORT/etl_sec?application_name=x" "$ETL" --verbose "$@" ;;
		esac
		printf '%s\n%s\n' "$out" "$err" >>"$all"
		case " $want " in *" $rc "*) ok "$* ($how): exit $rc" ;; *) not_ok "$* ($how): exit one of $want" "exit $rc" ;; esac
	done
}

every "0" schema
every "0" schema --dry-run
every "0 1" load --reject-dir rej --summary-json load.json products.csv sales.csv users.csv
every "0" load --reject-dir rej products.csv
every "1" load --force --on-conflict skip --dry-run --reject-dir rej sales.csv users.csv
every "0 1" check products.csv sales.csv users.csv
every "0" history
every "0" history --json
every "0" "${gen_args[@]}"
every "0" seed --data gen
every "2" seed
every "2" load --no-such-option
# Failing ones: a database that does not exist, a file that does not.
rm -f .env
run "${clean_env[@]}" "$ETL" --verbose --db "postgresql://etl_sec:$pw@127.0.0.1:$PGPORT/no_such_db" load sales.csv
printf '%s\n%s\n' "$out" "$err" >>"$all"
expect_rc 4 "a missing database exits 4"
run "${clean_env[@]}" "$ETL" --verbose --db "postgresql://etl_sec:wrong-$pw@127.0.0.1:$PGPORT/etl_sec" history
printf '%s\n%s\n' "$out" "$err" >>"$all"
expect_rc 4 "a wrong password exits 4"
run "${clean_env[@]}" "$ETL" --verbose --db "postgresql://etl_sec:$pw@127.0.0.1:1/etl_sec?connect_timeout=2" load sales.csv
printf '%s\n%s\n' "$out" "$err" >>"$all"
expect_rc 4 "a refused connection exits 4"
rm -f .env

# Connection strings libpq cannot parse: its message quotes them whole.
# Every way one reaches the tool, for a load and for the other commands.
bad=0
badout=badout.txt
: >"$badout"
for spec in "postgres://etl_sec:$pw@[::1:$PGPORT/etl_sec" "postgresql://etl_sec:$pw@[::1/etl_sec?x=1" \
	"postgresql://etl_sec:$pw@127.0.0.1:99999999/etl_sec" "postgresql:///etl_sec?password=$pw&host=[::1" \
	"host=127.0.0.1 password=$pw dbname='etl_sec" "host=127.0.0.1 password='$pw' port=nope dbname=etl_sec" \
	"host=127.0.0.1 password = '$pw x' dbname=etl_sec port=x" \
	"postgresql://etl_sec:pa%zz$pw@127.0.0.1:$PGPORT/etl_sec" "postgresql://etl_sec:$pw/x$pw@127.0.0.1:$PGPORT/etl_sec" \
	"postgresql:///etl_sec?host=127.0.0.1&password=pa%zz$pw" "postgresql://etl_sec:$pw?x@[::1/etl_sec"; do
	for how in db url dotenv; do
		rm -f .env
		for cmd in "load sales.csv" "schema" "history" "check sales.csv" "undo 1 --yes" "seed --data gen"; do
			case "$how" in
			db) run "${clean_env[@]}" "$ETL" --verbose --db "$spec" $cmd ;;
			url) run "${clean_env[@]}" DATABASE_URL="$spec" "$ETL" --verbose $cmd ;;
			dotenv)
				printf 'DATABASE_URL=%s\n' "$spec" >.env
				run "${clean_env[@]}" "$ETL" --verbose $cmd ;;
			esac
			printf '%s\n%s\n' "$out" "$err" >>"$badout"
			case "$rc:$cmd" in 4:* | [01]:check*) ;; *) bad=$((bad + 1)); echo "# $how $cmd: exit $rc" ;; esac
		done
	done
done
rm -f .env
expect_eq "$bad" 0 "every unparseable connection string fails as a database error (exit 4)"
expect_match "$(cat "$badout")" "IPv6 host address in URI: \"postgres://etl_sec:\*\*\*@\[::1:" "libpq's message is kept, the password masked"
expect_match "$(cat "$badout")" "(unterminated quoted string|invalid (integer|port))" "and so are its other parse errors"
expect_no_match "$(cat "$badout")" "$pw" "no message of an unparseable connection string contains the password"
expect_match "$(cat "$badout")" "invalid percent-encoded token: \"\*\*\*\"" \
	"a password libpq quotes alone (a bad percent-encoding) is masked by what it is"
cat "$badout" >>"$all"

expect_match "$(cat "$all")" "sql [0-9.]+ ms PGRES_COMMAND_OK: " "--verbose printed the statements (the search below is not empty)"
expect_match "$(cat "$all")" "connected to database \"etl_sec\" as user \"etl_sec\" on host 127\.0\.0\.1" "--verbose said where it connected"
expect_no_match "$(cat "$all")" "$pw" "no output of any command contains the database password"
expect_no_match "$(cat "$all")" "$upw" "no output contains a user's plaintext password"
expect_eq "$(grep -rlF -e "$pw" -e "$upw" . | grep -v "^./users.csv$\|^./allout.txt$" | tr '\n' ' ')" "" \
	"no file written (reject files, JSON summaries, generated data) contains either password"
expect_eq "$(grep -cF "$upw" rej/users.csv.rejects.csv)" 0 "the rejected user's plaintext password is left out of the reject file"
expect_eq "$(sql etl_sec "SELECT count(*) FROM etl_loads l WHERE l::text LIKE '%$pw%' OR l::text LIKE '%$upw%'")" 0 \
	"no load history row contains either password"
expect_eq "$(sql etl_sec "SELECT count(*) FROM etl_schema_log l WHERE l::text LIKE '%$pw%'")" 0 "no schema log row contains it"
expect_eq "$(sql etl_sec "SELECT count(*) FROM users u WHERE u::text LIKE '%$upw%'")" 0 "the users table holds no plaintext password"
expect_match "$(sql etl_sec "SELECT password_hash FROM users WHERE email = 'u1@example.com'")" '^pbkdf2:sha256:600000\$' \
	"the user's password is stored as a werkzeug hash"
expect_eq "$(grep -cF -e "$pw" -e "$upw" "$ETL_TEST_PGDIR/server.log")" 0 "the server's log does not contain either password"
expect_eq "$(stat -c %a rej/sales.csv.rejects.csv rej/users.csv.rejects.csv | sort -u)" 600 "reject files are mode 0600"

# --- check needs only SELECT -----------------------------------------------------------
sql etl_sec "DROP ROLE IF EXISTS etl_sec_ro; CREATE ROLE etl_sec_ro LOGIN PASSWORD 'ro-pw';
  GRANT SELECT ON ALL TABLES IN SCHEMA public TO etl_sec_ro" >/dev/null
ro="host=127.0.0.1 port=$PGPORT dbname=etl_sec user=etl_sec_ro password=ro-pw"
printf 'sku,name,price\nP-1,One again,1.00\nP-9,Nine,9.00\n' >more.csv
etl --db "$ro" check --format json more.csv sales.csv
expect_rc 1 "check with a SELECT-only role runs (exit 1: a conflict with the database)"
expect_match "$out" "P-1" "it reports the SKU that already exists"
etl --db "$ro" load --dry-run --force more.csv
expect_rc 0 "a dry run with a SELECT-only role runs too"
etl --db "$ro" load more.csv
expect_rc 4 "a real load with a SELECT-only role exits 4"
expect_match "$err" "permission denied" "and says why"

# --- the password given with --db is not in the process's arguments (ps) ------------
for spec in "postgresql://etl_sec:$pw@127.0.0.1:$PGPORT/etl_sec" "host=127.0.0.1 port=$PGPORT dbname=etl_sec user=etl_sec password='$pw'" \
	"host=127.0.0.1 password=a\\ $pw" "postgresql://etl_sec:$pw?x@127.0.0.1/etl_sec" "postgresql:///etl_sec?pass%77ord=$pw&host=127.0.0.1"; do
	rm -f fifo.csv
	mkfifo fifo.csv
	"${clean_env[@]}" "$ETL" --db "$spec" load --dry-run fifo.csv >fifo.out 2>&1 &
	loader=$!
	args=""
	# Until the loader itself runs (not the shell's fork, not env) and has read its options (it
	# then blocks on the pipe): 4 s at most.
	for _ in $(seq 1 200); do
		args=$(tr '\0' ' ' <"/proc/$loader/cmdline" 2>/dev/null)
		[ "${args#"$ETL "}" != "$args" ] && [ "${args#*"$pw"}" = "$args" ] && break
		sleep 0.02
	done
	printf 'sku,name,price\nF-1,Fifo,1\n' >fifo.csv # the load, blocked on the pipe, goes on
	wait "$loader"
	expect_match "$args" "--db " "ps shows the loader's arguments"
	expect_no_match "$args" "$pw" "but not the password given with --db"
done

# --- plaintext passwords of rows whose fields do not line up --------------------------
# Passwords with the characters a CSV or a message treats specially.
p1='Pw,with "quote'\''s' p2='Pw;semi=colon' p3='Pw\back/slash@x'
{
	printf 'email,full_name,password\n'
	printf 'one@toko.example,Kasir, Satu,%s\n' "$p1"          # an unquoted comma, a stray quote
	printf 'two@toko.example,%s\n' "$p2"                      # a short row
	printf 'three@toko.example,"Kasir Tiga,%s\n' "$p3"         # a quote never closed
} >ragged.csv
etl --db "$ro" load --dry-run --summary-json ragged.json ragged.csv
expect_rc 1 "rows whose fields do not line up are rejected"
rej=$(cat ragged.csv.rejects.csv 2>/dev/null)
expect_eq "$(printf '%s\n' "$rej" | wc -l)" "4" "all three are in the reject file"
for p in "$p1" "$p2" "$p3" "Pw"; do
	expect_no_match "$rej$out$err$(cat ragged.json)" "$(printf '%s' "$p" | sed 's/[][\\.*^$/]/\\&/g')" \
		"no part of a password ($p) in the reject file, the messages or the summary"
done
expect_match "$rej" "^,,,3,\"the row has 2 fields, the header 3; its fields are not written, because one may be a password: correct line 3 of the file itself\"$" \
	"the row's fields are left empty, and its reason says why and where to correct it"
# Lined up but shifted (a comma in the name moves the password into
# is_active), ignored by --map or --columns: no value anywhere either.
printf 'email,full_name,password,is_active\nbob@toko.example,Bob,Smith,%s\n' "$p2" >shifted.csv
hash='$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW'
printf 'email,full_name,password_hash,password,is_active\nbad-email,A,%s,%s,true\n' "$hash" "$p3" >ignored.csv
printf 'bad-email,A,%s,%s,true\n' "$hash" "$p1" >nohead.csv
etl --db "$ro" load --dry-run shifted.csv
run_out="$out$err$(cat shifted.csv.rejects.csv 2>/dev/null)"
etl --db "$ro" load --dry-run --map password=- ignored.csv
run_out+="$out$err$(cat ignored.csv.rejects.csv 2>/dev/null)"
etl --db "$ro" load --dry-run --columns email,full_name,password_hash,-,is_active users=nohead.csv
run_out+="$out$err$(cat nohead.csv.rejects.csv 2>/dev/null)"
for p in "$p1" "$p2" "$p3"; do
	expect_no_match "$run_out" "$(printf '%s' "$p" | sed 's/[][\\.*^$/]/\\&/g')" \
		"a password shifted into another column, or in a column ignored by --map or --columns, is written nowhere"
done
expect_match "$run_out" "is_active: \(a value not shown: the file has passwords\) is not a boolean" \
	"the reason names the column, not the value"
finish
