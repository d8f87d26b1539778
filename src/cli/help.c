/*
 * help.c — the --help text of the program and of each command.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

#ifndef ETL_VERSION
#define ETL_VERSION "dev"
#endif

static const char help_text[] =
        "siprems-etl " ETL_VERSION " — bulk loader and seeder for the Siprems PostgreSQL database\n"
        "\n"
        "Usage: siprems-etl [--db CONNINFO] [--quiet] [--verbose] [--no-progress] COMMAND "
        "[OPTIONS] [ARGS]\n"
        "\n"
        "Commands:\n"
        "  schema   [--dry-run]                 ensure types, tables and indexes exist "
        "(idempotent)\n"
        "  load     [OPTIONS] [KIND=]FILE...    validate and load CSV files (plain or gzip; '-' is "
        "stdin)\n"
        "  check    [OPTIONS] [KIND=]FILE...    what a load would do with each row; writes "
        "nothing\n"
        "  seed     [--as-of DATE] [--seed N] [--reset --yes] [--data DIR]\n"
        "                                       the schema, the shop's history up to now\n"
        "                                       (kept current by every run), the admin user\n"
        "  generate --out DIR [--products N] [--days N] [--seed N] [--end DATE|today]\n"
        "                                       write a realistic synthetic data set\n"
        "  history  [--limit N] [--json]        list past loads recorded in the database\n"
        "  undo     LOAD_ID [--yes] [--keep-changed|--overwrite]\n"
        "                                       take a load back out: its rows deleted, the rows\n"
        "                                       it updated given their earlier values back\n"
        "\n"
        "Global options (before or after COMMAND):\n"
        "  --db CONNINFO    a libpq conninfo string (\"host=... dbname=...\") or a\n"
        "                   postgresql:// URI\n"
        "  --quiet          print only errors and the closing summary\n"
        "  --no-progress    no progress line, even on a terminal\n"
        "  --verbose        also print where it connects and every SQL statement it sends,\n"
        "                   with its duration (never a password)\n"
        "  -h, --help       this text; 'siprems-etl COMMAND --help' for one command\n"
        "  -V, --version    print the version\n"
        "\n"
        "load options:\n"
        "  --batch-rows N          rows per committed batch (each batch one transaction)\n"
        "  --on-conflict MODE      error|skip|update for rows whose unique key exists\n"
        "                          (products: sku; users: email; events: event_name+event_date)\n"
        "  --max-rejects N|none    stop the file past N rejected rows (default 100000)\n"
        "  --max-key-memory N|none the memory its distinct keys may take (default 160M)\n"
        "  --reject-dir DIR        where <input name>.rejects.csv files go (default: .)\n"
        "  --dry-run               validate everything, write nothing to the database\n"
        "  --force                 undo every earlier load of the file, then load it anew\n"
        "  --single-transaction    commit each file once, at its end\n"
        "  --summary-json FILE     write the machine-readable summary ('-' for stdout)\n"
        "  --timezone TZ           zone timestamps with an offset are converted to (default:\n"
        "                          the database's TimeZone)\n"
        "  --encoding ENC          utf-8 (default), latin1, windows-1252, utf-16(le|be),\n"
        "                          utf-32(le|be); a BOM picks among the Unicode ones\n"
        "  --delimiter C           field separator (default ',')\n"
        "  --sku-pattern ERE       pattern product SKUs must match\n"
        "  --allow-future          accept sales dated later than tomorrow\n"
        "  --jobs N                connections loading batches side by side (default 2)\n"
        "  --archive DIR           move each file loaded with nothing rejected into DIR\n"
        "  --case-variants MODE    reject (default) or allow a key that differs from another\n"
        "                          only in letter case or surrounding spaces\n"
        "\n";

/* Its second part (a string literal stays within C's 4095 bytes). */
static const char help_text_more[] =
        "check options:\n"
        "  --format F              text (default), csv or json\n"
        "  --on-conflict, --case-variants, --allow-future   the load's to predict (as for load)\n"
        "  --encoding, --delimiter, --sku-pattern   as for load\n"
        "  --map, --columns, --date-format, --decimal-comma, --currency, --null, --profile\n"
        "                          describe a file, as for load ('load --help')\n"
        "\n"
        "KIND is products, sales, events or users; without KIND= it is recognised from the\n"
        "header.  Files of one run load in dependency order: users, products, events, sales.\n"
        "\n"
        "Connection, in this order: --db, DATABASE_URL, DB_HOST DB_PORT DB_NAME DB_USER\n"
        "DB_PASSWORD (also read from ./.env without overriding the environment), then libpq's\n"
        "defaults (PG* variables, ~/.pgpass, service files).\n"
        "\n"
        "Exit status: 0 done; 1 rows rejected (check: a load would reject some); 2 usage\n"
        "error; 3 input error; 4 database error; 5 stopped (interrupted or --max-rejects), "
        "resumable; 6 stopped\n"
        "by another session's lock (load --lock-timeout), resumable.\n";

static const char schema_help[] =
        "Usage: siprems-etl schema [--dry-run]\n"
        "\n"
        "Ensures the event_type enum, the users, products, transactions and events tables,\n"
        "their constraints and every index of the Siprems database guide, plus siprems-etl's\n"
        "own bookkeeping tables.  Only what is missing is created; an equivalent index under\n"
        "another name counts as present; nothing is dropped or rewritten.  Every change is\n"
        "recorded in etl_schema_log.  An existing table that lacks a needed column or has an\n"
        "incompatible type is reported (exit 4) and nothing is changed.\n"
        "\n"
        "On a Citus coordinator the tables it creates are distributed: transactions by\n"
        "product_id (primary key (transaction_id, product_id)), users, products and events\n"
        "as reference tables; siprems-etl's own stay local.  Existing tables keep their\n"
        "layout.\n"
        "\n"
        "  --dry-run    print the SQL that would run, change nothing; without a reachable\n"
        "               database, print the whole schema\n";

static const char load_help[] =
        "Usage: siprems-etl load [OPTIONS] [KIND=]FILE...\n"
        "\n"
        "Validates CSV files of products, sales, events or users (plain or gzip, '-' for\n"
        "stdin) and loads them with COPY in batched transactions, after ensuring the schema.\n"
        "KIND is products, sales, events or users; without it the kind is recognised from\n"
        "the header.  Files load in dependency order: users, products, events, then sales,\n"
        "so sales may use SKUs that a products file of the same run introduces.  stdin\n"
        "and pipes (<(zcat ...), a FIFO) are copied to a temporary file in TMPDIR first.\n"
        "\n"
        "Every row ends loaded, updated, skipped or rejected.  Rejected rows go to\n"
        "<input name>.rejects.csv (mode 0600): the original header and fields plus\n"
        "reject_line and reject_reason; corrected, it loads as it is.  A name another\n"
        "file's rejects hold (an input of the run with the same base name, another\n"
        "content's load whose rejects are still out) becomes\n"
        "<input name>.LOAD_ID.rejects.csv, and stdin's is stdin.LOAD_ID.rejects.csv: a\n"
        "reject file is never shared, never removed or overwritten by another file's load.\n"
        "\n"
        "Into an empty table a file goes as one COPY in one transaction: the table's\n"
        "indexes (its primary key too, unless another table's foreign key needs it) and\n"
        "foreign keys are dropped and rebuilt at the end, ids come from the table's\n"
        "sequence in one step, and an interrupted load leaves the table empty, so the\n"
        "next run starts over.  Rows the server refuses, or a table siprems-etl cannot\n"
        "lock within 5 s, send the file to the batched path.  With --jobs 2+ and a file\n"
        "of more than a batch, the rows go into a shadow table whose indexes two\n"
        "connections build at once, swapped in at the end (readers are not blocked).\n"
        "When a big file cannot take that way (the table has triggers, views, another\n"
        "owner, ...), the load says why in one line; --verbose also says it for a table\n"
        "that holds rows and for --jobs 1.\n"
        "\n";

/* load's options (one string would pass the length C compilers must take). */
static const char load_options_help[] =
        "  --batch-rows N          rows per committed batch (default 50000)\n"
        "  --on-conflict MODE      error (default): reject a row whose unique key exists in\n"
        "                          the database; skip: keep the database row; update:\n"
        "                          replace its values (only the columns the file has)\n"
        "                          (a plaintext password is hashed, on every core, only\n"
        "                          for a row written: not for one whose key exists)\n"
        "  --max-rejects N|none    stop the file once more than N rows were rejected (exit 5,\n"
        "                          resumable; default 100000: more is the wrong file or the\n"
        "                          wrong options, and bounded by default)\n"
        "  --max-reject-bytes N|none   stop it (exit 5, resumable) once its reject file passes\n"
        "                          N bytes (default 1073741824, 1 GiB)\n"
        "  --max-key-memory N|none  what the distinct keys the run holds (to find repeated\n"
        "                          ones) may take, in bytes or with K, M, G (default 160M;\n"
        "                          past it the file fails, exit 5, and a rerun resumes)\n"
        "  --reject-dir DIR        where reject files go (default: the current directory);\n"
        "                          each is written as .NAME.part, renamed once complete\n"
        "  --dry-run               validate everything, write nothing to the database; SKUs\n"
        "                          and the limits of its tables are checked when one is\n"
        "                          reachable (reject files are still written)\n"
        "  --force                 undo every earlier load of the file (as 'undo' does),\n"
        "                          then load it anew: the table ends as after one clean load\n"
        "  --single-transaction    commit each file once, at its end\n"
        "  --summary-json FILE     write the summary as JSON ('-' for stdout): the counts\n"
        "                          committed, an \"error\" where a file or the run failed;\n"
        "                          its directory is held from the start (missing: exit 2)\n"
        "  --timezone TZ           the load's zone (default: the database's TimeZone): an\n"
        "                          offset becomes its wall clock there (TIMESTAMP) or the\n"
        "                          instant (TIMESTAMPTZ); no offset: kept as written\n"
        "  --encoding ENC          utf-8 (default), latin1, windows-1252, utf-16,\n"
        "                          utf-16le, utf-16be, utf-32, utf-32le, utf-32be; a\n"
        "                          byte-order mark decides among the Unicode ones and is\n"
        "                          skipped; without one, utf-16 and utf-32 are big-endian\n"
        "  --delimiter C           field separator (default ','; '\\t' for tab)\n"
        "  --sku-pattern ERE       pattern product SKUs must match (default\n"
        "                          ^[A-Za-z0-9][A-Za-z0-9._/-]*$)\n"
        "  --allow-future          accept sales dated later than tomorrow\n"
        "  --jobs N                connections loading batches side by side (default 2);\n"
        "                          an empty table's indexes: built on two connections\n"
        "                          (2+, see above), else with N-1 parallel workers\n"
        "  --copy-format F         binary (default, where the column types allow) or text\n"
        "  --case-variants MODE    reject (default) a key (SKU, e-mail, event name) differing\n"
        "                          only in letter case or surrounding spaces from one in the\n"
        "                          database or the file, naming it; or allow it\n"
        "  --archive DIR           then move each file fully in, none rejected, into DIR\n"
        "                          (NAME.1... when NAME is taken); the others stay\n"
        "  --lock-timeout T        the longest wait for another session's lock, per\n"
        "                          transaction (default 60s; ms, s or min; 0: no bound);\n"
        "                          past it the file stops, resumable, naming who held it\n"
        "                          (exit 6).  A batch that is done gives way at once when\n"
        "                          a session waits for its locks and an earlier batch waits\n"
        "                          behind that session.  A wait of 2 s is said (the lock,\n"
        "                          its holder, the bound), and again every 10 s\n"
        "\n";

/* What a rerun does (after the options). */
static const char load_rerun_help[] =
        "A file is known by its kind and a fingerprint of its decoded records, so a gzip,\n"
        "CRLF or re-quoted copy is the same file.  Loading it again does nothing when all\n"
        "its rows are in (exit 0); when an earlier load with the same options rejected\n"
        "rows, it says which load, how many and where they are (exit 1), until its\n"
        "corrected reject file loads with nothing rejected (that run, or a later one: then\n"
        "the file is complete, exit 0, archived with --archive); with other\n"
        "values of --on-conflict, --encoding, --allow-future, --sku-pattern, --timezone,\n"
        "--delimiter or those describing the file, a products, users or events file goes\n"
        "through again (idempotent by key) and a sales file retries only the rows rejected\n"
        "last time.  An interrupted load resumes after its last committed batch, with\n"
        "the options it began with (others are refused, exit 3; undo or --force).  New\n"
        "content under the name of an earlier load: a file that begins with that load's\n"
        "committed rows (an export that grew) goes on after them; other content under the\n"
        "name of an unfinished load is refused (exit 3) until it is undone (or --force),\n"
        "as is the finished export after one whose last record was cut mid-line.\n"
        "A file that grows while it loads stops before its next batch commits (exit 5).\n"
        "--summary-json gives each file's load_id; 'siprems-etl undo LOAD_ID' takes a load\n"
        "back out.\n"
        "\n"
        "Exit status: 0 all rows loaded, updated or skipped; 1 some rejected; 2 usage error;\n"
        "3 input error (nothing of that file loaded); 4 database error; 5 stopped;\n"
        "6 stopped by another session's lock (see --lock-timeout).  5 and 6 resume.\n";

static const char check_help[] =
        "Usage: siprems-etl check [OPTIONS] [KIND=]FILE...\n"
        "\n"
        "Says what `load` with the same options would do with each line, before it runs;\n"
        "writes nothing (a role that may only SELECT can run it).  The files are read in the\n"
        "load's order through the load's own intake, and each row is decided by the load's\n"
        "rule for unique keys (products sku, users email in any letter case, events\n"
        "event_name+event_date; docs/formats.md, \"Unique keys\").  Every line the load would\n"
        "not simply insert is written with its outcome and the load's reason:\n"
        "  FILE:LINE: will be rejected: REASON   an invalid value, a repeat in the file, a key\n"
        "                      differing only in letter case or spaces, a key the table holds\n"
        "                      (--on-conflict error), a SKU no product has\n"
        "  FILE:LINE: will be skipped: REASON    a key the table holds (--on-conflict skip)\n"
        "  FILE:LINE: will update the row: ...   (update) with the columns that change\n"
        "  FILE:LINE: will leave the row unchanged: ...   (update) it holds the values already\n"
        "  FILE: will be skipped: ...            a second copy of a file of the run\n"
        "then each file's counts and the run's.  Without a reachable database it says so and\n"
        "decides what the files alone show (SKUs of sales files are then not judged).  The\n"
        "load history is not read: a file loaded before is skipped by load.\n"
        "\n"
        "  --on-conflict MODE  error (default), skip or update: the load's to predict\n"
        "  --case-variants M   reject (default) or allow, as for load\n"
        "  --allow-future      as for load: sales dated later than tomorrow are valid\n"
        "  --max-rejects N|none  as for load (default 100000): where the load stops a file\n"
        "  --max-key-memory N|none  as for load (default 160M)\n"
        "  --format F          text (default), csv (file,line,kind,key,outcome,reason) or\n"
        "                      json: {\"on_conflict\", \"database_checked\", \"lines\": "
        "[{\"file\",\n"
        "                      \"line\", \"kind\", \"key\", \"outcome\", \"reason\"}], \"files\":\n"
        "                      [{\"file\", \"kind\", \"insert\", \"update\", \"unchanged\", "
        "\"skip\",\n"
        "                      \"reject\", \"same_content_as\", \"error\"}], \"total\": {...}}\n"
        "  --encoding ENC      utf-8 (default), latin1, windows-1252, utf-16(le|be),\n"
        "                      utf-32(le|be); a BOM picks among the Unicode ones\n"
        "  --delimiter C       field separator (default ',')\n"
        "  --sku-pattern ERE   pattern product SKUs must match\n"
        "  --timezone ZONE     as for load (default: the database's TimeZone)\n"
        "\n"
        "Exit status: 0 a load would reject nothing; 1 it would reject some; 2 usage error;\n"
        "3 input error; 4 database error.\n";

static const char seed_help[] =
        "Usage: siprems-etl seed [--as-of DATE|today] [--seed N] [--reset [--yes]]\n"
        "       siprems-etl seed --data DIR [--reset [--yes]]\n"
        "\n"
        "Ensures the schema, loads the history of a small Indonesian shop as of a day, and\n"
        "creates the admin user.  As of today (the default; today in the database's\n"
        "TimeZone): 40 products, staff users, two years of daily sales up to now (today up to\n"
        "the start of the current hour), and the events from the first sales year through\n"
        "the year after today: national holidays (official dates for 2023-2026, computed for\n"
        "every other year), Ramadan, school holidays, promotions.  The same --seed and day\n"
        "give the same rows.\n"
        "\n"
        "Kept current: on a database it seeded before, seed adds exactly the days since the\n"
        "day it was seeded as of (the rows a fresh seed would hold for them) and the events\n"
        "of the new years; the same day again changes nothing and says so; a seed that was\n"
        "interrupted is finished.  A database holding rows seed did not write is left alone\n"
        "(exit 2): --reset --yes seeds it anew.  The admin user is SIPREMS_ADMIN_EMAIL\n"
        "(default admin@siprems.local) with the password of SIPREMS_ADMIN_PASSWORD, or a\n"
        "generated one printed once.\n"
        "\n"
        "  --as-of DATE  the day the history ends (default today; a past day ends at its\n"
        "                midnight, today at the start of the current hour)\n"
        "  --seed N      random seed of the data set (default 42; a seeded database keeps\n"
        "                its own)\n"
        "  --data DIR    load the .csv and .csv.gz files of DIR instead, as they are\n"
        "  --reset       empty users, products, transactions and events (ids restart), forget\n"
        "                their loads in the history (the reset itself is recorded), then seed\n"
        "                again; asks on a terminal, needs --yes otherwise\n"
        "  --yes         confirm --reset without asking\n";

static const char generate_help[] =
        "Usage: siprems-etl generate --out DIR [--products N] [--days N] [--seed N]\n"
        "                            [--end YYYY-MM-DD|today]\n"
        "\n"
        "Writes products.csv.gz, sales.csv.gz, events.csv.gz and users.csv.gz for a small\n"
        "Indonesian shop: rupiah prices, SKUs like BRD-001, weekend peaks, yearly\n"
        "seasonality, promotions with uplift, spikes before holidays and Lebaran, seasonal\n"
        "and newly introduced products, several sales a day per product at shop hours;\n"
        "the national holidays of every year covered and the next (official dates for\n"
        "2023-2026, computed for other years), Ramadan, school holidays, promotions.  The\n"
        "same options write byte-identical files, and a day's sales are the same whatever\n"
        "range holds it.\n"
        "\n"
        "  --out DIR        where the files go (created when missing)\n"
        "  --products N     products (default 40)\n"
        "  --days N         days of sales (default 731)\n"
        "  --end DATE       the last day of sales (default 2025-12-31); 'today' ends the\n"
        "                   sales now, in this machine's time zone\n"
        "  --seed N         random seed (default 42)\n";

static const char history_help[] =
        "Usage: siprems-etl history [--limit N] [--json]\n"
        "\n"
        "Lists the loads recorded in etl_loads, newest first: file, kind, status (running,\n"
        "loaded, partial, stopped, failed, interrupted, undone, or reset), the counts, the\n"
        "duration and the number of attempts (a resumed load counts one more).  A running\n"
        "load whose loader is gone (killed, its connection or server lost) is marked\n"
        "interrupted, with the reason, when history or a later run sees it; nothing else is\n"
        "written.\n"
        "\n"
        "  --limit N    the newest N loads (default 20)\n"
        "  --json       a JSON array instead of the table\n";

static const char undo_help[] =
        "Usage: siprems-etl undo LOAD_ID [--yes] [--keep-changed | --overwrite]\n"
        "\n"
        "Takes load LOAD_ID (the load column of 'siprems-etl history') back out, in one\n"
        "transaction: the rows it inserted are deleted (found by the id ranges it reserved\n"
        "from the table's sequence, never by guessing), the rows it changed with\n"
        "--on-conflict update get the values they had before, its rejects are forgotten, and\n"
        "the history marks it undone, so that its file may load again.  Works for loads in\n"
        "batches and into an empty table, finished or interrupted.  It refuses, changing\n"
        "nothing, while the load runs, when rows of another table reference rows it\n"
        "inserted (naming how many), when a later load changed its rows, and for loads whose\n"
        "ids were not recorded.  A row the load updated that changed since (the app sold\n"
        "stock, set a new price: its values are not those the load gave it) is never\n"
        "overwritten unasked, nor is a row it inserted that changed since (an UPDATE made\n"
        "a new version of it) deleted: undo refuses, naming the rows, unless told which\n"
        "way.  On Citus too (each row version named with its shard).\n"
        "\n"
        "  -y, --yes         do not ask (needed when stdin is not a terminal)\n"
        "  --keep-changed    leave the rows changed since as they are, undo the rest\n"
        "  --overwrite       give them their earlier values (delete the inserted ones) all\n"
        "                    the same\n"
        "\n"
        "Exit status: 0 undone (or declined); 2 usage error or no such load; 4 refused or\n"
        "database error.\n";

/* After the help of load and check: the options that describe a file. */
static const char describe_help[] =
        "\n"
        "Describing a file (load and check; see docs/formats.md):\n"
        "  --map SRC=DST           read the file's column SRC as the column DST, or ignore it\n"
        "                          (DST -); repeatable: --map 'Kode Barang=sku'\n"
        "  --columns A,B,...       the file has no header: its fields are these columns\n"
        "                          (- for a field to ignore); the first line is data\n"
        "  --date-format PATTERN   dates and timestamps as PostgreSQL's to_timestamp writes\n"
        "                          them: YYYY YY MM MON DD HH24 HH12 AM MI SS MS US TZH TZM,\n"
        "                          'DD/MM/YYYY HH24:MI'; repeatable: every pattern is tried,\n"
        "                          and a value two of them read differently is rejected\n"
        "                          (default: ISO 8601, YYYY-MM-DD[ HH:MM[:SS]][+HH:MM])\n"
        "  --decimal-comma         ',' is the decimal mark and '.' or a space groups\n"
        "                          thousands: 1.250.000,50 (integers too: 1.000)\n"
        "  --currency SYMBOL       money values may carry SYMBOL before or after: Rp 12.500\n"
        "  --null STRING           a field that is STRING is empty (NULL); empty still is\n"
        "  --profile FILE          read options from FILE: one 'name = value' a line (the\n"
        "                          long option's name; a flag takes true or false; '#'\n"
        "                          comments; repeatable options repeat); the command line\n"
        "                          overrides it, and check skips load's own options there\n"
        "Values are then validated by the same rules; a reject file keeps the file's own\n"
        "fields and header.\n";

const struct cli_command cli_commands[] = {
        {"schema", cmd_schema, schema_help},
        {"load", cmd_load, load_help},
        {"check", cmd_check, check_help},
        {"seed", cmd_seed, seed_help},
        {"generate", cmd_generate, generate_help},
        {"history", cmd_history, history_help},
        {"undo", cmd_undo, undo_help},
        {NULL, NULL, NULL},
};

const struct cli_command *
cli_find_command(const char *name)
{
	for (const struct cli_command *c = cli_commands; name != NULL && c->name != NULL; c++)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

void
cli_help(const char *name)
{
	const struct cli_command *c = cli_find_command(name);
	(void)fputs(c != NULL ? c->help : help_text, stdout);
	if (c == NULL)
		(void)fputs(help_text_more, stdout);
	if (c != NULL && c->fn == cmd_load) {
		(void)fputs(load_options_help, stdout);
		(void)fputs(load_rerun_help, stdout);
	}
	if (c != NULL && (c->fn == cmd_load || c->fn == cmd_check))
		(void)fputs(describe_help, stdout);
}
