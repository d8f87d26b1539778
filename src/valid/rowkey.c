/*
 * rowkey.c — the exact form of a row's unique key, made from a validated
 * row or from a database row, and read back for folding and for reports.
 */
#include "rowkey.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "calendar.h"

/* Copies a text part of a key: a COL_NOCASE column in lower case, so that
 * KASIR1@toko.example and kasir1@toko.example are one key. */
static void
copy_part(const struct col_def *c, char *out, const char *s, size_t n)
{
	if (!(c->flags & COL_NOCASE)) {
		memcpy(out, s, n);
		return;
	}
	for (size_t i = 0; i < n; i++)
		out[i] = (char)tolower((unsigned char)s[i]);
}

/* Empties b and makes room for n bytes. */
static bool
start(struct buf *b, size_t n)
{
	b->len = 0;
	return buf_reserve(b, n);
}

bool
rowkey_of_row(const struct table_def *t, const struct valid_row *row, struct buf *b)
{
	size_t need = 0;
	for (int k = 0; k < t->nkey; k++) {
		const struct value *v = &row->v[t->key[k]];
		need += (v->type == V_TEXT ? v->n : sizeof(int64_t)) + 1;
	}
	if (!start(b, need))
		return false;
	for (int k = 0; k < t->nkey; k++) {
		const struct value *v = &row->v[t->key[k]];
		if (v->type == V_TEXT) {
			copy_part(&t->cols[t->key[k]], b->data + b->len, v->s, v->n);
			b->len += v->n;
		} else {
			memcpy(b->data + b->len, &v->i, sizeof(int64_t));
			b->len += sizeof(int64_t);
		}
		if (k + 1 < t->nkey)
			b->data[b->len++] = '\0';
	}
	return true;
}

bool
rowkey_fold(const struct table_def *t, const char *key, size_t n, struct buf *out)
{
	if (!start(out, n + 1))
		return false;
	size_t i = 0;
	for (int k = 0; k < t->nkey; k++) {
		const struct col_def *c = &t->cols[t->key[k]];
		if (c->rule == RULE_DATE) {
			size_t len = n - i < sizeof(int64_t) ? n - i : sizeof(int64_t);
			memcpy(out->data + out->len, key + i, len);
			out->len += len;
			i += len;
			continue;
		}
		size_t end = i;
		while (end < n && key[end] != '\0')
			end++;
		size_t a = i, z = end;
		while (a < z && (key[a] == ' ' || key[a] == '\t'))
			a++;
		while (z > a && (key[z - 1] == ' ' || key[z - 1] == '\t'))
			z--;
		for (size_t j = a; j < z; j++)
			out->data[out->len++] = (char)tolower((unsigned char)key[j]);
		i = end + 1;
		if (k + 1 < t->nkey)
			out->data[out->len++] = '\0';
	}
	return true;
}

size_t
rowkey_show(const struct table_def *t, const char *key, size_t n, char *out, size_t size)
{
	size_t o = 0, i = 0;
	for (int k = 0; k < t->nkey && o + 1 < size; k++) {
		const struct col_def *c = &t->cols[t->key[k]];
		if (k > 0)
			out[o++] = '+';
		if (c->rule == RULE_DATE) {
			int64_t days = 0;
			if (n - i >= sizeof days)
				memcpy(&days, key + i, sizeof days);
			if (o + 11 < size)
				o += calendar_format_date(out + o, days);
			i += sizeof days;
			continue;
		}
		while (i < n && key[i] != '\0' && o + 1 < size)
			out[o++] = key[i++];
		i++;
	}
	out[o] = '\0';
	return o;
}

bool
rowkey_of_db(const struct table_def *t, char *const *values, const size_t *lens, struct buf *b)
{
	size_t need = 0;
	for (int k = 0; k < t->nkey; k++)
		need += lens[k] + sizeof(int64_t) + 1;
	if (!start(b, need))
		return false;
	for (int k = 0; k < t->nkey; k++) {
		const struct col_def *c = &t->cols[t->key[k]];
		if (c->rule == RULE_DATE) {
			/* Read in ISO form (refdata_stream() sets DateStyle). */
			/* A date, or a timestamp column's midnight (an ORM's
			 * event_date), is its day; any other value (another time
			 * of day, a BC date) equals no file's date: its text,
			 * after a day number no date has. */
			int64_t days = INT64_MIN;
			bool day = lens[k] == 10 ||
			           (lens[k] == 19 && memcmp(values[k] + 10, " 00:00:00", 9) == 0);
			if (day && values[k][4] == '-')
				days = calendar_days_from_civil(atoi(values[k]),
				                                (unsigned)atoi(values[k] + 5),
				                                (unsigned)atoi(values[k] + 8));
			memcpy(b->data + b->len, &days, sizeof days);
			b->len += sizeof days;
			if (days == INT64_MIN) {
				memcpy(b->data + b->len, values[k], lens[k]);
				b->len += lens[k];
			}
		} else {
			copy_part(c, b->data + b->len, values[k], lens[k]);
			b->len += lens[k];
		}
		if (k + 1 < t->nkey)
			b->data[b->len++] = '\0';
	}
	return true;
}
