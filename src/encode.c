/*
 * encode.c — COPY text encoding of validated values.
 */
#include "encode.h"

#include <stdlib.h>
#include <string.h>

bool
buf_reserve(struct buf *b, size_t n)
{
	if (b->failed)
		return false;
	if (b->len + n <= b->cap)
		return true;
	size_t cap = b->cap ? b->cap : 4096;
	while (cap < b->len + n)
		cap *= 2;
	char *d = realloc(b->data, cap);
	if (d == NULL) {
		b->failed = true;
		return false;
	}
	b->data = d;
	b->cap = cap;
	return true;
}

void
buf_put(struct buf *b, const void *s, size_t n)
{
	if (!buf_reserve(b, n))
		return;
	memcpy(b->data + b->len, s, n);
	b->len += n;
}

void
buf_free(struct buf *b)
{
	free(b->data);
	memset(b, 0, sizeof *b);
}

size_t
encode_uint(char *out, uint64_t v)
{
	char tmp[24];
	size_t n = 0;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	for (size_t i = 0; i < n; i++)
		out[i] = tmp[n - 1 - i];
	return n;
}

static size_t
put_int(char *out, int64_t v)
{
	if (v < 0) {
		out[0] = '-';
		return 1 + encode_uint(out + 1, (uint64_t)(-(v + 1)) + 1);
	}
	return encode_uint(out, (uint64_t)v);
}

static void
two(char *out, int v)
{
	out[0] = (char)('0' + v / 10);
	out[1] = (char)('0' + v % 10);
}

size_t
encode_date(char *out, int64_t days)
{
	int y, m, d;
	valid_civil_from_days(days, &y, &m, &d);
	two(out, y / 100);
	two(out + 2, y % 100);
	out[4] = '-';
	two(out + 5, m);
	out[7] = '-';
	two(out + 8, d);
	return 10;
}

size_t
encode_timestamp(char *out, int64_t usec)
{
	int64_t secs = usec >= 0 ? usec / 1000000 : -((-usec + 999999) / 1000000);
	int64_t frac = usec - secs * 1000000;
	int64_t days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
	int64_t t = secs - days * 86400;
	size_t n = encode_date(out, days);
	out[n++] = ' ';
	two(out + n, (int)(t / 3600));
	out[n + 2] = ':';
	two(out + n + 3, (int)(t / 60 % 60));
	out[n + 5] = ':';
	two(out + n + 6, (int)(t % 60));
	n += 8;
	if (frac != 0) {
		out[n++] = '.';
		for (int64_t div = 100000; div > 0; div /= 10)
			out[n++] = (char)('0' + frac / div % 10);
	}
	return n;
}

size_t
encode_money(char *out, int64_t cents)
{
	size_t n = encode_uint(out, (uint64_t)(cents / 100));
	out[n++] = '.';
	two(out + n, (int)(cents % 100));
	return n + 2;
}

void
encode_text(struct buf *b, const char *s, size_t n)
{
	if (!buf_reserve(b, 2 * n))
		return;
	char *o = b->data + b->len;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		switch (c) {
		case '\\':
			*o++ = '\\';
			*o++ = '\\';
			break;
		case '\t':
			*o++ = '\\';
			*o++ = 't';
			break;
		case '\n':
			*o++ = '\\';
			*o++ = 'n';
			break;
		case '\r':
			*o++ = '\\';
			*o++ = 'r';
			break;
		default:
			*o++ = c;
		}
	}
	b->len = (size_t)(o - b->data);
}

void
encode_value(struct buf *b, const struct value *v, const char *const *labels)
{
	char tmp[40];
	size_t n;
	switch (v->type) {
	case V_TEXT:
		encode_text(b, v->s, v->n);
		return;
	case V_INT:
		n = put_int(tmp, v->i);
		break;
	case V_MONEY:
		n = encode_money(tmp, v->i);
		break;
	case V_BOOL:
		tmp[0] = v->i ? 't' : 'f';
		n = 1;
		break;
	case V_DATE:
		n = encode_date(tmp, v->i);
		break;
	case V_TIMESTAMP:
		n = encode_timestamp(tmp, v->i);
		break;
	case V_ENUM: {
		const char *l = labels[v->i];
		encode_text(b, l, strlen(l));
		return;
	}
	default: /* V_NULL (V_ABSENT columns are never encoded) */
		buf_put(b, "\\N", 2);
		return;
	}
	buf_put(b, tmp, n);
}
