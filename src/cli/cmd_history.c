/*
 * cmd_history.c — `siprems-etl history [--limit N] [--json]`: the loads
 * recorded in etl_loads, newest first.  Reads only.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "db.h"
#include "ledger.h"
#include "report.h"

enum { OPT_LIMIT = CLI_OPT_FIRST_LOCAL, OPT_JSON };

static void
print_json(const struct ledger_row *v, int n)
{
	(void)fputs("[", stdout);
	for (int i = 0; i < n; i++) {
		const struct ledger_row *x = &v[i];
		(void)printf("%s\n  {\"load_id\": %lld, \"file\": ", i ? "," : "",
		             (long long)x->load_id);
		report_json_string(stdout, x->file);
		(void)fputs(", \"kind\": ", stdout);
		report_json_string(stdout, x->kind);
		(void)fputs(", \"status\": ", stdout);
		report_json_string(stdout, x->status);
		(void)printf(
		        ", \"rows_read\": %lld, \"rows_loaded\": %lld, \"rows_updated\": %lld, "
		        "\"rows_skipped\": %lld, \"rows_rejected\": %lld",
		        (long long)x->rows_read, (long long)x->rows_loaded,
		        (long long)x->rows_updated, (long long)x->rows_skipped,
		        (long long)x->rows_rejected);
		(void)fputs(", \"started_at\": ", stdout);
		report_json_string(stdout, x->started_at);
		(void)fputs(", \"finished_at\": ", stdout);
		report_json_string(stdout, x->finished_at[0] ? x->finished_at : NULL);
		(void)printf(", \"seconds\": %.3f, \"attempts\": %d, \"fingerprint\": ", x->seconds,
		             x->attempts);
		report_json_string(stdout, x->fingerprint);
		(void)fputs(", \"file_sha256\": ", stdout);
		report_json_string(stdout, x->sha256[0] ? x->sha256 : NULL);
		if (x->retry_of > 0)
			(void)printf(", \"retry_of\": %lld", (long long)x->retry_of);
		else
			(void)fputs(", \"retry_of\": null", stdout);
		(void)printf(", \"undoable\": %s", x->undoable ? "true" : "false");
		(void)fputs(", \"reject_file\": ", stdout);
		report_json_string(stdout, x->reject_file[0] ? x->reject_file : NULL);
		(void)fputs(", \"message\": ", stdout);
		report_json_string(stdout, x->message[0] ? x->message : NULL);
		(void)fputs("}", stdout);
	}
	(void)fputs(n ? "\n]\n" : "]\n", stdout);
}

/* name in at most w bytes (w >= 9): its start and its end around "...", so
 * that a long name keeps what tells it apart (a directory, a date, the
 * extension); never cut inside a UTF-8 character. */
static void
shorten(char *out, size_t size, const char *name, int w)
{
	int len = (int)strlen(name);
	if (len <= w) {
		(void)snprintf(out, size, "%s", name);
		return;
	}
	int head = (w - 3) / 2, tail = len - (w - 3 - head);
	while (head > 0 && ((unsigned char)name[head] & 0xC0) == 0x80)
		head--;
	while (tail < len && ((unsigned char)name[tail] & 0xC0) == 0x80)
		tail++;
	(void)snprintf(out, size, "%.*s...%s", head, name, name + tail);
}

static void
print_table(const struct ledger_row *v, int n)
{
	if (n == 0) {
		(void)puts("no loads recorded");
		return;
	}
	int w = 4;
	for (int i = 0; i < n; i++)
		if ((int)strlen(v[i].file) > w)
			w = (int)strlen(v[i].file);
	if (w > 40)
		w = 40;
	(void)printf("%6s  %-19s  %-*s  %-8s  %-11s  %10s  %10s  %8s  %8s  %8s  %9s  %5s\n", "load",
	             "started", w, "file", "kind", "status", "read", "loaded", "updated", "skipped",
	             "rejected", "duration", "tries");
	for (int i = 0; i < n; i++) {
		const struct ledger_row *x = &v[i];
		char started[20];
		(void)snprintf(started, sizeof started, "%.10s %.8s", x->started_at,
		               x->started_at + 11);
		char file[64];
		shorten(file, sizeof file, x->file, w);
		(void)printf(
		        "%6lld  %-19s  %-*s  %-8s  %-11s  %10lld  %10lld  %8lld  %8lld  %8lld  "
		        "%8.1fs  "
		        "%5d\n",
		        (long long)x->load_id, started, w, file, x->kind, x->status,
		        (long long)x->rows_read, (long long)x->rows_loaded,
		        (long long)x->rows_updated, (long long)x->rows_skipped,
		        (long long)x->rows_rejected, x->seconds, x->attempts);
		if (x->message[0] != '\0')
			(void)printf("%6s  %s\n", "", x->message);
	}
}

enum etl_code
cmd_history(int argc, char **argv, struct global_opts *g, struct etl_error *err)
{
	static const struct option longopts[] = {
	        CLI_GLOBAL_LONGOPTS,
	        {"limit", required_argument, NULL, OPT_LIMIT},
	        {"json", no_argument, NULL, OPT_JSON},
	        {NULL, 0, NULL, 0},
	};
	long limit = 20;
	bool json = false;
	int opt;
	while ((opt = cli_getopt(argc, argv, ":h", longopts, g, NULL, err)) >= 0) {
		switch (opt) {
		case OPT_LIMIT: {
			char *end;
			errno = 0;
			limit = strtol(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || end == optarg || limit < 1 ||
			    limit > 1000000)
				return error_set(
				        err, ETL_EUSAGE, NULL, 0,
				        "--limit: \"%s\" is not a number from 1 to 1000000",
				        optarg);
			break;
		}
		case OPT_JSON:
			json = true;
			break;
		}
	}
	if (opt == CLI_STOP)
		return err->code;
	if (optind < argc)
		return error_set(err, ETL_EUSAGE, NULL, 0, "history: unexpected argument '%s'",
		                 argv[optind]);
	PGconn *conn = db_open(g->db, err);
	if (conn == NULL)
		return err->code;
	struct ledger_row *rows = NULL;
	int n = 0;
	/* Loads whose loader is gone show as interrupted, with the reason. */
	(void)ledger_reap(conn);
	enum etl_code rc = ledger_list(conn, (int)limit, &rows, &n, err);
	if (rc == ETL_OK) {
		if (json)
			print_json(rows, n);
		else
			print_table(rows, n);
	}
	free(rows);
	PQfinish(conn);
	return rc;
}
