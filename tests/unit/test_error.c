/*
 * test_error.c — the exit-code table and the masking of passwords in
 * messages (every way libpq may quote a connection string).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "error.h"
#include "lockwait.h"

static void
redacts(const char *in, const char *want)
{
	char buf[512];
	(void)snprintf(buf, sizeof buf, "%s", in);
	error_redact(buf, sizeof buf);
	assert_string_equal(buf, want);
}

/* A full buffer whose one-character passwords become "***": the text
 * grows, and is cut at the buffer's end, never past it (ASan: the guard
 * bytes after it stay as they were). */
static void
test_redact_full_buffer(void **state)
{
	(void)state;
	struct {
		char buf[64];
		char guard[16];
	} m;
	memset(m.guard, 'G', sizeof m.guard);
	/* 10 times "password=p " is 110 bytes: cut to fit in 64. */
	char in[200] = "";
	for (int i = 0; i < 10; i++)
		(void)strcat(in, "password=p ");
	(void)snprintf(m.buf, sizeof m.buf, "%s", in);
	assert_int_equal(strlen(m.buf), sizeof m.buf - 1);
	error_redact(m.buf, sizeof m.buf);
	assert_true(strlen(m.buf) < sizeof m.buf);
	assert_null(strstr(m.buf, "=p "));
	assert_int_equal(strncmp(m.buf, "password=*** password=*** ", 26), 0);
	for (size_t i = 0; i < sizeof m.guard; i++)
		assert_int_equal(m.guard[i], 'G');
	/* A value at the very end, the stars not fitting whole. */
	char small[12];
	(void)snprintf(small, sizeof small, "password=p");
	error_redact(small, sizeof small);
	assert_true(strlen(small) < sizeof small);
	assert_int_equal(strncmp(small, "password=", 9), 0);
	assert_null(strstr(small, "=p"));
}

static void
test_redact_uri(void **state)
{
	(void)state;
	redacts("in URI: \"postgres://u:secret@[::1:5432/x\"",
	        "in URI: \"postgres://u:***@[::1:5432/x\"");
	redacts("postgresql://u:s:e@c@h/x", "postgresql://u:***@h/x");
	redacts("postgresql://u@h/x", "postgresql://u@h/x");
	redacts("postgresql://h:5432/x", "postgresql://h:5432/x");
	redacts("a postgres://u:p@h b postgres://v:q@i",
	        "a postgres://u:***@h b postgres://v:***@i");
	redacts("postgresql://u:@h/x", "postgresql://u:@h/x");
	/* Already masked: left as it is. */
	redacts("postgresql://u:***@h/x", "postgresql://u:***@h/x");
}

static void
test_redact_keyword(void **state)
{
	(void)state;
	redacts("host=h password=secret dbname=x", "host=h password=*** dbname=x");
	redacts("host=h password = 'sec ret\\' x' dbname=x", "host=h password = *** dbname=x");
	redacts("postgresql:///x?password=secret&host=[::1",
	        "postgresql:///x?password=***&host=[::1");
	redacts("PASSWORD=secret", "PASSWORD=***");
	redacts("password='unterminated", "password=***");
	/* Not a keyword: a word that only ends in it, or no value. */
	redacts("db_password=x", "db_password=x");
	redacts("password authentication failed", "password authentication failed");
	redacts("password=", "password=");
}

static void
test_messages_masked(void **state)
{
	(void)state;
	struct etl_error e;
	(void)error_set(&e, ETL_EDB, NULL, 0, "cannot connect: \"%s\"", "postgres://u:pw@[::1");
	assert_string_equal(e.msg, "cannot connect: \"postgres://u:***@[::1\"");
}

/* Secrets given are masked wherever they stand, also at a full buffer. */
static void
test_secrets_given(void **state)
{
	(void)state;
	error_add_secret("S3cr/et%zz", 10);
	error_add_secret("ab", 2); /* too short to mask by itself */
	char msg[64] = "token \"S3cr/et%zz\" then S3cr/et%zz; about ab";
	error_redact(msg, sizeof msg);
	assert_string_equal(msg, "token \"***\" then ***; about ab");
	char full[24];
	memset(full, 'x', sizeof full);
	memcpy(full + 10, "S3cr/et%zz", 10);
	full[sizeof full - 1] = '\0';
	error_redact(full, sizeof full);
	assert_string_equal(full, "xxxxxxxxxx***xxx");
	error_forget_secrets();
	char again[32] = "S3cr/et%zz";
	error_redact(again, sizeof again);
	assert_string_equal(again, "S3cr/et%zz");
}

static void
test_exit_codes(void **state)
{
	(void)state;
	assert_int_equal(error_exit_status(ETL_OK), 0);
	assert_int_equal(error_exit_status(ETL_REJECTED), 1);
	assert_int_equal(error_exit_status(ETL_EUSAGE), 2);
	assert_int_equal(error_exit_status(ETL_EINPUT), 3);
	assert_int_equal(error_exit_status(ETL_EDB), 4);
	assert_int_equal(error_exit_status(ETL_ESTOPPED), 5);
	assert_int_equal(error_exit_status(ETL_ELOCKED), 6);
	assert_int_equal(error_worst(ETL_ESTOPPED, ETL_ELOCKED), ETL_ELOCKED);
	assert_int_equal(error_worst(ETL_ELOCKED, ETL_ESYSTEM), ETL_ESYSTEM);
}

static void
test_lock_timeout_parse(void **state)
{
	(void)state;
	long ms = -1;
	assert_true(lockwait_parse("5", &ms));
	assert_int_equal(ms, 5000);
	assert_true(lockwait_parse("250ms", &ms));
	assert_int_equal(ms, 250);
	assert_true(lockwait_parse("1.5s", &ms));
	assert_int_equal(ms, 1500);
	assert_true(lockwait_parse("2min", &ms));
	assert_int_equal(ms, 120000);
	assert_true(lockwait_parse("0", &ms));
	assert_int_equal(ms, 0);
	assert_false(lockwait_parse("soon", &ms));
	assert_false(lockwait_parse("-1", &ms));
	assert_false(lockwait_parse("5h", &ms));
	assert_false(lockwait_parse("0.1ms", &ms));
	assert_false(lockwait_parse("100000000min", &ms));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_redact_uri),         cmocka_unit_test(test_redact_keyword),
	        cmocka_unit_test(test_redact_full_buffer), cmocka_unit_test(test_messages_masked),
	        cmocka_unit_test(test_secrets_given),      cmocka_unit_test(test_exit_codes),
	        cmocka_unit_test(test_lock_timeout_parse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
