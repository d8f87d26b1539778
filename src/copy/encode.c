/*
 * encode.c — COPY text encoding of validated values.
 */
#include "encode.h"

#include "calendar.h"

#include <stdlib.h>
#include <string.h>

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

size_t
encode_timestamp(char *out, int64_t usec)
{
	int64_t secs = usec >= 0 ? usec / 1000000 : -((-usec + 999999) / 1000000);
	int64_t frac = usec - secs * 1000000;
	int64_t days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
	int64_t t = secs - days * 86400;
	size_t n = calendar_format_date(out, days);
	out[n++] = ' ';
	n += calendar_format_time(out + n, t);
	if (frac != 0) {
		out[n++] = '.';
		for (int64_t div = 100000; div > 0; div /= 10)
			out[n++] = (char)('0' + frac / div % 10);
	}
	return n;
}

static size_t
two_digits(char *out, uint32_t v)
{
	out[0] = (char)('0' + v / 10 % 10);
	out[1] = (char)('0' + v % 10);
	return 2;
}

size_t
encode_offset(char *out, int32_t off)
{
	uint32_t a = off < 0 ? (uint32_t)(-(int64_t)off) : (uint32_t)off;
	size_t n = 0;
	out[n++] = off < 0 ? '-' : '+';
	n += two_digits(out + n, a / 3600);
	out[n++] = ':';
	n += two_digits(out + n, a / 60 % 60);
	if (a % 60 != 0) {
		out[n++] = ':';
		n += two_digits(out + n, a % 60);
	}
	return n;
}

size_t
encode_money(char *out, int64_t cents)
{
	uint64_t a = cents < 0 ? 0 - (uint64_t)cents : (uint64_t)cents;
	size_t n = 0;
	if (cents < 0)
		out[n++] = '-';
	n += encode_uint(out + n, a / 100);
	unsigned c = (unsigned)(a % 100);
	out[n++] = '.';
	out[n++] = (char)('0' + c / 10);
	out[n++] = (char)('0' + c % 10);
	return n;
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
		n = calendar_format_date(tmp, v->i);
		break;
	case V_TIMESTAMP:
		n = encode_timestamp(tmp, v->i);
		if (v->instant)
			n += encode_offset(tmp + n, v->off);
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

/* ---- binary ------------------------------------------------------------ */

static void
be16(struct buf *b, uint16_t v)
{
	unsigned char x[2] = {(unsigned char)(v >> 8), (unsigned char)v};
	buf_put(b, x, 2);
}

static void
be32(struct buf *b, uint32_t v)
{
	unsigned char x[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16),
	                      (unsigned char)(v >> 8), (unsigned char)v};
	buf_put(b, x, 4);
}

static void
be64(struct buf *b, uint64_t v)
{
	be32(b, (uint32_t)(v >> 32));
	be32(b, (uint32_t)v);
}

enum bin_type
encode_bin_type(const char *typname, char typtype)
{
	static const struct {
		const char *name;
		enum bin_type t;
	} map[] = {
	        {"int2", BIN_INT2},       {"int4", BIN_INT4},           {"int8", BIN_INT8},
	        {"numeric", BIN_NUMERIC}, {"timestamp", BIN_TIMESTAMP}, {"date", BIN_DATE},
	        {"float4", BIN_FLOAT4},   {"float8", BIN_FLOAT8},       {"bool", BIN_BOOL},
	        {"text", BIN_TEXT},       {"varchar", BIN_TEXT},
	};
	if (typtype == 'e')
		return BIN_TEXT; /* an enum's binary form is its label */
	for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
		if (strcmp(typname, map[i].name) == 0)
			return map[i].t;
	return BIN_NONE;
}

void
encode_bin_header(struct buf *b)
{
	buf_put(b, "PGCOPY\n\377\r\n\0", 11);
	be32(b, 0); /* flags */
	be32(b, 0); /* header extension */
}

void
encode_bin_trailer(struct buf *b)
{
	be16(b, 0xFFFF);
}

void
encode_bin_tuple(struct buf *b, int n)
{
	be16(b, (uint16_t)n);
}

void
encode_bin_text(struct buf *b, const char *s, size_t n)
{
	be32(b, (uint32_t)n);
	buf_put(b, s, n);
}

void
encode_bin_int4(struct buf *b, int32_t v)
{
	be32(b, 4);
	be32(b, (uint32_t)v);
}

/* NUMERIC: base-10000 digits, weight of the first, sign, display scale. */
static void
bin_numeric(struct buf *b, int64_t cents)
{
	uint16_t digits[8];
	int n = 0, weight = -1;
	uint64_t ip = (uint64_t)(cents < 0 ? -cents : cents) / 100;
	uint16_t frac = (uint16_t)((uint64_t)(cents < 0 ? -cents : cents) % 100 * 100);
	uint16_t groups[6];
	int ng = 0;
	while (ip > 0) {
		groups[ng++] = (uint16_t)(ip % 10000);
		ip /= 10000;
	}
	for (int i = ng - 1; i >= 0; i--)
		digits[n++] = groups[i];
	weight = ng - 1;
	if (frac != 0)
		digits[n++] = frac;
	while (n > 0 && digits[n - 1] == 0) /* no trailing zero groups */
		n--;
	if (n == 0)
		weight = 0;
	be32(b, (uint32_t)(8 + 2 * n));
	be16(b, (uint16_t)n);
	be16(b, (uint16_t)(int16_t)weight);
	be16(b, cents < 0 ? 0x4000 : 0x0000);
	be16(b, 2);
	for (int i = 0; i < n; i++)
		be16(b, digits[i]);
}

void
encode_bin_value(struct buf *b, const struct value *v, enum bin_type t, const char *const *labels)
{
	if (v->type == V_NULL || v->type == V_ABSENT) {
		be32(b, 0xFFFFFFFF);
		return;
	}
	switch (t) {
	case BIN_INT2:
		be32(b, 2);
		be16(b, (uint16_t)(int16_t)v->i);
		break;
	case BIN_INT4:
		be32(b, 4);
		be32(b, (uint32_t)(int32_t)v->i);
		break;
	case BIN_INT8:
		be32(b, 8);
		be64(b, (uint64_t)v->i);
		break;
	case BIN_NUMERIC:
		bin_numeric(b, v->i);
		break;
	case BIN_FLOAT4: {
		/* From the decimal text, as float4in does: rounding through a
		 * double first could differ in the last bit. */
		char text[32];
		text[encode_money(text, v->i)] = '\0';
		float f = strtof(text, NULL);
		uint32_t u;
		memcpy(&u, &f, sizeof u);
		be32(b, 4);
		be32(b, u);
		break;
	}
	case BIN_FLOAT8: {
		double d = (double)v->i / 100.0;
		uint64_t u;
		memcpy(&u, &d, sizeof u);
		be32(b, 8);
		be64(b, u);
		break;
	}
	case BIN_TIMESTAMP:
		be32(b, 8);
		be64(b, (uint64_t)(v->type == V_DATE ? v->i * INT64_C(86400000000) : v->i));
		break;
	case BIN_DATE:
		be32(b, 4);
		be32(b, (uint32_t)(int32_t)v->i);
		break;
	case BIN_BOOL:
		be32(b, 1);
		buf_put(b, v->i ? "\1" : "\0", 1);
		break;
	case BIN_TEXT:
	case BIN_NONE:
		if (v->type == V_ENUM) {
			encode_bin_text(b, labels[v->i], strlen(labels[v->i]));
		} else if (v->type == V_TEXT) {
			encode_bin_text(b, v->s, v->n);
		} else {
			/* A number into a text column: its text form. */
			struct buf tmp = {0};
			encode_value(&tmp, v, labels);
			encode_bin_text(b, tmp.data ? tmp.data : "", tmp.len);
			buf_free(&tmp);
		}
		break;
	}
}
