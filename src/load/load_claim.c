/*
 * load_claim.c — a file's claim in the history: its fingerprints, what the
 * history says of it (skip, earlier rejects, resume, retry with new
 * options, or start) and its reject file's name.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db.h"
#include "ledger.h"
#include "load_impl.h"
#include "reject.h"
#include "text.h"

/* --on-conflict's values, by enum on_conflict. */
static const char *const conflict_modes[] = {"error", "skip", "update"};

/* The options that decide rows' outcomes, as the history compares them. */
static void
outcome_options(const struct run_shared *r, char *buf, size_t size)
{
	const struct load_opts *o = r->o;
	(void)snprintf(buf, size,
	               "on-conflict=%s encoding=%s delimiter=%u allow-future=%s timezone=%s "
	               "sku-pattern=%s",
	               conflict_modes[o->on_conflict], input_encoding_name(o->format.enc),
	               (unsigned)o->format.delim, o->allow_future ? "yes" : "no",
	               r->tz_utc ? "UTC" : r->tz,
	               o->format.sku_pattern ? o->format.sku_pattern : "");
	/* How the file is described: named only when given, so a load without
	 * them compares equal to the history of the versions before them. */
	size_t n = strlen(buf);
#define ADD(...)                                                                                   \
	do {                                                                                       \
		if (n < size)                                                                      \
			n += (size_t)snprintf(buf + n, size - n, __VA_ARGS__);                     \
	} while (0)
	const struct colmap_opts *cm = o->format.cm;
	for (int i = 0; cm != NULL && i < cm->nmap; i++)
		ADD("%smap=%s=%s", i ? "|" : " ", cm->map[i].src, cm->map[i].dst);
	for (int i = 0; cm != NULL && i < cm->ncolumns; i++)
		ADD("%s%s", i ? "," : " columns=", cm->columns[i]);
	for (int i = 0; i < o->format.fmt.ndate_formats; i++)
		ADD("%s%s", i ? "|" : " date-format=", o->format.fmt.date_formats[i]);
	if (o->format.fmt.decimal_comma)
		ADD(" decimal-comma=yes");
	if (o->format.fmt.currency != NULL)
		ADD(" currency=%s", o->format.fmt.currency);
	if (o->format.fmt.null != NULL)
		ADD(" null=%s", o->format.fmt.null);
	if (o->case_variants)
		ADD(" case-variants=allow");
#undef ADD
}

/* A file loaded before with the same options, some of whose rows were
 * rejected then: nothing is done, and exit 1 says those rows are out (also
 * with --quiet: it is the reason for the exit status). */
static void
earlier_rejects(struct load_file *lf, struct intake *it, const struct ledger *led)
{
	lf->code = ETL_REJECTED;
	lf->r.status = "skipped";
	lf->r.load_id = led->load_id;
	lf->r.rows_read = (uint64_t)led->rows_read;
	lf->r.rows_rejected = (uint64_t)led->rows_rejected;
	lf->r.rows_skipped = (uint64_t)(led->rows_read - led->rows_rejected);
	free(lf->reject_file);
	lf->reject_file = led->reject_file[0] ? strdup(led->reject_file) : NULL;
	lf->r.reject_file = lf->reject_file;
	if (lf->reject_file != NULL)
		reject_settle(lf->reject_file);
	/* Said with the summary: loading the corrected reject file later in the
	 * same run completes this file (load_files()). */
	(void)error_set(
	        &lf->error, ETL_REJECTED, NULL, 0,
	        "%s: load %lld of this content rejected %lld row%s%s%s%s; correct them and "
	        "load that file, or retry them with other values of the options that "
	        "decide (--on-conflict, --encoding, --allow-future, --sku-pattern, "
	        "--timezone, --delimiter, --case-variants, and those describing the file: "
	        "--map, --columns, --date-format, --decimal-comma, --currency, --null)",
	        intake_name(it), (long long)led->load_id, (long long)led->rows_rejected,
	        text_s(led->rows_rejected),
	        lf->reject_file ? (led->rows_rejected == 1 ? " (it is in " : " (they are in ") : "",
	        lf->reject_file ? lf->reject_file : "", lf->reject_file ? ")" : "");
}

/* Says what the claim found out about earlier loads of the file. */
static void
claim_notes(const struct file_load *f)
{
	const struct ledger_claim *c = &f->claim;
	const char *name = intake_name(f->it);
	if (f->r->o->quiet)
		return;
	if (c->interrupted[0] != '\0')
		notex_etl("%s: an earlier load of this file was %s", name, c->interrupted);
	if (c->waited)
		notex_etl("%s: waited for another siprems-etl loading the same file", name);
	if (c->undone > 0)
		notex_etl("%s: --force: undid %d earlier load%s of this file (%lld rows deleted)",
		          name, c->undone, c->undone > 1 ? "s" : "", (long long)c->undone_rows);
	if (c->superseded > 0)
		notex_etl(
		        "%s: load %lld of the file's earlier content committed nothing; set aside",
		        name, (long long)c->superseded);
	if (c->extended)
		notex_etl("%s: the file changed since load %lld stopped, and begins with the %lld "
		          "rows it committed: load %lld goes on with it after them",
		          name, (long long)f->led.load_id, (long long)f->led.records_done,
		          (long long)f->led.load_id);
	if (c->extends > 0)
		notex_etl(
		        "%s: the file begins with the %lld rows load %lld loaded (it grew since); "
		        "load %lld takes the rows after them",
		        name, (long long)f->led.records_done, (long long)c->extends,
		        (long long)f->led.load_id);
	if (c->action == LEDGER_SKIP)
		notex_etl("%s: loaded before (load %lld, same content); skipped; %s", name,
		          (long long)f->led.load_id, f->r->o->again_hint);
	if (c->action == LEDGER_RETRY && c->records != NULL)
		notex_etl("%s: load %lld rejected %lld rows with other options; taking those rows "
		          "again (load %lld), the others are in already",
		          name, (long long)c->earlier.load_id, (long long)c->nrecords,
		          (long long)f->led.load_id);
	else if (c->action == LEDGER_RETRY)
		notex_etl("%s: loaded before (load %lld) with other options; going through it "
		          "again (load %lld): rows the table already holds as in the file count as "
		          "skipped",
		          name, (long long)c->earlier.load_id, (long long)f->led.load_id);
}

/*
 * The whole file first: its fingerprints, and a gzip stream decoded to its
 * end, so that a damaged file loads nothing at all.  Bytes loaded before
 * with these options have their content fingerprint in the history (and
 * were found sound then): a rerun or a resume reads them once, without
 * decoding.  Then the claim.  True when there are rows to load.
 */
bool
load_claim_file(struct file_load *f)
{
	const struct load_opts *o = f->r->o;
	struct intake *it = f->it;
	struct load_file *lf = f->lf;
	outcome_options(f->r, f->options, sizeof f->options);
	bool known = false;
	/* New content: its fingerprint of as many records as the newest load
	 * of its name holds tells whether it extends that one. */
	int64_t at = -1;
	const char *kind = intake_map(it)->t->name;
	if (intake_fingerprint_bytes(it, &f->print, &f->e) != ETL_OK ||
	    ledger_known_content(f->r->conn, kind, f->print.bytes, f->options, f->print.content,
	                         &f->print.records, &known, &f->e) != ETL_OK ||
	    (!known &&
	     ledger_name_extent(f->r->conn, kind, intake_name(it), &at, &f->e) != ETL_OK) ||
	    (!known && intake_fingerprint_at(it, at, &f->print, &f->e) != ETL_OK))
		return fail(f);
	struct ledger_claim_opts want = {.file_name = intake_name(it),
	                                 .content = f->print.content,
	                                 .sha256 = f->print.bytes,
	                                 .file_bytes = f->print.size,
	                                 .file_records = f->print.records,
	                                 .t = intake_map(it)->t,
	                                 .on_conflict = conflict_modes[o->on_conflict],
	                                 .options = f->options,
	                                 .force = o->force,
	                                 .prefix = known ? "" : f->print.prefix,
	                                 .prefix_at = at,
	                                 .less = known ? "" : f->print.less,
	                                 .head = known ? "" : f->print.head};
	if (ledger_claim(f->r->conn, &want, &f->claim, &f->e) != ETL_OK) {
		if (f->e.file[0] == '\0')
			(void)snprintf(f->e.file, sizeof f->e.file, "%s", intake_name(it));
		if (f->e.code != ETL_ESTOPPED)
			return fail(f);
		lf->code = ETL_ESTOPPED;
		lf->r.status = "stopped";
		lf->error = f->e;
		(void)snprintf(lf->error.file, sizeof lf->error.file, "%s", intake_name(it));
		return false;
	}
	f->led = f->claim.led;
	lf->r.load_id = f->led.load_id;
	claim_notes(f);
	if (f->claim.action == LEDGER_SKIP) {
		/* Loaded before (the name may differ): nothing to do. */
		lf->code = ETL_OK;
		lf->r.status = "skipped";
		lf->r.rows_read = lf->r.rows_skipped = (uint64_t)f->led.rows_read;
		return false;
	}
	if (f->claim.action == LEDGER_REJECTS) {
		earlier_rejects(lf, it, &f->led);
		return false;
	}
	return true;
}

/* Whether reject file path is another's: an earlier file's of this run, or,
 * where it exists, the one the history names for another content's load
 * whose rejected rows are still out (a file of the same name elsewhere, an
 * earlier export under this name). */
static bool
reject_taken(const struct file_load *f, const char *path)
{
	const struct run_shared *r = f->r;
	for (int i = 0; i < r->nrejects_used; i++)
		if (strcmp(r->rejects_used[i], path) == 0)
			return true;
	if (!reject_exists(path))
		return false;
	char id[24];
	(void)snprintf(id, sizeof id, "%lld", (long long)f->led.load_id);
	const char *params[3] = {path, id, f->print.content};
	PGresult *res =
	        db_query(r->conn,
	                 "SELECT 1 FROM etl_loads WHERE reject_file = $1 AND load_id <> $2 "
	                 "AND fingerprint <> $3 AND rows_rejected > 0 AND status <> 'undone' "
	                 "LIMIT 1",
	                 3, params, NULL);
	/* When the history cannot tell, the name is not risked. */
	bool taken = res == NULL || PQntuples(res) > 0;
	PQclear(res);
	return taken;
}

/*
 * The file's reject file: a resumed load's own; else BASE.rejects.csv in
 * the reject directory, or BASE.LOAD_ID.rejects.csv when that name is
 * another's (never shared, never overwritten by another file's load); stdin
 * always has its load's id in the name.  NULL: out of memory.
 */
char *
load_reject_file_for(struct file_load *f, bool resume)
{
	struct run_shared *r = f->r;
	if (resume && f->led.reject_file[0] != '\0')
		return strdup(f->led.reject_file);
	char id[24];
	(void)snprintf(id, sizeof id, "%lld", (long long)f->led.load_id);
	bool is_stdin = strcmp(intake_name(f->it), "stdin") == 0;
	char *path = intake_reject_name(f->it, is_stdin ? id : NULL);
	if (path != NULL && !is_stdin && reject_taken(f, path)) {
		free(path);
		path = intake_reject_name(f->it, id);
	}
	char **used = path ? realloc(r->rejects_used, (size_t)(r->nrejects_used + 1) * sizeof *used)
	                   : NULL;
	if (used == NULL) {
		free(path);
		return NULL;
	}
	r->rejects_used = used;
	used[r->nrejects_used] = strdup(path);
	if (used[r->nrejects_used] != NULL)
		r->nrejects_used++;
	return path;
}
