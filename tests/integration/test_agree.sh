#!/usr/bin/env bash
# `check` against `load`, line for line: a generated corpus of unique-key
# cases (rows identical to the database's, letter case and spaces in event
# names and e-mails, an e-mail and a SKU stored with a leading space, a
# repeat whose first occurrence is invalid, long keys, Unicode look-alikes,
# repeats in a file and across files, two copies of one file, SKUs of sales
# files, --case-variants allow, --date-format) of every keyed kind, each run
# through `check` and then `load` into a fresh database, in every
# --on-conflict mode under DateStyle 'SQL, DMY', and in the default mode under
# 'German' and ISO.  Every line check says the load rejects is one the load
# rejects and the other way round; each file's counts agree; so do the exit
# codes.  Small on purpose: what it proves is agreement, case by case.
. "$(dirname "$0")/../lib.sh"

cd "$T_TMP" || exit 1
tpl=agree_tpl
"$ETL" --db "$(new_db $tpl)" schema >/dev/null || not_ok "schema of the template"
# The database the app's ORM makes (float prices, varchar types, timestamp dates).
new_db agree_orm >/dev/null
sql agree_orm "$(orm_ddl)"
"$ETL" --db "host=$PGHOST port=$PGPORT user=$PGUSER dbname=agree_orm" schema >/dev/null || not_ok "schema of the ORM template"

python3 - "$ETL" "$tpl" >agree.out 2>agree.err <<'EOF'
import csv, datetime, json, os, subprocess, sys

etl, tpl = sys.argv[1], sys.argv[2]
H = "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW"
LONG = "\U0001F389" * 254             # 1,016 bytes, 254 characters
LONG_B = "\U0001F389" * 253 + "\U0001F38A"  # the same but its last character
NFC, NFD = "Caf\u00e9", "Cafe\u0301"

BASE = f"""
INSERT INTO products (sku, name, price, stock) VALUES
  ('BRD-001', 'Roti', 15000, 10), ('TEA-001', 'Teh', 5000, 3), (' SPC-001', 'Spasi', 100, 1);
INSERT INTO users (email, full_name, password_hash) VALUES
  ('kasir1@toko.example', 'Kasir Satu', '{H}'), (' kasir3@toko.example', 'Kasir Tiga', '{H}');
INSERT INTO events (event_name, event_date, type) VALUES
  ('Nyepi', '2024-03-11', 'holiday'), ('{LONG}', '2024-01-01', 'promotion');
"""

P = "sku,name,price,stock\n"
U = "email,full_name,password_hash\n"
E = "event_name,event_date,type\n"
S = "sku,quantity_sold,transaction_date\n"

def users(*rows):
    return U + "".join(f"{e},{n},{h}\n" for e, n, h in rows)

CASES = [
    ("identical rows", [], [
        ("p.csv", P + "BRD-001,Roti,15000,10\n"),
        ("u.csv", users(("kasir1@toko.example", "Kasir Satu", H), ("KASIR1@toko.example", "Kasir Satu", H))),
        ("e.csv", E + "Nyepi,2024-03-11,holiday\n"),
    ]),
    ("identical in another case", [], [
        ("u.csv", users(("KASIR1@toko.example", "Kasir Satu", H))),
    ]),
    ("other values", [], [
        ("p.csv", P + "BRD-001,Roti Besar,16000,10\nTEA-001,Teh,5000,3\n"),
        ("u.csv", users(("kasir1@toko.example", "Kasir 1", H))),
        ("e.csv", E + "Nyepi,2024-03-11,promotion\n"),
    ]),
    ("event names in another case or with spaces", [], [
        ("e.csv", E + "Promo,2024-05-01,promotion\nPROMO,2024-05-01,promotion\n"
                      "\" Promo \",2024-05-01,promotion\nNYEPI,2024-03-11,holiday\n"
                      "nyepi,2024-03-12,holiday\n"),
    ]),
    ("stored with a leading space", [], [
        ("u.csv", users(("kasir3@toko.example", "Kasir 3", H))),
        ("p.csv", P + "SPC-001,Spasi,100,1\n"),
    ]),
    ("a repeat whose first occurrence is invalid", [], [
        ("p.csv", P + "DUP-1,A,x,1\nDUP-1,B,2,1\nDUP-1,C,3,1\n"),
        ("u.csv", users(("dup@toko.example", "Dup", "not-a-hash"), ("dup@toko.example", "Dup", H))),
        ("e.csv", E + "Fest,2024-06-01,no-such-type\nFest,2024-06-01,holiday\n"),
    ]),
    ("the first occurrence invalid in another file", [], [
        ("a.csv", P + "XF-1,A,bad,1\n"),
        ("b.csv", P + "XF-1,B,3,1\n"),
    ]),
    ("long keys", [], [
        ("e.csv", E + f"{LONG},2024-01-02,promotion\n{LONG},2024-01-03,promotion\n"
                      f"{LONG},2024-01-01,promotion\n{LONG_B},2024-01-02,promotion\n"),
    ]),
    ("two copies of one file", [], [
        ("p.csv", P + "CP-1,A,1,1\nCP-1,B,1,1\nBRD-001,Roti,1,1\n"),
        ("copy.csv", P + "CP-1,A,1,1\nCP-1,B,1,1\nBRD-001,Roti,1,1\n"),
        ("crlf.csv", (P + "CP-1,A,1,1\nCP-1,B,1,1\nBRD-001,Roti,1,1\n").replace("\n", "\r\n")),
    ]),
    ("repeats across files", [], [
        ("a.csv", P + "CF-1,A,1,1\nCF-2,A,1,1\n"),
        ("b.csv", P + "CF-1,B,2,1\nCF-2,A,1,1\ncf-1,C,3,1\n"),
        ("ua.csv", users(("new@toko.example", "New", H))),
        ("ub.csv", users(("NEW@toko.example", "Other", H), ("new@toko.example", "New", H))),
    ]),
    ("sales and their SKUs", [], [
        ("p.csv", P + "SL-1,Baru,1000,1\nSL-BAD,x,bad,1\n"),
        ("s.csv", S + "SL-1,1,2024-01-01\nBRD-001,2,2024-01-01\nGHOST,1,2024-01-01\n"
                      "SL-BAD,1,2024-01-02\nbrd-001,1,2024-01-02\n"),
    ]),
    ("repeats in a file", [], [
        ("p.csv", P + "RP-1,A,1,1\nRP-1,A,1,1\nRP-1,B,2,1\nrp-1,C,2,1\n"),
        ("e.csv", E + "Ev,2024-07-01,holiday\nEv,2024-07-01,holiday\n"),
        ("u.csv", users(("rep@toko.example", "R", H), ("Rep@Toko.example", "R2", H))),
    ]),
    ("Unicode look-alikes", [], [
        ("e.csv", E + f"{NFC},2024-08-01,promotion\n{NFD},2024-08-01,promotion\n"
                      "\u041a\u0430fe,2024-08-01,promotion\nKafe,2024-08-01,promotion\n"),
    ]),
    ("case variants allowed", ["--case-variants", "allow"], [
        ("e.csv", E + "Promo,2024-05-01,promotion\nPROMO,2024-05-01,promotion\n"
                      "NYEPI,2024-03-11,holiday\n"),
        ("p.csv", P + "tea-001,Teh,1,1\nABC-1,A,1,1\nabc-1,A,1,1\n"),
    ]),
    ("day-first dates in the file", ["--date-format", "DD/MM/YYYY"], [
        ("e.csv", E + "Nyepi,11/03/2024,holiday\nNyepi,03/11/2024,holiday\n"),
    ]),
    ("a file the load stops (--max-rejects)", ["--max-rejects", "1"], [
        ("p.csv", P + "A-1,A,x,1\nA-2,A,x,1\nA-3,A,1,1\n"),
        ("s.csv", S + "A-3,1,2024-01-01\nBRD-001,1,2024-01-01\n"),
    ]),
    ("an update with nothing to set", [], [
        ("p.csv", "sku,name,price\nBRD-001,Roti,15000\nNK-1,N,1\n"),
    ]),
    ("a column an earlier file does not have", [], [
        ("a.csv", P.replace(",stock", "") + "BRD-001,Roti Besar,15000\nNEW-1,Baru,100\nNEW-2,Dua,100\n"),
        ("b.csv", P + "BRD-001,Roti Besar,15000,10\nNEW-1,Baru,100,0\nNEW-2,Dua,100,5\n"),
        ("ua.csv", users(("fresh@toko.example", "Fresh", H))),
        ("ub.csv", "email,full_name,password_hash,is_active\n"
                   f"fresh@toko.example,Fresh,{H},true\nkasir1@toko.example,Kasir Satu,{H},false\n"),
    ]),
    ("control characters in stored keys", [], [
        ("e.csv", E + "\"VT\x0bkey\",2024-01-01,holiday\n\"FF\x0ckey\",2024-01-01,holiday\n"
                      "FFFKEY,2024-01-01,holiday\n\"Back\\slash\",2024-01-01,holiday\n"),
    ], {"sql": "INSERT INTO events (event_name, event_date, type, description) VALUES "
               "(E'VT\\x0bkey', '2024-01-01', 'holiday', NULL), "
               "(E'FF\\x0ckey', '2024-01-01', 'holiday', E'x\\by'), "
               "(E'Back\\\\slash', '2024-01-01', 'holiday', E'd\\x0bx')"}),
    ("the database's time zone decides 'tomorrow'", [], [
        ("s.csv", S + "".join(f"BRD-001,1,{datetime.date.today() + datetime.timedelta(days=d)}\n"
                              for d in (1, 2, 3))),
    ], {"setting": "TimeZone = 'Pacific/Kiritimati'"}),
    ("the ORM's tables: times of day, letter case, float prices", [], [
        ("e.csv", E + "Sale,2024-05-01,promotion\nNyepi,2024-03-11,holiday\n"),
        ("p.csv", "sku,name,category,price,stock\nBRD-001,Roti,Roti,15000,10\nTEA-001,Teh,Minuman,5000,3\n"),
    ], {"orm": True, "sql": "INSERT INTO events (event_name, event_date, type, include_in_prediction, created_at) "
               "VALUES ('Sale', '2024-05-01 10:00', 'promotion', true, now()), "
               "('Nyepi', '2024-03-11', 'Holiday', true, now()); "
               "INSERT INTO products (sku, name, category, price, stock, created_at) VALUES "
               "('BRD-001', 'Roti', 'Roti', 15000.004, 10, now()), ('TEA-001', 'Teh', 'Minuman', 5000, 3, now())"}),
]

RUNS = [(m, "SQL, DMY") for m in ("error", "skip", "update")] + [
    ("error", "German"), ("error", "ISO, MDY")]

def psql(db, sqltext):
    subprocess.run(["psql", "-X", "-Atq", "-v", "ON_ERROR_STOP=1", "-d", db, "-c", sqltext],
                   check=True, stdout=subprocess.DEVNULL)

def conninfo(db):
    return f"host={os.environ['PGHOST']} port={os.environ['PGPORT']} user={os.environ['PGUSER']} dbname={db}"

disagree = 0
n = 0
for ci, case in enumerate(CASES):
    name, opts, files = case[:3]
    extra = case[3] if len(case) > 3 else {}
    d = f"case{ci}"
    os.makedirs(d, exist_ok=True)
    for fname, text in files:
        with open(os.path.join(d, fname), "w", newline="") as f:
            f.write(text)
    for mode, style in RUNS:
        n += 1
        db = f"agree_{ci}_{mode}_{style.replace(', ', '_').lower()}"
        subprocess.run(["dropdb", "--if-exists", db], check=True, stderr=subprocess.DEVNULL)
        subprocess.run(["createdb", "-T", "agree_orm" if extra.get("orm") else tpl, db], check=True)
        if not extra.get("orm"):
            psql(db, BASE)
        if "sql" in extra:
            psql(db, extra["sql"])
        if "setting" in extra:
            psql("postgres", f"ALTER DATABASE {db} SET {extra['setting']}")
        psql("postgres", f"ALTER DATABASE {db} SET DateStyle = '{style}'")
        names = [fn for fn, _ in files]
        args = ["--on-conflict", mode] + opts
        c = subprocess.run([etl, "--db", conninfo(db), "check", "--format", "json"] + args + names,
                           cwd=d, capture_output=True, text=True)
        rej = os.path.join(os.getcwd(), d, f"rej-{mode}-{style[:3]}")
        summ = rej + ".json"
        os.makedirs(rej, exist_ok=True)
        l = subprocess.run([etl, "--db", conninfo(db), "--quiet", "load", "--reject-dir", rej,
                            "--summary-json", summ] + args + names,
                           cwd=d, capture_output=True, text=True)
        what = f"{name} [--on-conflict {mode}, DateStyle {style}]"
        problems = []
        try:
            cj = json.loads(c.stdout)
        except ValueError:
            problems.append(f"check printed no JSON (exit {c.returncode}): {c.stderr.strip()[:300]}")
            cj = None
        lj = json.load(open(summ)) if os.path.exists(summ) else None
        if lj is None:
            problems.append(f"load wrote no summary (exit {l.returncode}): {l.stderr.strip()[:300]}")
        if cj is not None and lj is not None:
            cfiles = {f["file"]: f for f in cj["files"]}
            for lf in lj["files"]:
                fn = os.path.basename(lf["file"])
                cf = cfiles.get(fn)
                if cf is None:
                    problems.append(f"{fn}: check says nothing of it")
                    continue
                got = (cf["insert"], cf["update"], cf["unchanged"] + cf["skip"], cf["reject"])
                want = (lf["rows_loaded"], lf["rows_updated"], lf["rows_skipped"], lf["rows_rejected"])
                if got != want:
                    problems.append(f"{fn}: check counts inserted/updated/skipped/rejected {got}, load {want}")
                said = sorted(x["line"] for x in cj["lines"] if x["file"] == fn and x["outcome"] == "reject" and x["line"] > 0)
                done = []
                if lf["status"] != "skipped" and lf.get("reject_file"):
                    with open(lf["reject_file"], newline="") as rf:
                        done = sorted(int(r["reject_line"]) for r in csv.DictReader(rf))
                if lf["status"] != "skipped" and said != done:
                    problems.append(f"{fn}: check says lines {said} are rejected, load rejected {done}")
            want_rc = 1 if lj["totals"]["rows_rejected"] > 0 else 0
            stopped = any(f["status"] == "stopped" for f in lj["files"])
            if stopped != any(f.get("stopped") for f in cj["files"]):
                problems.append("check and load disagree on whether a file stops")
            if c.returncode != want_rc or l.returncode != (5 if stopped else want_rc):
                problems.append(f"exit codes: check {c.returncode}, load {l.returncode}, rejects {lj['totals']['rows_rejected']}")
        if problems:
            disagree += 1
            print(f"DISAGREE {what}:")
            for p in problems:
                print("   " + p)
        else:
            print(f"AGREE {what}")
        subprocess.run(["dropdb", db], check=True)
print(f"{n} runs, {disagree} disagree")
EOF
prc=$?
cat agree.out
[ -s agree.err ] && { echo "driver's stderr:"; head -n 20 agree.err; }
if [ "$prc" = 0 ]; then ok "the differential driver ran to its end"; else
	not_ok "the differential driver ran to its end" "exit $prc; its last lines:" "$(tail -n 5 agree.out)" "$(tail -n 12 agree.err)"
fi
if printf '%s' "$(tail -n 1 agree.out)" | grep -qE "^[0-9]+ runs, 0 disagree$"; then
	ok "check and load agree on every line of every run"
else
	not_ok "check and load agree on every line of every run" "$(grep -A 6 '^DISAGREE' agree.out | head -n 12)"
fi
expect_eq "$(grep -c '^AGREE ' agree.out)" "105" "all 21 cases ran in 5 ways each"
dropdb --if-exists $tpl
dropdb --if-exists agree_orm

# What check says, in its words: the case of two copies and a run whose
# database has the day first.
d=case8
db=$(new_db agree_words)
"$ETL" --db "$db" schema >/dev/null
sql agree_words "INSERT INTO products (sku, name, price, stock) VALUES ('BRD-001', 'Roti', 15000, 10) "
etl --db "$db" check "$d/p.csv" "$d/copy.csv"
expect_rc 1 "a load would reject something: check exits 1"
expect_match "$out" "^$d/p\.csv:3: will be rejected: sku: \"CP-1\" repeats the key of line 2" "an in-file repeat, in the load's words"
expect_match "$out" "^$d/p\.csv:4: will be rejected: sku: \"BRD-001\" already exists in the database" "a key the database has, in error mode"
expect_match "$out" "^$d/copy\.csv: will be skipped: the whole file: the same content as $d/p\.csv" "the second copy will be skipped as the same content"
etl --db "$db" check --on-conflict skip "$d/p.csv"
expect_match "$out" "^$d/p\.csv:4: will be skipped: sku: \"BRD-001\" exists in the database; --on-conflict skip" "skip mode says skipped"
etl --db "$db" check --on-conflict update "$d/p.csv"
expect_match "$out" "^$d/p\.csv:4: will update the row: sku: \"BRD-001\": price: 1\.00 in the file, 15000(\.00)? in the database" "update mode says what changes"
expect_match "$out" "^total: 1 inserted, 1 updated, 1 rejected$" "with the totals"

finish
