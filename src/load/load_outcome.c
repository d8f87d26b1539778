/*
 * load_outcome.c — a file's outcome as the summary shows it: the reasons of
 * its first rejects, and what it kept when it failed.
 */
#include "load_impl.h"

#include <stdlib.h>
#include <string.h>

#include "intake.h"
#include "ledger.h"
#include "reject.h"

void
load_take_messages(struct load_file *lf, struct intake *it)
{
	const char *rp = reject_path(intake_rejects(it));
	free(lf->reject_file);
	lf->reject_file = rp ? strdup(rp) : NULL;
	lf->r.reject_file = lf->reject_file;
	lf->nshown += intake_take_reasons(it, lf->shown + lf->nshown, 10 - lf->nshown);
}

void
load_fail_file(struct load_file *lf, struct intake *it, const struct etl_error *e)
{
	load_fail_committed(lf, it, e, NULL);
}

void
load_fail_committed(struct load_file *lf, struct intake *it, const struct etl_error *e,
                    const struct ledger *committed)
{
	static const struct ledger none;
	const struct ledger *c = committed != NULL ? committed : &none;
	lf->code = e->code == ETL_OK ? ETL_EINPUT : e->code;
	lf->error = *e;
	lf->r.status = "failed";
	lf->r.rows_read = (uint64_t)c->rows_read;
	lf->r.rows_loaded = (uint64_t)c->rows_loaded;
	lf->r.rows_updated = (uint64_t)c->rows_updated;
	lf->r.rows_skipped = (uint64_t)c->rows_skipped;
	lf->r.rows_rejected = (uint64_t)c->rows_rejected;
	if (it != NULL && intake_rejects(it) != NULL)
		(void)reject_truncate(intake_rejects(it), (uint64_t)c->reject_bytes, NULL);
	free(lf->reject_file);
	lf->reject_file = c->rows_rejected > 0 && c->reject_file[0] ? strdup(c->reject_file) : NULL;
	lf->r.reject_file = lf->reject_file;
}
