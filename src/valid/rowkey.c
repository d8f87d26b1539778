/*
 * rowkey.c — the exact form of a row's unique key, made from a validated
 * row or from a database row, and read back for folding and for reports.
 */
#include "rowkey.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "calendar.h"
#include "encode.h"

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

size_t
rowkey_of_row(const struct table_def *t, const struct valid_row *row, char *buf, size_t size)
{
	size_t n = 0;
	for (int k = 0; k < t->nkey; k++) {
		const struct value *v = &row->v[t->key[k]];
		if (v->type == V_TEXT) {
			size_t len = v->n < size - n - 1 ? v->n : size - n - 1;
			copy_part(&t->cols[t->key[k]], buf + n, v->s, len);
			n += len;
		} else if (n + sizeof(int64_t) <= size) {
			memcpy(buf + n, &v->i, sizeof(int64_t));
			n += sizeof(int64_t);
		}
		if (k + 1 < t->nkey && n < size)
			buf[n++] = '\0';
	}
	return n;
}

size_t
rowkey_fold(const struct table_def *t, const char *key, size_t n, char *out, size_t size)
{
	size_t o = 0, i = 0;
	for (int k = 0; k < t->nkey; k++) {
		const struct col_def *c = &t->cols[t->key[k]];
		if (c->rule == RULE_DATE) {
			size_t len = n - i < sizeof(int64_t) ? n - i : sizeof(int64_t);
			if (o + len <= size) {
				memcpy(out + o, key + i, len);
				o += len;
			}
			i += len;
			continue;
		}
		size_t end = i;
		while (end < n && key[end] != '\0')
			end++;
		size_t a = i, b = end;
		while (a < b && (key[a] == ' ' || key[a] == '\t'))
			a++;
		while (b > a && (key[b - 1] == ' ' || key[b - 1] == '\t'))
			b--;
		for (size_t j = a; j < b && o < size; j++)
			out[o++] = (char)tolower((unsigned char)key[j]);
		i = end + 1;
		if (k + 1 < t->nkey && o < size)
			out[o++] = '\0';
	}
	return o;
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

size_t
rowkey_of_db(const struct table_def *t, char *const *values, const size_t *lens, char *key,
             size_t size)
{
	size_t n = 0;
	for (int k = 0; k < t->nkey; k++) {
		const struct col_def *c = &t->cols[t->key[k]];
		if (c->rule == RULE_DATE) {
			int64_t days = 0;
			if (lens[k] >= 10)
				days = calendar_days_from_civil(atoi(values[k]),
				                                (unsigned)atoi(values[k] + 5),
				                                (unsigned)atoi(values[k] + 8));
			if (n + sizeof days <= size) {
				memcpy(key + n, &days, sizeof days);
				n += sizeof days;
			}
		} else {
			size_t len = lens[k] < size - n - 1 ? lens[k] : size - n - 1;
			copy_part(c, key + n, values[k], len);
			n += len;
		}
		if (k + 1 < t->nkey && n < size)
			key[n++] = '\0';
	}
	return n;
}
