/*
 * test_valid.c — every rule of docs/formats.md, at its boundaries,
 * through the real column definitions of table.c.  Each case: kind, column,
 * value -> the normalised value, or a piece of the expected reason.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calendar.h"
#include "colmap.h"
#include "record.h"
#include "valid.h"
#include "text.h"

/* Today, for the cases: 2026-11-25, so tomorrow is 2026-11-26. */
#define TODAY_Y 2026
#define TODAY_M 11
#define TODAY_D 25

struct vcase {
	enum kind kind;
	const char *col;
	const char *in;
	const char *expect; /* "=rendered value" when valid, else part of the reason */
};

#define OK(k, c, in, out)                                                                          \
	{                                                                                          \
		k, c, in, "=" out                                                                  \
	}
#define NO(k, c, in, why)                                                                          \
	{                                                                                          \
		k, c, in, why                                                                      \
	}
#define P KIND_PRODUCTS
#define S KIND_SALES
#define E KIND_EVENTS
#define U KIND_USERS

static const struct vcase cases[] = {
        /* money: plain decimal, at most 2 decimals, 0 <= p <= 99999999.99 */
        OK(P, "price", "99999999.99", "money 9999999999"),
        NO(P, "price", "100000000.00", "\"100000000.00\" is more than 99999999.99"),
        NO(P, "price", "100000000", "is more than 99999999.99"),
        NO(P, "price", "1.005", "\"1.005\" has more than 2 decimals"),
        NO(P, "price", "1.500", "has more than 2 decimals"),
        OK(P, "price", "1.5", "money 150"),
        OK(P, "price", "0", "money 0"),
        OK(P, "price", "0.00", "money 0"),
        OK(P, "price", ".5", "money 50"),
        OK(P, "price", "1.", "money 100"),
        OK(P, "price", "007.10", "money 710"),
        OK(P, "price", " 12.50 ", "money 1250"),
        NO(P, "price", "12,50", "\"12,50\" is not a plain decimal"),
        NO(P, "price", "1,234.00", "is not a plain decimal"),
        NO(P, "price", "Rp 5000", "is not a plain decimal"),
        NO(P, "price", "$5", "is not a plain decimal"),
        NO(P, "price", "1e3", "is not a plain decimal"),
        NO(P, "price", "+5", "is not a plain decimal"),
        NO(P, "price", ".", "is not a plain decimal"),
        NO(P, "price", "1.2.3", "is not a plain decimal"),
        NO(P, "price", "-1", "\"-1\" is negative"),
        NO(P, "price", "-0.01", "is negative"),
        NO(P, "price", "", "is empty, but required"),
        NO(P, "price", "   ", "is empty, but required"),
        NO(P, "price", "99999999999999999999999999999", "is more than 99999999.99"),
        OK(S, "price_per_unit", "", "null"),
        /* integers */
        OK(P, "stock", "", "int 0"),
        OK(P, "stock", "2147483647", "int 2147483647"),
        NO(P, "stock", "2147483648", "\"2147483648\" is out of range 0..2147483647"),
        NO(P, "stock", "-1", "is out of range 0..2147483647"),
        NO(P, "stock", "1.0", "\"1.0\" is not an integer"),
        NO(P, "stock", "1 000", "is not an integer"),
        NO(P, "stock", "99999999999999999999999999", "is out of range"),
        OK(P, "stock", "+3", "int 3"),
        NO(S, "quantity_sold", "0", "\"0\" is out of range 1..2147483647"),
        OK(S, "quantity_sold", "1", "int 1"),
        NO(S, "quantity_sold", "", "is empty, but required"),
        /* timestamps */
        OK(S, "transaction_date", "2024-02-29", "ts 2024-02-29 00:00:00.000000"),
        NO(S, "transaction_date", "2023-02-29", "\"2023-02-29\" is not a real calendar date"),
        NO(S, "transaction_date", "2024-13-01", "is not a real calendar date"),
        NO(S, "transaction_date", "2024-04-31", "is not a real calendar date"),
        NO(S, "transaction_date", "0000-01-01", "is not a real calendar date"),
        OK(S, "transaction_date", "1900-02-28", "ts 1900-02-28 00:00:00.000000"),
        NO(S, "transaction_date", "1900-02-29", "is not a real calendar date"),
        OK(S, "transaction_date", "2000-02-29", "ts 2000-02-29 00:00:00.000000"),
        NO(S, "transaction_date", "2024-01-01 24:00:00", "is not a real time of day"),
        NO(S, "transaction_date", "2024-01-01 23:60", "is not a real time of day"),
        NO(S, "transaction_date", "2024-01-01 23:59:60", "is not a real time of day"),
        OK(S, "transaction_date", "2024-01-01 23:59:59.999999", "ts 2024-01-01 23:59:59.999999"),
        OK(S, "transaction_date", "2024-01-01 23:59:59.5", "ts 2024-01-01 23:59:59.500000"),
        NO(S, "transaction_date", "2024-01-01 10:00:00.1234567", "is not YYYY-MM-DD"),
        NO(S, "transaction_date", "2024-01-01 10:00:00.", "is not YYYY-MM-DD"),
        OK(S, "transaction_date", "2024-01-01T10:00", "ts 2024-01-01 10:00:00.000000"),
        OK(S, "transaction_date", "2024-01-01 10:00:00Z", "ts 2024-01-01 10:00:00.000000 +00:00"),
        OK(S, "transaction_date", "2024-01-01 10:00:00+07:00",
           "ts 2024-01-01 03:00:00.000000 +00:00"),
        OK(S, "transaction_date", "2024-01-01 01:00+07:00", "ts 2023-12-31 18:00:00.000000 +00:00"),
        OK(S, "transaction_date", "2024-12-31 22:30-05:30", "ts 2025-01-01 04:00:00.000000 +00:00"),
        NO(S, "transaction_date", "2024-01-01 10:00+16:00", "has an offset beyond"),
        OK(S, "transaction_date", "2024-01-01 10:00+0700", "ts 2024-01-01 03:00:00.000000 +00:00"),
        OK(S, "transaction_date", "2024-01-01 10:00-04", "ts 2024-01-01 14:00:00.000000 +00:00"),
        NO(S, "transaction_date", "2024-01-01 10:00+7", "is not YYYY-MM-DD"),
        NO(S, "transaction_date", "2024-01-01 10:00+070", "is not YYYY-MM-DD"),
        NO(S, "transaction_date", "2024-01-01 10:00+07:0", "is not YYYY-MM-DD"),
        NO(S, "transaction_date", "2024-01-01 10:00+07-00", "is not YYYY-MM-DD"),
        NO(S, "transaction_date", "2024-01-01 10:00+1600", "has an offset beyond"),
        NO(S, "transaction_date", "2024-01-01Z", "is not YYYY-MM-DD"),
        NO(S, "transaction_date", "01/02/2024", "\"01/02/2024\" is not YYYY-MM-DD"),
        NO(S, "transaction_date", "2024-1-1", "is not YYYY-MM-DD"),
        NO(S, "transaction_date", "2024-01-01 10", "is not YYYY-MM-DD"),
        NO(S, "transaction_date", "2024-01-01 10:00 x", "is not YYYY-MM-DD"),
        OK(S, "transaction_date", " 2024-01-01 10:00 ", "ts 2024-01-01 10:00:00.000000"),
        OK(S, "transaction_date", "2026-11-26 23:59:59", "ts 2026-11-26 23:59:59.000000"),
        NO(S, "transaction_date", "2026-11-27", "is later than tomorrow (2026-11-26)"),
        /* The offset converts to the 26th in UTC: not later than tomorrow. */
        OK(S, "transaction_date", "2026-11-27 00:30+07:00", "ts 2026-11-26 17:30:00.000000 +00:00"),
        /* dates */
        OK(E, "event_date", "2024-02-29", "date 2024-02-29"),
        NO(E, "event_date", "2023-02-29", "is not a real calendar date"),
        OK(E, "event_date", "2099-12-31", "date 2099-12-31"),
        NO(E, "event_date", "2024-02-29 10:00", "is not a date YYYY-MM-DD"),
        NO(E, "event_date", "29-02-2024", "is not a date YYYY-MM-DD"),
        /* enum */
        OK(E, "type", "Holiday", "enum 0"),
        OK(E, "type", "CUSTOM", "enum 3"),
        OK(E, "type", " seasonal ", "enum 2"),
        NO(E, "type", "birthday",
           "\"birthday\" is not one of holiday, promotion, seasonal, custom"),
        /* booleans */
        OK(S, "is_promo", "yes", "bool 1"),
        OK(S, "is_promo", "Y", "bool 1"),
        OK(S, "is_promo", "TRUE", "bool 1"),
        OK(S, "is_promo", "t", "bool 1"),
        OK(S, "is_promo", "1", "bool 1"),
        OK(S, "is_promo", "No", "bool 0"),
        OK(S, "is_promo", "f", "bool 0"),
        OK(S, "is_promo", "0", "bool 0"),
        OK(S, "is_promo", "", "bool 0"),
        OK(E, "include_in_prediction", "", "bool 1"),
        OK(U, "is_active", "", "bool 1"),
        NO(S, "is_promo", "maybe", "\"maybe\" is not a boolean"),
        NO(S, "is_promo", "2", "is not a boolean"),
        /* text lengths count characters, as VARCHAR(n) does */
        OK(P, "name", "Roti Tawar", "text Roti Tawar"),
        NO(P, "name", "", "is empty, but required"),
        OK(P, "category", "", "null"),
        NO(P, "name", "\xff", "is not valid UTF-8 (byte 1)"),
        NO(P, "name", "ab\xc3", "is not valid UTF-8 (byte 3)"),
        NO(P, "name", "\xc0\xaf", "is not valid UTF-8"),         /* overlong */
        NO(P, "name", "\xed\xa0\x80", "is not valid UTF-8"),     /* surrogate */
        NO(P, "name", "\xf4\x90\x80\x80", "is not valid UTF-8"), /* > U+10FFFF */
        OK(P, "name", "\xf0\x9f\x8d\x9e", "text \xf0\x9f\x8d\x9e"),
        /* SKUs */
        OK(P, "sku", "BRD-001", "text BRD-001"),
        OK(P, "sku", "  BRD-001 ", "text BRD-001"),
        OK(P, "sku", "a.b_c/d-9", "text a.b_c/d-9"),
        NO(P, "sku", "-BRD", "\"-BRD\" does not match the SKU pattern"),
        NO(P, "sku", "BR D", "does not match the SKU pattern"),
        NO(P, "sku", "caf\xc3\xa9", "does not match the SKU pattern"),
        NO(P, "sku", "", "is empty, but required"),
        OK(S, "sku", " X ", "text X"),
        /* e-mail addresses, kept as written but trimmed */
        OK(U, "email", "Admin@Example.COM", "text Admin@Example.COM"),
        OK(U, "email", " a.b+c@toko.co.id ", "text a.b+c@toko.co.id"),
        OK(U, "email", "admin@localhost", "text admin@localhost"),
        NO(U, "email", "a@", "\"a@\" is not an e-mail address"),
        NO(U, "email", "@b.co", "is not an e-mail address"),
        NO(U, "email", "a b@c.d", "is not an e-mail address"),
        NO(U, "email", "a@-b.co", "is not an e-mail address"),
        NO(U, "email", "a@b..co", "is not an e-mail address"),
        NO(U, "email", "a@b.co.", "is not an e-mail address"),
        NO(U, "email", "no-at-sign", "is not an e-mail address"),
        /* password hashes */
        OK(U, "password_hash",
           "pbkdf2:sha256:600000$Qm9Bz3xK1yT8wE2r$"
           "3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a",
           "text pbkdf2:sha256:600000$Qm9Bz3xK1yT8wE2r$"
           "3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a"),
        OK(U, "password_hash",
           "pbkdf2:sha256$salt$"
           "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
           "text "
           "pbkdf2:sha256$salt$00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"),
        NO(U, "password_hash",
           "pbkdf2:sha256:600000$salt$"
           "0011223344556677889900112233445566778899aabbccddeeff0011223344",
           "is not a werkzeug"),
        NO(U, "password_hash", "pbkdf2:md5:1000$salt$00112233445566778899aabbccddeeff",
           "is not a werkzeug"),
        OK(U, "password_hash",
           "scrypt:32768:8:1$abcdEFGH12345678$"
           "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
           "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
           "text scrypt:32768:8:1$abcdEFGH12345678$"
           "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
           "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"),
        NO(U, "password_hash", "scrypt:32768:8$abcd$00", "is not a werkzeug"),
        OK(U, "password_hash", "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW",
           "text $2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW"),
        NO(U, "password_hash", "$2b$12$short", "is not a werkzeug"),
        NO(U, "password_hash", "hunter2", "\"hunter2\" is not a werkzeug"),
        OK(U, "password_hash", "", "null"),
        OK(U, "password", "correct horse", "text correct horse"),
};

static void
render(const struct value *v, char *buf, size_t size)
{
	int y, m, d;
	switch (v->type) {
	case V_NULL:
		(void)snprintf(buf, size, "=null");
		break;
	case V_TEXT:
		(void)snprintf(buf, size, "=text %.*s", (int)v->n, v->s);
		break;
	case V_INT:
		(void)snprintf(buf, size, "=int %lld", (long long)v->i);
		break;
	case V_MONEY:
		(void)snprintf(buf, size, "=money %lld", (long long)v->i);
		break;
	case V_BOOL:
		(void)snprintf(buf, size, "=bool %lld", (long long)v->i);
		break;
	case V_ENUM:
		(void)snprintf(buf, size, "=enum %lld", (long long)v->i);
		break;
	case V_DATE:
		calendar_civil_from_days(v->i, &y, &m, &d);
		(void)snprintf(buf, size, "=date %04d-%02d-%02d", y, m, d);
		break;
	case V_TIMESTAMP: {
		int64_t us = v->i % 1000000, s = v->i / 1000000;
		calendar_civil_from_days(s / 86400, &y, &m, &d);
		int64_t t = s % 86400;
		int k = snprintf(buf, size, "=ts %04d-%02d-%02d %02lld:%02lld:%02lld.%06lld", y, m,
		                 d, (long long)(t / 3600), (long long)(t / 60 % 60),
		                 (long long)(t % 60), (long long)us);
		/* An instant: the zone's offset there travels with it. */
		if (v->instant && k > 0 && (size_t)k < size)
			(void)snprintf(buf + k, size - (size_t)k, " %c%02d:%02d",
			               v->off < 0 ? '-' : '+', abs(v->off) / 3600,
			               abs(v->off) / 60 % 60);
		break;
	}
	default:
		(void)snprintf(buf, size, "=absent");
	}
}

static struct validator *
open_validator(const char *tz, bool allow_future)
{
	struct validator *v = NULL;
	struct valid_opts o = {
	        .timezone = tz,
	        .allow_future = allow_future,
	        .fixed_today = true,
	        .today = (int32_t)calendar_days_from_civil(TODAY_Y, TODAY_M, TODAY_D),
	};
	assert_int_equal(valid_open(&v, &o, NULL), ETL_OK);
	return v;
}

static void
check_case(struct validator *v, const struct vcase *tc)
{
	const struct table_def *t = table_get(tc->kind);
	int c = table_col_index(t, tc->col, strlen(tc->col));
	assert_true(c >= 0);
	struct value val;
	char why[512] = "", got[512];
	bool ok = valid_value(v, &t->cols[c], tc->in, strlen(tc->in), &val, why, sizeof why);
	if (ok)
		render(&val, got, sizeof got);
	else
		(void)snprintf(got, sizeof got, "%s", why);
	bool want_ok = tc->expect[0] == '=';
	if (ok != want_ok || (ok && strcmp(got, tc->expect) != 0) ||
	    (!ok && strstr(got, tc->expect) == NULL))
		fail_msg("%s.%s \"%s\":\n  got      %s%s\n  expected %s%s", t->name, tc->col,
		         tc->in, ok ? "" : "invalid: ", got,
		         want_ok ? "" : "invalid: ", tc->expect);
}

/* Every case against a validator of the zone (NULL: UTC). */
static void
check_cases(const char *tz, bool allow_future, const struct vcase *c, size_t n)
{
	struct validator *v = open_validator(tz, allow_future);
	/* The zone belongs to the validator, not to the process. */
	assert_null(getenv("TZ"));
	for (size_t i = 0; i < n; i++)
		check_case(v, &c[i]);
	valid_close(v);
}

static void
test_rules(void **state)
{
	(void)state;
	check_cases(NULL, false, cases, sizeof cases / sizeof cases[0]);
}

/* The same instant with an offset is converted to --timezone; a wall time
 * without one is kept; tomorrow is tomorrow in that zone. */
static void
test_timezone(void **state)
{
	(void)state;
	(void)unsetenv("TZ");
	static const struct vcase tz_cases[] = {
	        OK(S, "transaction_date", "2024-01-01 10:00:00Z",
	           "ts 2024-01-01 17:00:00.000000 +07:00"),
	        OK(S, "transaction_date", "2024-01-01 10:00:00+07:00",
	           "ts 2024-01-01 10:00:00.000000 +07:00"),
	        OK(S, "transaction_date", "2024-01-01 20:00:00-05:00",
	           "ts 2024-01-02 08:00:00.000000 +07:00"),
	        OK(S, "transaction_date", "2024-01-01 10:00:00", "ts 2024-01-01 10:00:00.000000"),
	        OK(S, "transaction_date", "2026-11-26 16:59:59Z",
	           "ts 2026-11-26 23:59:59.000000 +07:00"),
	        NO(S, "transaction_date", "2026-11-26 17:00:00Z",
	           "is later than tomorrow (2026-11-26)"),
	};
	check_cases("Asia/Jakarta", false, tz_cases, sizeof tz_cases / sizeof tz_cases[0]);
	static const struct vcase future =
	        OK(S, "transaction_date", "2030-06-01", "ts 2030-06-01 00:00:00.000000");
	check_cases(NULL, true, &future, 1);
}

/* The hour a fall-back repeats: two instants, one wall clock, each with
 * the offset that tells them apart (a TIMESTAMPTZ column gets the right
 * one); and the instants around the spring-forward gap. */
static void
test_daylight_saving(void **state)
{
	(void)state;
	static const struct vcase dst_cases[] = {
	        OK(S, "transaction_date", "2025-11-02T05:30:00Z",
	           "ts 2025-11-02 01:30:00.000000 -04:00"),
	        OK(S, "transaction_date", "2025-11-02T06:30:00Z",
	           "ts 2025-11-02 01:30:00.000000 -05:00"),
	        OK(S, "transaction_date", "2025-11-02T01:30:00-05",
	           "ts 2025-11-02 01:30:00.000000 -05:00"),
	        OK(S, "transaction_date", "2025-11-02 13:30+0700",
	           "ts 2025-11-02 01:30:00.000000 -05:00"),
	        OK(S, "transaction_date", "2025-03-09T06:59:59Z",
	           "ts 2025-03-09 01:59:59.000000 -05:00"),
	        OK(S, "transaction_date", "2025-03-09T07:00:00Z",
	           "ts 2025-03-09 03:00:00.000000 -04:00"),
	        OK(S, "transaction_date", "2025-11-02 01:30:00", "ts 2025-11-02 01:30:00.000000"),
	};
	check_cases("America/New_York", true, dst_cases, sizeof dst_cases / sizeof dst_cases[0]);
}

static void
test_lengths_count_characters(void **state)
{
	(void)state;
	struct validator *v = open_validator(NULL, false);
	const struct table_def *t = table_get(KIND_PRODUCTS);
	const struct col_def *name = &t->cols[table_col_index(t, "name", 4)];
	const struct col_def *cat = &t->cols[table_col_index(t, "category", 8)];
	const struct col_def *sku = &t->cols[table_col_index(t, "sku", 3)];
	char buf[1024];
	struct value val;
	char why[256];
	/* 255 two-byte characters fit VARCHAR(255); 256 do not. */
	for (int i = 0; i < 256; i++)
		memcpy(buf + 2 * i, "\xc3\xa9", 2);
	assert_true(valid_value(v, name, buf, 510, &val, why, sizeof why));
	assert_false(valid_value(v, name, buf, 512, &val, why, sizeof why));
	assert_string_equal(why, "has 256 characters, more than 255");
	memset(buf, 'x', 101);
	assert_true(valid_value(v, cat, buf, 100, &val, why, sizeof why));
	assert_false(valid_value(v, cat, buf, 101, &val, why, sizeof why));
	assert_true(valid_value(v, sku, buf, 100, &val, why, sizeof why));
	assert_false(valid_value(v, sku, buf, 101, &val, why, sizeof why));
	/* A NUL byte is rejected, and shown escaped. */
	assert_false(valid_value(v, name, "a\0b", 3, &val, why, sizeof why));
	assert_string_equal(why, "\"a\\x00b\" holds a NUL byte (byte 2)");
	valid_close(v);
}

static void
test_secret_never_shown(void **state)
{
	(void)state;
	struct validator *v = open_validator(NULL, false);
	const struct table_def *t = table_get(KIND_USERS);
	const struct col_def *pw = &t->cols[table_col_index(t, "password", 8)];
	struct value val;
	char why[256];
	assert_false(valid_value(v, pw, "s3cr\xff", 5, &val, why, sizeof why));
	assert_null(strstr(why, "s3cr"));
	char longpw[1100];
	memset(longpw, 'q', sizeof longpw);
	assert_false(valid_value(v, pw, longpw, sizeof longpw, &val, why, sizeof why));
	assert_null(strstr(why, "qqq"));
	valid_close(v);
}

static void
test_custom_sku_pattern(void **state)
{
	(void)state;
	struct validator *v = NULL;
	struct valid_opts o = {.sku_pattern = "^[A-Z]{3}-[0-9]{3}$", .fixed_today = true};
	assert_int_equal(valid_open(&v, &o, NULL), ETL_OK);
	const struct table_def *t = table_get(KIND_PRODUCTS);
	const struct col_def *sku = &t->cols[table_col_index(t, "sku", 3)];
	struct value val;
	char why[256];
	assert_true(valid_value(v, sku, "BRD-001", 7, &val, why, sizeof why));
	assert_false(valid_value(v, sku, "brd-001", 7, &val, why, sizeof why));
	assert_non_null(strstr(why, "given by --sku-pattern"));
	valid_close(v);

	struct etl_error err;
	o.sku_pattern = "([unclosed";
	assert_int_equal(valid_open(&v, &o, &err), ETL_EUSAGE);
	assert_non_null(strstr(err.msg, "--sku-pattern"));
	o.sku_pattern = NULL;
	o.timezone = "Mars/Olympus";
	assert_int_equal(valid_open(&v, &o, &err), ETL_EUSAGE);
	assert_non_null(strstr(err.msg, "unknown time zone \"Mars/Olympus\""));
	o.timezone = "../../etc/passwd";
	assert_int_equal(valid_open(&v, &o, &err), ETL_EUSAGE);
}

/* Builds a record from "|"-separated fields. */
static struct csvrow_record
record(char *fields_text, long line, char **store, size_t *lens)
{
	struct csvrow_record r = {line, line, 0, store, lens, NULL};
	for (char *tok = strtok(fields_text, "|"); tok != NULL; tok = strtok(NULL, "|")) {
		if (strcmp(tok, "_") == 0)
			tok[0] = '\0';
		store[r.nfields] = tok;
		lens[r.nfields] = strlen(tok);
		r.nfields++;
	}
	return r;
}

static void
header_map(struct colmap *m, enum kind k, const char *cols)
{
	char buf[256], *store[16];
	size_t lens[16];
	(void)snprintf(buf, sizeof buf, "%s", cols);
	struct csvrow_record h = record(buf, 1, store, lens);
	assert_int_equal(colmap_build(m, k, &h, NULL, "t.csv", NULL), ETL_OK);
}

static void
test_rows(void **state)
{
	(void)state;
	struct validator *v = open_validator(NULL, false);
	struct colmap m;
	struct valid_row row;
	char why[1024], buf[256], *store[16];
	size_t lens[16];

	/* Sales: the SKU must be known; an empty price takes the product's. */
	header_map(&m, KIND_SALES, "sku|quantity_sold|price_per_unit|transaction_date");
	struct keyset *skus = keyset_new();
	int64_t *p = keyset_find(skus, "BRD-001", 7, true, NULL);
	p[0] = 42;
	p[1] = 500000;
	(void)snprintf(buf, sizeof buf, "BRD-001|3|_|2024-01-01");
	struct csvrow_record r = record(buf, 2, store, lens);
	assert_true(record_check(v, &m, &r, skus, &row, why, sizeof why));
	assert_int_equal(row.v[0].type, V_INT);
	assert_int_equal(row.v[0].i, 42);
	assert_int_equal(row.v[2].type, V_MONEY);
	assert_int_equal(row.v[2].i, 500000);
	assert_int_equal(row.v[4].type, V_ABSENT); /* is_promo not in the file */
	(void)snprintf(buf, sizeof buf, "NOPE-1|0|12,5|2023-02-29");
	r = record(buf, 3, store, lens);
	assert_false(record_check(v, &m, &r, skus, &row, why, sizeof why));
	assert_string_equal(why, "sku: \"NOPE-1\" is not a known product; quantity_sold: \"0\" is "
	                         "out of range 1..2147483647; price_per_unit: \"12,5\" is not a "
	                         "plain decimal (digits, an optional '.' and cents); "
	                         "transaction_date: \"2023-02-29\" is not a real calendar date");
	/* Without a SKU set (no database), SKUs are not checked. */
	(void)snprintf(buf, sizeof buf, "NOPE-1|1|_|2024-01-01");
	r = record(buf, 4, store, lens);
	assert_true(record_check(v, &m, &r, NULL, &row, why, sizeof why));
	assert_int_equal(row.v[2].type, V_NULL);
	/* The wrong number of fields. */
	(void)snprintf(buf, sizeof buf, "BRD-001|1");
	r = record(buf, 5, store, lens);
	assert_false(record_check(v, &m, &r, skus, &row, why, sizeof why));
	assert_string_equal(why, "the row has 2 fields, the header 4");
	/* A malformed record says so. */
	(void)snprintf(buf, sizeof buf, "BRD-001|1|1|2024-01-01");
	r = record(buf, 6, store, lens);
	r.error = "field 2: a quote inside an unquoted field";
	assert_false(record_check(v, &m, &r, skus, &row, why, sizeof why));
	assert_string_equal(why, "malformed CSV: field 2: a quote inside an unquoted field");
	colmap_free(&m);
	keyset_free(skus);

	/* Users: exactly one of password_hash and password. */
	header_map(&m, KIND_USERS, "email|full_name|password_hash|password");
	(void)snprintf(buf, sizeof buf, "a@b.co|A|_|_");
	r = record(buf, 2, store, lens);
	assert_false(record_check(v, &m, &r, NULL, &row, why, sizeof why));
	assert_string_equal(why, "password_hash/password: one of the two is required");
	(void)snprintf(buf, sizeof buf,
	               "a@b.co|A|$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW|pw");
	r = record(buf, 3, store, lens);
	assert_false(record_check(v, &m, &r, NULL, &row, why, sizeof why));
	assert_string_equal(why, "password_hash/password: give one of the two, not both");
	(void)snprintf(buf, sizeof buf, "a@b.co|A|_|pw");
	r = record(buf, 4, store, lens);
	assert_true(record_check(v, &m, &r, NULL, &row, why, sizeof why));
	colmap_free(&m);
	valid_close(v);
}

static void
test_civil_round_trip(void **state)
{
	(void)state;
	assert_int_equal(calendar_days_from_civil(2000, 1, 1), 0);
	assert_int_equal(calendar_days_from_civil(1970, 1, 1), -10957);
	for (int64_t d = -800000; d < 3000000; d += 997) {
		int y, m, dd;
		calendar_civil_from_days(d, &y, &m, &dd);
		assert_int_equal(calendar_days_from_civil(y, (unsigned)m, (unsigned)dd), d);
	}
	char buf[128];
	text_show(buf, sizeof buf, "a\"b\n", 4);
	assert_string_equal(buf, "\"a\\\"b\\n\"");
	char longv[100];
	memset(longv, 'x', sizeof longv);
	text_show(buf, sizeof buf, longv, sizeof longv);
	assert_int_equal(strlen(buf), 1 + 60 + 3 + 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_rules),
	        cmocka_unit_test(test_timezone),
	        cmocka_unit_test(test_daylight_saving),
	        cmocka_unit_test(test_lengths_count_characters),
	        cmocka_unit_test(test_secret_never_shown),
	        cmocka_unit_test(test_custom_sku_pattern),
	        cmocka_unit_test(test_rows),
	        cmocka_unit_test(test_civil_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
