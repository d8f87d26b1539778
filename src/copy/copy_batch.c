/*
 * copy_batch.c — the rows of one batch (see copy_batch.h).
 */
#include "copy_batch.h"

#include <stdlib.h>
#include <string.h>

void
batch_reset(struct sink_batch *b)
{
	b->n = 0;
	b->data.len = b->orig.len = b->keys.len = 0;
	b->sent = 0;
}

bool
batch_room(struct sink_batch *b)
{
	if (b->n + 2 <= b->cap)
		return true;
	int cap = b->cap ? b->cap * 2 : 1024;
	size_t *off = realloc(b->off, (size_t)(cap + 1) * sizeof *off);
	if (off != NULL)
		b->off = off;
	size_t *oo = realloc(b->orig_off, (size_t)cap * sizeof *oo);
	if (oo != NULL)
		b->orig_off = oo;
	long *line = realloc(b->line, (size_t)cap * sizeof *line);
	if (line != NULL)
		b->line = line;
	size_t *ko = realloc(b->key_off, (size_t)cap * sizeof *ko);
	if (ko != NULL)
		b->key_off = ko;
	int64_t *num = realloc(b->number, (size_t)cap * sizeof *num);
	if (num != NULL)
		b->number = num;
	if (off == NULL || oo == NULL || line == NULL || ko == NULL || num == NULL)
		return false;
	b->cap = cap;
	return true;
}

void
batch_start_row(struct sink_batch *b)
{
	if (b->n == 0)
		b->off[0] = b->data.len;
}

bool
batch_add(struct sink_batch *b, const struct csvrow_record *rec, int64_t number, const char *key)
{
	b->off[b->n + 1] = b->data.len;
	b->line[b->n] = rec->line;
	b->number[b->n] = number;
	if (key != NULL) {
		b->key_off[b->n] = b->keys.len;
		buf_put(&b->keys, key, strlen(key) + 1);
	}

	/* The record as read: nfields, then each field's length and bytes. */
	struct buf *o = &b->orig;
	b->orig_off[b->n] = o->len;
	uint32_t nf = (uint32_t)rec->nfields;
	buf_put(o, &nf, sizeof nf);
	for (int i = 0; i < rec->nfields; i++) {
		uint32_t len = (uint32_t)rec->lens[i];
		buf_put(o, &len, sizeof len);
		buf_put(o, rec->fields[i], rec->lens[i]);
	}
	if (b->data.failed || o->failed || b->keys.failed)
		return false;
	b->n++;
	return true;
}

void
batch_record(struct sink_batch *b, int i, struct csvrow_record *rec, int64_t *number)
{
	*number = b->number[i];
	const char *p = b->orig.data + b->orig_off[i];
	uint32_t nf;
	memcpy(&nf, p, sizeof nf);
	p += sizeof nf;
	if ((int)nf > b->fcap) {
		char **f = realloc(b->fields, nf * sizeof *f);
		size_t *l = realloc(b->lens, nf * sizeof *l);
		if (f != NULL)
			b->fields = f;
		if (l != NULL)
			b->lens = l;
		if (f == NULL || l == NULL)
			nf = (uint32_t)b->fcap;
		else
			b->fcap = (int)nf;
	}
	for (uint32_t k = 0; k < nf; k++) {
		uint32_t len;
		memcpy(&len, p, sizeof len);
		p += sizeof len;
		b->fields[k] = (char *)p;
		b->lens[k] = len;
		p += len;
	}
	rec->line = rec->end_line = b->line[i];
	rec->nfields = (int)nf;
	rec->fields = b->fields;
	rec->lens = b->lens;
	rec->error = NULL;
}

enum etl_code
batch_send(struct sink_batch *b, struct sink_conn *c, size_t upto, struct etl_error *err)
{
	if (upto <= b->sent)
		return ETL_OK;
	enum etl_code rc = conn_copy_send(c, b->data.data + b->sent, upto - b->sent, err);
	if (rc == ETL_OK)
		b->sent = upto;
	return rc;
}

void
batch_free(struct sink_batch *b)
{
	buf_free(&b->data);
	buf_free(&b->orig);
	buf_free(&b->keys);
	free(b->off);
	free(b->orig_off);
	free(b->line);
	free(b->number);
	free(b->key_off);
	free(b->fields);
	free(b->lens);
	memset(b, 0, sizeof *b);
}
