/*
 * test_encode.c — COPY's binary format byte for byte (PostgreSQL's *_send
 * layouts: int2/4/8, numeric as base-10000 digits with weight, sign and
 * scale, timestamp and date since 2000-01-01, bool, text, NULL, the stream
 * header and trailer), and the text format's values and escapes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "encode.h"
#include "valid.h"

static const char *const labels[] = {"HOLIDAY", "Promotion", "seasonal", "custom", NULL};

/* The bytes of one binary field for v as type t. */
static size_t
bin(const struct value *v, enum bin_type t, unsigned char *out, size_t size)
{
	struct buf b = {0};
	encode_bin_value(&b, v, t, labels);
	assert_false(b.failed);
	assert_true(b.len <= size);
	memcpy(out, b.data, b.len);
	size_t n = b.len;
	buf_free(&b);
	return n;
}

#define EXPECT_BIN(v, t, ...)                                                                      \
	do {                                                                                       \
		static const unsigned char want[] = {__VA_ARGS__};                                 \
		unsigned char got[64];                                                             \
		size_t n = bin(v, t, got, sizeof got);                                             \
		assert_int_equal(n, sizeof want);                                                  \
		assert_memory_equal(got, want, sizeof want);                                       \
	} while (0)

static struct value
num(enum vtype type, int64_t i)
{
	struct value v;
	memset(&v, 0, sizeof v);
	v.type = type;
	v.i = i;
	return v;
}

static void
test_integers(void **state)
{
	(void)state;
	struct value v = num(V_INT, 42);
	EXPECT_BIN(&v, BIN_INT4, 0, 0, 0, 4, 0, 0, 0, 42);
	EXPECT_BIN(&v, BIN_INT2, 0, 0, 0, 2, 0, 42);
	v.i = -1;
	EXPECT_BIN(&v, BIN_INT8, 0, 0, 0, 8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff);
	v.i = 2147483647;
	EXPECT_BIN(&v, BIN_INT4, 0, 0, 0, 4, 0x7f, 0xff, 0xff, 0xff);
	v.i = INT64_C(5000000000);
	EXPECT_BIN(&v, BIN_INT8, 0, 0, 0, 8, 0, 0, 0, 1, 0x2a, 0x05, 0xf2, 0);
}

/* numeric_send: length, ndigits, weight, sign, dscale, then the digits. */
static void
test_numeric(void **state)
{
	(void)state;
	struct value v = num(V_MONEY, 1250000); /* 12500.00 = 1 * 10000 + 2500 */
	EXPECT_BIN(&v, BIN_NUMERIC, 0, 0, 0, 12, 0, 2, 0, 1, 0, 0, 0, 2, 0, 1, 0x09, 0xc4);
	v.i = 0; /* zero: no digits, weight 0 */
	EXPECT_BIN(&v, BIN_NUMERIC, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 2);
	v.i = 50; /* 0.50: one digit 5000 at weight -1 */
	EXPECT_BIN(&v, BIN_NUMERIC, 0, 0, 0, 10, 0, 1, 0xff, 0xff, 0, 0, 0, 2, 0x13, 0x88);
	v.i = -5; /* -0.05: digit 500, sign 0x4000 */
	EXPECT_BIN(&v, BIN_NUMERIC, 0, 0, 0, 10, 0, 1, 0xff, 0xff, 0x40, 0, 0, 2, 0x01, 0xf4);
	v.i = 101; /* 1.01: digits 1, 100 */
	EXPECT_BIN(&v, BIN_NUMERIC, 0, 0, 0, 12, 0, 2, 0, 0, 0, 0, 0, 2, 0, 1, 0, 100);
	v.i = 1000000; /* 10000.00: 1 at weight 1, trailing zero groups dropped */
	EXPECT_BIN(&v, BIN_NUMERIC, 0, 0, 0, 10, 0, 1, 0, 1, 0, 0, 0, 2, 0, 1);
	v.i = INT64_C(9999999999); /* 99999999.99 */
	EXPECT_BIN(&v, BIN_NUMERIC, 0, 0, 0, 14, 0, 3, 0, 1, 0, 0, 0, 2, 0x27, 0x0f, 0x27, 0x0f,
	           0x26, 0xac);
}

/* Money into an app's float columns: the float nearest the decimal, as
 * float8in/float4in read its text. */
static void
test_floats(void **state)
{
	(void)state;
	struct value v = num(V_MONEY, 1234);
	EXPECT_BIN(&v, BIN_FLOAT8, 0, 0, 0, 8, 0x40, 0x28, 0xae, 0x14, 0x7a, 0xe1, 0x47, 0xae);
	EXPECT_BIN(&v, BIN_FLOAT4, 0, 0, 0, 4, 0x41, 0x45, 0x70, 0xa4);
	v.i = INT64_C(9999999999);
	EXPECT_BIN(&v, BIN_FLOAT8, 0, 0, 0, 8, 0x41, 0x97, 0xd7, 0x83, 0xff, 0xf5, 0xc2, 0x8f);
	assert_int_equal(encode_bin_type("float8", 'b'), BIN_FLOAT8);
	assert_int_equal(encode_bin_type("float4", 'b'), BIN_FLOAT4);
	/* A date into a timestamp column: its midnight. */
	v = num(V_DATE, 8766);
	EXPECT_BIN(&v, BIN_TIMESTAMP, 0, 0, 0, 8, 0x00, 0x02, 0xb0, 0xd5, 0xd4, 0xe9, 0x40, 0x00);
}

static void
test_time_bool_null(void **state)
{
	(void)state;
	/* 2024-01-01 10:00:00.5: 8766 days and 36000.5 s after 2000-01-01. */
	int64_t us = (INT64_C(8766) * 86400 + 36000) * 1000000 + 500000;
	struct value v = num(V_TIMESTAMP, us);
	EXPECT_BIN(&v, BIN_TIMESTAMP, 0, 0, 0, 8, 0x00, 0x02, 0xb0, 0xde, 0x36, 0xb5, 0x49, 0x20);
	v = num(V_DATE, 8766);
	EXPECT_BIN(&v, BIN_DATE, 0, 0, 0, 4, 0, 0, 0x22, 0x3e);
	v.i = -1; /* 1999-12-31 */
	EXPECT_BIN(&v, BIN_DATE, 0, 0, 0, 4, 0xff, 0xff, 0xff, 0xff);
	v = num(V_BOOL, 1);
	EXPECT_BIN(&v, BIN_BOOL, 0, 0, 0, 1, 1);
	v.i = 0;
	EXPECT_BIN(&v, BIN_BOOL, 0, 0, 0, 1, 0);
	v = num(V_NULL, 0);
	EXPECT_BIN(&v, BIN_NUMERIC, 0xff, 0xff, 0xff, 0xff);
	v = num(V_ABSENT, 0);
	EXPECT_BIN(&v, BIN_TEXT, 0xff, 0xff, 0xff, 0xff);
}

static void
test_text_fields(void **state)
{
	(void)state;
	struct value v;
	memset(&v, 0, sizeof v);
	v.type = V_TEXT;
	v.s = "Roti\tTawar";
	v.n = 10; /* binary text is not escaped */
	EXPECT_BIN(&v, BIN_TEXT, 0, 0, 0, 10, 'R', 'o', 't', 'i', '\t', 'T', 'a', 'w', 'a', 'r');
	v.n = 0;
	EXPECT_BIN(&v, BIN_TEXT, 0, 0, 0, 0);
	/* An enum is sent as the database's label. */
	v = num(V_ENUM, 1);
	EXPECT_BIN(&v, BIN_TEXT, 0, 0, 0, 9, 'P', 'r', 'o', 'm', 'o', 't', 'i', 'o', 'n');
	/* A number into a text column: its text form. */
	v = num(V_MONEY, 12550);
	EXPECT_BIN(&v, BIN_TEXT, 0, 0, 0, 6, '1', '2', '5', '.', '5', '0');
	v = num(V_INT, -7);
	EXPECT_BIN(&v, BIN_NONE, 0, 0, 0, 2, '-', '7');
}

static void
test_stream(void **state)
{
	(void)state;
	struct buf b = {0};
	encode_bin_header(&b);
	encode_bin_tuple(&b, 3);
	encode_bin_int4(&b, 7);
	encode_bin_text(&b, "ab", 2);
	encode_bin_trailer(&b);
	static const unsigned char want[] = {'P', 'G', 'C', 'O', 'P', 'Y',  '\n', 0xff, '\r', '\n',
	                                     0,   0,   0,   0,   0,   0,    0,    0,    0,    0,
	                                     3,   0,   0,   0,   4,   0,    0,    0,    7,    0,
	                                     0,   0,   2,   'a', 'b', 0xff, 0xff};
	assert_int_equal(b.len, sizeof want);
	assert_memory_equal(b.data, want, sizeof want);
	buf_free(&b);
	assert_int_equal(encode_bin_type("int4", 'b'), BIN_INT4);
	assert_int_equal(encode_bin_type("numeric", 'b'), BIN_NUMERIC);
	assert_int_equal(encode_bin_type("event_type", 'e'), BIN_TEXT);
	assert_int_equal(encode_bin_type("timestamptz", 'b'), BIN_NONE);
}

/* The text format of each value, escapes included. */
static void
test_text_format(void **state)
{
	(void)state;
	struct {
		struct value v;
		const char *want;
	} cases[] = {
	        {num(V_INT, -2147483648LL), "-2147483648"},
	        {num(V_MONEY, 5), "0.05"},
	        {num(V_MONEY, -12345), "-123.45"},
	        {num(V_MONEY, 9999999999LL), "99999999.99"},
	        {num(V_BOOL, 1), "t"},
	        {num(V_DATE, -1), "1999-12-31"},
	        {num(V_DATE, 0), "2000-01-01"},
	        {num(V_TIMESTAMP, INT64_C(3600000001)), "2000-01-01 01:00:00.000001"},
	        {num(V_TIMESTAMP, -1), "1999-12-31 23:59:59.999999"},
	        /* An instant carries its zone's offset: a TIMESTAMPTZ column
	         * then reads the instant, a TIMESTAMP one ignores it. */
	        {{.type = V_TIMESTAMP, .i = INT64_C(3600000000), .instant = true, .off = -14400},
	         "2000-01-01 01:00:00-04:00"},
	        {{.type = V_TIMESTAMP, .i = 0, .instant = true, .off = 0},
	         "2000-01-01 00:00:00+00:00"},
	        {{.type = V_TIMESTAMP, .i = 0, .instant = true, .off = 20700},
	         "2000-01-01 00:00:00+05:45"},
	        {{.type = V_TIMESTAMP, .i = 0, .instant = true, .off = -17762},
	         "2000-01-01 00:00:00-04:56:02"},
	        {num(V_ENUM, 0), "HOLIDAY"},
	        {num(V_NULL, 0), "\\N"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct buf b = {0};
		encode_value(&b, &cases[i].v, labels);
		if (b.len != strlen(cases[i].want) || memcmp(b.data, cases[i].want, b.len) != 0)
			fail_msg("case %zu: \"%.*s\", want \"%s\"", i, (int)b.len, b.data,
			         cases[i].want);
		buf_free(&b);
	}
	struct buf b = {0};
	encode_text(&b, "a\\b\tc\nd\re", 9);
	assert_int_equal(b.len, 13);
	assert_memory_equal(b.data, "a\\\\b\\tc\\nd\\re", 13);
	buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_integers),       cmocka_unit_test(test_numeric),
	        cmocka_unit_test(test_time_bool_null), cmocka_unit_test(test_text_fields),
	        cmocka_unit_test(test_stream),         cmocka_unit_test(test_text_format),
	        cmocka_unit_test(test_floats),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
