/*
 * cmd_undo.c — `siprems-etl undo LOAD_ID [--yes]`: takes a load back out of
 * the database: the rows it inserted are deleted, the rows it updated get
 * their earlier values back, and the history marks it undone, so that its
 * file may load again.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "db.h"
#include "ledger.h"
#include "schema.h"
#include "text.h"

enum { OPT_YES = CLI_OPT_FIRST_LOCAL, OPT_KEEP_CHANGED, OPT_OVERWRITE };

/* What the command line asks of undo. */
struct undo_args {
	bool yes;
	enum undo_changed changed;
	long long id;
};

/* Usage is settled before any connection is opened.  Returns false when the
 * command is to return err->code at once (ETL_OK after -h). */
static bool
read_undo_args(int argc, char **argv, struct global_opts *g, struct undo_args *a,
               struct etl_error *err)
{
	static const struct option longopts[] = {
	        CLI_GLOBAL_LONGOPTS,
	        {"yes", no_argument, NULL, OPT_YES},
	        {"keep-changed", no_argument, NULL, OPT_KEEP_CHANGED},
	        {"overwrite", no_argument, NULL, OPT_OVERWRITE},
	        {NULL, 0, NULL, 0},
	};
	a->yes = false;
	a->changed = UNDO_REFUSE;
	int modes = 0;
	int opt;
	while ((opt = cli_getopt(argc, argv, ":hy", longopts, g, NULL, err)) >= 0) {
		switch (opt) {
		case 'y':
		case OPT_YES:
			a->yes = true;
			break;
		case OPT_KEEP_CHANGED:
			a->changed = UNDO_KEEP_CHANGED;
			modes++;
			break;
		case OPT_OVERWRITE:
			a->changed = UNDO_OVERWRITE;
			modes++;
			break;
		}
	}
	if (opt != CLI_STOP && modes > 1) {
		(void)error_set(err, ETL_EUSAGE, NULL, 0,
		                "undo: --keep-changed and --overwrite: one or the other");
		return false;
	}
	if (opt == CLI_STOP)
		return false;
	if (optind >= argc) {
		(void)error_set(err, ETL_EUSAGE, NULL, 0,
		                "undo: no load given (the load column of 'siprems-etl history')");
		return false;
	}
	if (optind + 1 < argc) {
		(void)error_set(err, ETL_EUSAGE, NULL, 0, "undo: unexpected argument '%s'",
		                argv[optind + 1]);
		return false;
	}
	if (!cli_parse_num(argv[optind], 1, INT64_MAX, &a->id)) {
		(void)error_set(err, ETL_EUSAGE, NULL, 0, "undo: \"%s\" is not a load number",
		                argv[optind]);
		return false;
	}
	return true;
}

/* Undo rewrites rows others may rely on: without --yes a person agrees first.
 * *go is false when they declined ("nothing done" said).  Returns ETL_OK, or
 * ETL_EUSAGE when there is no terminal to ask on. */
static enum etl_code
confirm_undo(long long id, const struct ledger_row *row, bool *go, struct etl_error *err)
{
	char q[600];
	(void)snprintf(q, sizeof q,
	               "undo load %lld (%s, %s, %s): delete the %lld row%s it inserted and give "
	               "the %lld row%s it updated their earlier values back?",
	               id, row->file, row->kind, row->status, (long long)row->rows_loaded,
	               text_s(row->rows_loaded), (long long)row->rows_updated,
	               text_s(row->rows_updated));
	int answer = cli_confirm(q);
	*go = answer > 0;
	if (answer < 0)
		return error_set(err, ETL_EUSAGE, NULL, 0,
		                 "undo: not on a terminal, so nothing is asked: --yes confirms");
	if (answer == 0)
		(void)printf("undo: nothing done\n");
	return ETL_OK;
}

/* The rows left as they were are said apart: they are what a rerun of the
 * file would meet. */
static void
say_undone(long long id, const struct ledger_undo *u)
{
	(void)printf("undo: load %lld undone: %lld row%s deleted, %lld row%s given their "
	             "earlier "
	             "values back%s; its file may load again\n",
	             id, (long long)u->deleted, text_s(u->deleted), (long long)u->restored,
	             text_s(u->restored),
	             u->kept + u->kept_inserted > 0 ? ", the rows changed since left as they are"
	                                            : "");
	if (u->kept > 0)
		(void)printf("undo: %lld row%s it had updated changed since: kept as %s\n",
		             (long long)u->kept, text_s(u->kept),
		             u->kept == 1 ? "it is" : "they are");
	if (u->kept_inserted > 0)
		(void)printf("undo: %lld row%s it had inserted changed since: left in the table\n",
		             (long long)u->kept_inserted, text_s(u->kept_inserted));
}

enum etl_code
cmd_undo(int argc, char **argv, struct global_opts *g, struct etl_error *err)
{
	struct undo_args a;
	if (!read_undo_args(argc, argv, g, &a, err))
		return err->code;

	PGconn *conn = db_open(g->db, err);
	if (conn == NULL)
		return err->code;
	enum etl_code rc = ETL_OK;
	if (!g->quiet)
		db_announce(conn);
	/* A history written by an older siprems-etl gets the tables undo reads. */
	rc = schema_ensure(conn, false, NULL, NULL, NULL, err);
	if (rc != ETL_OK)
		goto out;
	struct ledger_row row;
	bool found;
	rc = ledger_get(conn, a.id, &row, &found, err);
	if (rc != ETL_OK)
		goto out;
	if (!found) {
		rc = error_set(err, ETL_EUSAGE, NULL, 0, "undo: no load %lld in the history", a.id);
		goto out;
	}
	bool go = true;
	if (!a.yes) {
		rc = confirm_undo(a.id, &row, &go, err);
		if (rc != ETL_OK || !go)
			goto out;
	}
	struct ledger_undo u;
	rc = ledger_undo(conn, a.id, a.changed, &u, err);
	if (rc == ETL_OK)
		say_undone(a.id, &u);
out:
	PQfinish(conn);
	return rc;
}
