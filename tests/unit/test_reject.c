/*
 * test_reject.c — reject files: header, quoting, mode 0600, secret columns
 * blank, reject columns of an earlier reject file replaced, encodings,
 * truncation for a rolled-back batch, rows held back and appended in
 * another order, and a directory that cannot be used.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "reject.h"

static char dir[] = "/tmp/test_reject.XXXXXX";

static struct colmap
map_of(enum kind k, char **names, size_t *lens, int n)
{
	struct csvrow_record h = {1, 1, n, names, lens, NULL};
	struct colmap m;
	assert_int_equal(colmap_build(&m, k, &h, NULL, "x", NULL), ETL_OK);
	return m;
}

static char *
slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	static char buf[8192];
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	buf[n] = '\0';
	(void)fclose(f);
	return buf;
}

static void
test_format_and_mode(void **state)
{
	(void)state;
	char *names[] = {"email", "full_name", "password", "reject_line", "reject_reason"};
	size_t lens[] = {5, 9, 8, 11, 13};
	struct colmap m = map_of(KIND_USERS, names, lens, 5);
	struct reject_opts o = {dir, ',', ENC_UTF8, -1, NULL};
	struct reject_writer *w;
	assert_int_equal(reject_open(&w, &o, "/some/where/users.csv", &m, NULL), ETL_OK);
	assert_null(reject_path(w)); /* nothing yet, so no file */
	char path[256];
	(void)snprintf(path, sizeof path, "%s/users.csv.rejects.csv", dir);
	assert_string_equal(reject_planned_path(w), path);

	char *row[] = {"a@b", "Ann, \"the\" admin", "hunter2", "7", "old reason"};
	size_t rl[] = {3, 16, 7, 1, 10};
	assert_int_equal(reject_write(w, 5, row, rl, false, 12, "email: \"a@b\" is bad", NULL),
	                 ETL_OK);
	char *shortrow[] = {"x@y.z"};
	size_t sl[] = {5};
	assert_int_equal(reject_write(w, 1, shortrow, sl, false, 13, "the row has 1 field", NULL),
	                 ETL_OK);
	/* Malformed CSV with the header's number of fields: the password
	 * may have moved into another field; none is written. */
	char *garbled[] = {"g@h", "\"Ann", "x\",hunter3", "7", "r"};
	size_t gl[] = {3, 4, 10, 1, 1};
	assert_int_equal(
	        reject_write(w, 5, garbled, gl, true, 14, "malformed CSV: a stray quote", NULL),
	        ETL_OK);
	assert_int_equal(reject_flush(w, true, NULL), ETL_OK);
	uint64_t off = reject_offset(w);
	assert_int_equal(reject_close(w, NULL), ETL_OK);

	const char *expect =
	        "email,full_name,password,reject_line,reject_reason\n"
	        /* A file with a plaintext password column: no row of it
	         * is written with its fields (a comma in a name would
	         * shift the password into another one). */
	        ",,,12,\"email: \"\"a@b\"\" is bad; its fields are not written, because "
	        "one may be a password: correct line 12 of the file itself\"\n"
	        ",,,13,\"the row has 1 field; its fields are not written, because "
	        "one may be a password: "
	        "correct line 13 of the file itself\"\n"
	        ",,,14,\"malformed CSV: a stray quote; its fields are not written, "
	        "because one may be a password: correct line 14 of the file itself\"\n";
	assert_null(strstr(slurp(path), "hunter"));
	assert_string_equal(slurp(path), expect);
	assert_int_equal(off, strlen(expect));
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);

	/* A fresh run removes the old file; a resumed one keeps its prefix. */
	o.resume_at = (int64_t)strlen("email,full_name,password,reject_line,reject_reason\n");
	assert_int_equal(reject_open(&w, &o, "users.csv", &m, NULL), ETL_OK);
	assert_int_equal(reject_write(w, 1, shortrow, sl, false, 99, "again", NULL), ETL_OK);
	assert_int_equal(reject_close(w, NULL), ETL_OK);
	assert_string_equal(slurp(path), "email,full_name,password,reject_line,reject_reason\n"
	                                 ",,,99,\"again; its fields are not written, because "
	                                 "one may be a password: correct line 99 of the file "
	                                 "itself\"\n");
	o.resume_at = -1;
	assert_int_equal(reject_open(&w, &o, "users.csv", &m, NULL), ETL_OK);
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(reject_close(w, NULL), ETL_OK);
	colmap_free(&m);
}

static void
test_truncate_and_encoding(void **state)
{
	(void)state;
	char *names[] = {"sku", "name", "price"};
	size_t lens[] = {3, 4, 5};
	struct colmap m = map_of(KIND_PRODUCTS, names, lens, 3);
	struct reject_opts o = {dir, ';', ENC_WINDOWS1252, -1, NULL};
	struct reject_writer *w;
	assert_int_equal(reject_open(&w, &o, "-", &m, NULL), ETL_OK);
	char *row[] = {"A;1", "Caf\xc3\xa9 \xe2\x82\xac \xc2\x81", "1"};
	size_t rl[] = {3, 12, 1};
	assert_int_equal(reject_write(w, 3, row, rl, false, 2, "price: \xe2\x9c\x97", NULL),
	                 ETL_OK);
	uint64_t keep = reject_offset(w);
	assert_int_equal(reject_write(w, 3, row, rl, false, 3, "second", NULL), ETL_OK);
	assert_int_equal(reject_truncate(w, keep, NULL), ETL_OK);
	assert_int_equal(reject_close(w, NULL), ETL_OK);
	char path[256];
	(void)snprintf(path, sizeof path, "%s/stdin.rejects.csv", dir);
	/* Back in windows-1252: é is E9, € is 80, U+0081 is 81 again; the ✗ of
	 * the reason has no windows-1252 form. */
	assert_string_equal(slurp(path), "sku;name;price;reject_line;reject_reason\n"
	                                 "\"A;1\";Caf\xe9 \x80 \x81;1;2;price: ?\n");

	assert_int_equal(reject_open(&w, &o, "-", &m, NULL), ETL_OK);
	assert_int_equal(reject_write(w, 3, row, rl, false, 2, "x", NULL), ETL_OK);
	assert_int_equal(reject_truncate(w, 0, NULL), ETL_OK);
	assert_null(reject_path(w));
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(reject_close(w, NULL), ETL_OK);
	colmap_free(&m);
}

/* Rows held back reach neither the file nor its length until appended; a
 * range of them is appended where the caller puts it (here around a row
 * written directly, as a batch merges the server's refusals by line). */
static void
test_held_rows(void **state)
{
	(void)state;
	char *names[] = {"sku", "name", "price"};
	size_t lens[] = {3, 4, 5};
	struct colmap m = map_of(KIND_PRODUCTS, names, lens, 3);
	struct reject_opts o = {dir, ',', ENC_UTF8, -1, NULL};
	struct reject_writer *w;
	assert_int_equal(reject_open(&w, &o, "held.csv", &m, NULL), ETL_OK);
	struct reject_held h = {0};
	reject_hold(w, &h);
	char *row[] = {"A", "x", "1"};
	size_t rl[] = {1, 1, 1};
	for (long line = 2; line <= 4; line += 2)
		assert_int_equal(reject_write(w, 3, row, rl, false, line, "held", NULL), ETL_OK);
	reject_hold(w, NULL);
	assert_int_equal(h.n, 2);
	assert_int_equal(h.line[0], 2);
	assert_int_equal(h.line[1], 4);
	assert_null(reject_path(w)); /* not created for held rows */
	assert_int_equal(reject_offset(w), 0);
	assert_int_equal(reject_append(w, &h, 0, 1, NULL), ETL_OK);
	assert_int_equal(reject_write(w, 3, row, rl, false, 3, "direct", NULL), ETL_OK);
	assert_int_equal(reject_append(w, &h, 1, 2, NULL), ETL_OK);
	assert_int_equal(reject_append(w, &h, 2, 2, NULL), ETL_OK);
	assert_int_equal(reject_flush(w, false, NULL), ETL_OK);
	uint64_t off = reject_offset(w);
	assert_int_equal(reject_close(w, NULL), ETL_OK);
	char path[256];
	(void)snprintf(path, sizeof path, "%s/held.csv.rejects.csv", dir);
	const char *expect = "sku,name,price,reject_line,reject_reason\n"
	                     "A,x,1,2,held\n"
	                     "A,x,1,3,direct\n"
	                     "A,x,1,4,held\n";
	assert_string_equal(slurp(path), expect);
	assert_int_equal(off, strlen(expect));
	reject_held_clear(&h);
	assert_int_equal(h.n, 0);
	reject_held_free(&h);
	colmap_free(&m);
}

static void
test_unwritable_directory(void **state)
{
	(void)state;
	char *names[] = {"sku", "name", "price"};
	size_t lens[] = {3, 4, 5};
	struct colmap m = map_of(KIND_PRODUCTS, names, lens, 3);
	struct reject_opts o = {"/nonexistent/dir", ',', ENC_UTF8, -1, NULL};
	struct reject_writer *w = NULL;
	struct etl_error err;
	assert_int_equal(reject_open(&w, &o, "p.csv", &m, &err), ETL_ESYSTEM);
	assert_null(w);
	assert_string_equal(err.file, "/nonexistent/dir");
	assert_non_null(strstr(err.msg, "cannot write reject files here"));
	assert_int_equal(reject_close(NULL, NULL), ETL_OK);
	colmap_free(&m);
}

static int
setup(void **state)
{
	(void)state;
	return mkdtemp(dir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	(void)state;
	char cmd[300];
	(void)snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_format_and_mode),
	        cmocka_unit_test(test_truncate_and_encoding),
	        cmocka_unit_test(test_held_rows),
	        cmocka_unit_test(test_unwritable_directory),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
