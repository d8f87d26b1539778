/*
 * cmd_schema.c — `siprems-etl schema [--dry-run]`.
 */
#include <getopt.h>
#include <stdio.h>

#include "cli.h"
#include "db.h"
#include "schema.h"

enum etl_code
cmd_schema(int argc, char **argv, struct global_opts *g, struct etl_error *err)
{
	static const struct option longopts[] = {
	        CLI_GLOBAL_LONGOPTS,
	        {"dry-run", no_argument, NULL, 'n'},
	        {NULL, 0, NULL, 0},
	};
	bool dry_run = false;
	int opt;
	PGconn *conn = NULL;
	struct schema_result res = {0};
	enum etl_code rc = ETL_OK;

	while ((opt = cli_getopt(argc, argv, ":h", longopts, g, NULL, err)) >= 0) {
		switch (opt) {
		case 'n':
			dry_run = true;
			break;
		}
	}
	if (opt == CLI_STOP)
		return err->code;
	if (optind < argc)
		return error_set(err, ETL_EUSAGE, NULL, 0, "schema: unexpected argument '%s'",
		                 argv[optind]);

	conn = db_open(g->db, err);
	if (conn == NULL) {
		if (!dry_run)
			return err->code;
		/* Without a database, a dry run shows the whole schema. */
		char msg[2048];
		error_format(err, msg, sizeof msg);
		(void)fprintf(stderr, "%s\n", msg);
		warnx_etl("no database reachable; printing the whole schema");
		error_clear(err);
		schema_print_all(stdout);
		return ETL_OK;
	}
	if (!g->quiet)
		db_announce(conn);
	rc = schema_ensure(conn, dry_run, stdout, &res, NULL, err);
	if (rc != ETL_OK)
		goto out;
	FILE *msgs = dry_run ? stderr : stdout;
	if (!g->quiet)
		for (int i = 0; i < res.nlines; i++)
			(void)fprintf(msgs, "%s\n", res.lines[i]);
	if (res.applied == 0)
		(void)fprintf(msgs, "schema is up to date: %d objects checked, nothing %s\n",
		              res.checked, dry_run ? "to do" : "created");
	else if (dry_run)
		(void)fprintf(msgs, "schema: %d statements would run\n", res.applied);
	else
		(void)fprintf(msgs, "schema: %d changes applied and recorded in etl_schema_log\n",
		              res.applied);
out:
	schema_result_free(&res);
	PQfinish(conn);
	return rc;
}
