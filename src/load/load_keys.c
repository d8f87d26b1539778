/*
 * load_keys.c — the keys the database already holds, as a load reads them
 * once per run: the SKU map of sales (SKU -> product id, price) and each
 * keyed kind's keys, for telling a new row from one already there.
 */
#include "load_impl.h"

#include "buf.h"
#include "keyset.h"
#include "refdata.h"
#include "rowkey.h"

/* The map of what by's reference column names (SKU -> product id, price)
 * for a sales file: read again when products changed. */
enum etl_code
load_skus(struct run_shared *r, const struct table_def *by, struct etl_error *err)
{
	if (r->skus != NULL && !r->skus_stale)
		return ETL_OK;
	keyset_free(r->skus);
	r->skus = keyset_new();
	if (r->skus == NULL)
		return error_oom(err, NULL, 0);
	r->skus_stale = false;
	enum etl_code rc = refdata_load_refs(r->conn, by, r->skus, err);
	if (rc != ETL_OK) { /* never a part of the map: the next file reads it again */
		keyset_free(r->skus);
		r->skus = NULL;
	}
	return rc;
}

/* Reads the key columns of a database row into a set of keys. */
struct known_read {
	const struct table_def *t;
	struct keyset *ks;
	struct buf b;
};

static enum etl_code
known_row(void *ctx, char *const *values, const size_t *lens, int n)
{
	(void)n;
	struct known_read *k = ctx;
	if (!rowkey_of_db(k->t, values, lens, &k->b))
		return ETL_ESYSTEM;
	return keyset_find(k->ks, k->b.data, k->b.len, true, NULL) ? ETL_OK : ETL_ESYSTEM;
}

enum etl_code
load_known_keys(struct run_shared *r, const struct table_def *t, struct etl_error *err)
{
	if (t->nkey == 0 || r->o->case_variants || r->conn == NULL)
		return ETL_OK;
	const struct table_def *by = table_referrer(t->kind);
	if (by != NULL) /* the SKU map holds the products' keys */
		return load_skus(r, by, err);
	if (r->known[t->kind] != NULL && !r->known_stale[t->kind])
		return ETL_OK;
	keyset_free(r->known[t->kind]);
	struct known_read k = {.t = t, .ks = keyset_new()};
	r->known[t->kind] = k.ks;
	r->known_stale[t->kind] = false;
	if (k.ks == NULL)
		return error_oom(err, NULL, 0);
	const char *cols[TABLE_MAXCOLS];
	for (int i = 0; i < t->nkey; i++)
		cols[i] = t->cols[t->key[i]].db_column;
	enum etl_code rc =
	        refdata_stream(r->conn, t->table, cols, t->nkey, known_row, &k, NULL, err);
	buf_free(&k.b);
	if (rc == ETL_ESYSTEM)
		(void)error_oom(err, NULL, 0);
	if (rc != ETL_OK) { /* never a part of the keys: the next file reads them again */
		keyset_free(r->known[t->kind]);
		r->known[t->kind] = NULL;
	}
	return rc;
}

struct keyset *
load_known(struct run_shared *r, const struct table_def *t)
{
	if (t->nkey == 0)
		return NULL;
	return table_referrer(t->kind) != NULL ? r->skus : r->known[t->kind];
}
