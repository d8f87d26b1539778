/*
 * copy_ids.c — ids reserved from the table's sequence (see copy_ids.h).
 */
#include "copy_ids.h"

#include <stdio.h>
#include <stdlib.h>

#include "db.h"

static bool
room(struct sink_ids *r, int k)
{
	if (k <= r->cap)
		return true;
	struct ledger_ids *v = realloc(r->v, (size_t)k * sizeof *v);
	if (v == NULL)
		return false;
	r->v = v;
	r->cap = k;
	return true;
}

void
ids_none(struct sink_ids *r)
{
	r->n = r->range = 0;
}

enum etl_code
ids_reserve(struct sink_ids *r, struct sink_conn *c, const char *seq, int64_t n,
            struct etl_error *err)
{
	ids_none(r);
	if (n <= 0)
		return ETL_OK;
	char count[24];
	(void)snprintf(count, sizeof count, "%lld", (long long)n);
	const char *params[1] = {count};
	PGresult *res = db_queryf(c->pg, 1, params, err,
	                          "SELECT min(id), max(id) FROM (SELECT id, id - row_number() OVER "
	                          "(ORDER BY id) AS g FROM (SELECT nextval(%s) AS id FROM "
	                          "generate_series(1, $1::bigint)) a) b GROUP BY g ORDER BY 1",
	                          seq);
	if (res == NULL)
		return ETL_EDB;
	int k = PQntuples(res);
	if (!room(r, k)) {
		PQclear(res);
		return error_oom(err, NULL, 0);
	}
	for (int i = 0; i < k; i++) {
		r->v[i].first = strtoll(PQgetvalue(res, i, 0), NULL, 10);
		r->v[i].last = strtoll(PQgetvalue(res, i, 1), NULL, 10);
	}
	r->n = k;
	r->cur = k > 0 ? r->v[0].first : 0;
	PQclear(res);
	return ETL_OK;
}

bool
ids_next(struct sink_ids *r, int64_t *id)
{
	while (r->range < r->n && r->cur > r->v[r->range].last) {
		r->range++;
		if (r->range < r->n)
			r->cur = r->v[r->range].first;
	}
	if (r->range >= r->n)
		return false;
	*id = r->cur++;
	return true;
}

bool
ids_one(struct sink_ids *r, int64_t first, int64_t last)
{
	if (!room(r, 1))
		return false;
	r->v[0].first = first;
	r->v[0].last = last;
	r->n = 1;
	return true;
}

void
ids_free(struct sink_ids *r)
{
	free(r->v);
	r->v = NULL;
	r->n = r->cap = 0;
}

struct ledger_xmins
ids_xmins(const struct table_def *t, bool citus, int64_t xid, bool scan)
{
	if (citus)
		return (struct ledger_xmins){
		        .how = XMINS_SHARDS, .table = t->table, .id_column = t->id_column};
	if (xid > 0)
		return (struct ledger_xmins){.how = XMINS_GIVEN, .xid = xid};
	if (scan)
		return (struct ledger_xmins){
		        .how = XMINS_SCAN, .table = t->table, .id_column = t->id_column};
	return (struct ledger_xmins){.how = XMINS_THIS_TXN};
}
