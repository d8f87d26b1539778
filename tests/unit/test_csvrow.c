/*
 * test_csvrow.c — the CSV stage, table-driven: input text in, records with
 * their start lines out.  Every input is also fed at every chunk size from
 * 1 to its length, which must not change a single record, and with plain
 * lines split by libcsv as well as without it; random inputs are read both
 * ways and must give the same records.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csvrow.h"

/* A byte source that hands out at most `chunk` bytes per call. */
struct mem {
	const char *data;
	size_t len, pos, chunk;
};

static ssize_t
mem_read(void *ctx, char *buf, size_t size, struct etl_error *err)
{
	(void)err;
	struct mem *m = ctx;
	size_t n = m->len - m->pos;
	if (n > m->chunk)
		n = m->chunk;
	if (n > size)
		n = size;
	memcpy(buf, m->data + m->pos, n);
	m->pos += n;
	return (ssize_t)n;
}

/* Renders records as "LINE[-END][!]:f1|f2|…" lines; '!' marks a malformed
 * record, control bytes are shown as \r \n \0. */
static char *
render_as(const char *input, size_t len, size_t chunk, unsigned char delim, bool plain)
{
	struct mem m = {input, len, 0, chunk};
	struct csvrow_reader *r = NULL;
	struct etl_error err;
	assert_int_equal(csvrow_open(&r, mem_read, &m, delim, "t.csv", &err), ETL_OK);
	csvrow_set_plain(r, plain);
	size_t cap = 4096, n = 0;
	char *out = malloc(cap);
	assert_non_null(out);
	out[0] = '\0';
	struct csvrow_record rec;
	int rc;
	while ((rc = csvrow_next(r, &rec, &err)) == 1) {
		char line[1024];
		size_t k = (size_t)snprintf(line, sizeof line, "%ld", rec.line);
		if (rec.end_line != rec.line)
			k += (size_t)snprintf(line + k, sizeof line - k, "-%ld", rec.end_line);
		k += (size_t)snprintf(line + k, sizeof line - k, "%s:", rec.error ? "!" : "");
		for (int i = 0; i < rec.nfields && k < sizeof line - 8; i++) {
			if (i > 0)
				line[k++] = '|';
			for (size_t j = 0; j < rec.lens[i] && k < sizeof line - 8; j++) {
				char c = rec.fields[i][j];
				if (c == '\n' || c == '\r' || c == '\0') {
					line[k++] = '\\';
					line[k++] = c == '\n' ? 'n' : c == '\r' ? 'r' : '0';
				} else {
					line[k++] = c;
				}
			}
			assert_int_equal(rec.fields[i][rec.lens[i]], '\0');
		}
		line[k++] = '\n';
		line[k] = '\0';
		while (n + k + 1 > cap) {
			cap *= 2;
			out = realloc(out, cap);
			assert_non_null(out);
		}
		memcpy(out + n, line, k + 1);
		n += k;
	}
	assert_int_equal(rc, 0);
	csvrow_close(r);
	return out;
}

static char *
render(const char *input, size_t len, size_t chunk, unsigned char delim)
{
	return render_as(input, len, chunk, delim, true);
}

struct csv_case {
	const char *what;
	const char *input;
	size_t len; /* 0: strlen(input) */
	unsigned char delim;
	const char *expect;
};

static const struct csv_case cases[] = {
        {"LF", "a,b\n1,2\n", 0, ',', "1:a|b\n2:1|2\n"},
        {"CRLF", "a,b\r\n1,2\r\n", 0, ',', "1:a|b\n2:1|2\n"},
        {"no final line end", "a,b\n1,2", 0, ',', "1:a|b\n2:1|2\n"},
        {"empty input", "", 0, ',', ""},
        {"only line ends", "\n\r\n\n", 0, ',', ""},
        {"header only", "sku,name", 0, ',', "1:sku|name\n"},
        {"blank lines are skipped, lines still counted", "a\n\n\nb\n\r\nc", 0, ',',
         "1:a\n4:b\n6:c\n"},
        {"quoted delimiter, doubled quote", "\"b,c\",\"x\"\"y\"\n", 0, ',', "1:b,c|x\"y\n"},
        {"quoted newline: the next record's line is right",
         "h1,h2\n\"multi\nline\nvalue\",x\n3,4\n", 0, ',',
         "1:h1|h2\n2-4:multi\\nline\\nvalue|x\n5:3|4\n"},
        {"quoted CRLF kept as written", "\"a\r\nb\",c\r\nd,e\r\n", 0, ',',
         "1-2:a\\r\\nb|c\n3:d|e\n"},
        {"spaces are kept", " a , b \n", 0, ',', "1: a | b \n"},
        {"empty fields", ",,\n\"\",x\n", 0, ',', "1:||\n2:|x\n"},
        {"semicolon delimiter", "a;\"b;c\"\n", 0, ';', "1:a|b;c\n"},
        {"tab delimiter", "a\tb c\n", 0, '\t', "1:a|b c\n"},
        {"NUL byte inside a field", "a\0b,c\n", 6, ',', "1:a\\0b|c\n"},
        {"UTF-8 passes through", "\xc3\xa9t\xc3\xa9,\xe2\x82\xac\n", 0, ',',
         "1:\xc3\xa9t\xc3\xa9|\xe2\x82\xac\n"},
        {"bare CR line ends", "a\rb\rc", 0, ',', "1:a\n1:b\n1:c\n"},
        {"a stray quote: malformed, reading resumes at the next line", "h\nab\"c,d\nx,y\n", 0, ',',
         "1:h\n2!:ab\"c,d\n3:x|y\n"},
        {"text after the closing quote", "\"ab\"c,d\r\nx,y\n", 0, ',', "1!:ab\"c,d\n2:x|y\n"},
        {"a space after the closing quote", "\"ab\" ,d\nx\n", 0, ',', "1!:ab\" ,d\n2:x\n"},
        {"a quote never closed swallows the rest", "a,b\n\"open,x\ny\n", 0, ',',
         "1:a|b\n2-4!:open,x\\ny\\n\n"},
        {"a malformed record after a good multi-line one", "\"a\nb\",1\nq\"q\nz\n", 0, ',',
         "1-2:a\\nb|1\n3!:q\"q\n4:z\n"},
        {"ragged rows are records like any other", "a,b,c\n1\n1,2,3,4\n", 0, ',',
         "1:a|b|c\n2:1\n3:1|2|3|4\n"},
};

static void
test_cases_every_chunk_size(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct csv_case *tc = &cases[i];
		size_t len = tc->len ? tc->len : strlen(tc->input);
		for (size_t chunk = 1; chunk <= len + 1; chunk++) {
			for (int plain = 0; plain < 2; plain++) {
				char *got = render_as(tc->input, len, chunk, tc->delim, plain);
				if (strcmp(got, tc->expect) != 0)
					fail_msg(
					        "case \"%s\", chunk %zu, plain %d:\n--- got\n%s--- "
					        "expected\n%s",
					        tc->what, chunk, plain, got, tc->expect);
				free(got);
			}
		}
	}
}

/* Random inputs of the bytes that matter, read with plain lines split
 * without libcsv and with it: the same records, line numbers and errors. */
static void
test_plain_lines_as_libcsv(void **state)
{
	(void)state;
	static const char alphabet[] = "ab,;\"\r\n \0\n,,a\"";
	unsigned seed = 12345;
	char in[300];
	for (int round = 0; round < 20000; round++) {
		seed = seed * 1103515245u + 12345u;
		size_t len = (seed >> 16) % sizeof in;
		for (size_t i = 0; i < len; i++) {
			seed = seed * 1103515245u + 12345u;
			/* Mostly plain text, sometimes a quote or a CR. */
			unsigned pick = (seed >> 16) % 1000;
			in[i] = pick < 900 ? "aab,,\n "[pick % 7]
			                   : alphabet[pick % (sizeof alphabet - 1)];
		}
		unsigned char delim = round % 3 == 0 ? ';' : ',';
		size_t chunk = 1 + (seed >> 8) % (len + 2);
		char *with = render_as(in, len, chunk, delim, true);
		char *without = render_as(in, len, chunk, delim, false);
		if (strcmp(with, without) != 0)
			fail_msg("round %d (len %zu, chunk %zu):\n--- plain\n%s--- libcsv\n%s",
			         round, len, chunk, with, without);
		free(with);
		free(without);
	}
	/* A plain line of more fields than a record keeps. */
	size_t cols = CSVROW_MAX_FIELDS + 5;
	char *wide = malloc(cols * 2);
	assert_non_null(wide);
	for (size_t i = 0; i < cols; i++) {
		wide[2 * i] = 'x';
		wide[2 * i + 1] = i + 1 == cols ? '\n' : ',';
	}
	char *with = render_as(wide, cols * 2, 65536, ',', true);
	char *without = render_as(wide, cols * 2, 65536, ',', false);
	assert_string_equal(with, without);
	assert_true(strncmp(with, "1!:", 3) == 0);
	free(with);
	free(without);
	free(wide);
}

static void
test_oversized_field(void **state)
{
	(void)state;
	/* A quoted field over the limit, holding a comma and a line end, then
	 * a good record: the big one is malformed, the next one intact. */
	size_t big = CSVROW_MAX_RECORD + 1024;
	size_t len = 4 + big + 16;
	char *in = malloc(len);
	assert_non_null(in);
	size_t n = 0;
	memcpy(in + n, "h\n\"", 3);
	n += 3;
	memset(in + n, 'x', big);
	in[n + 10] = ',';
	in[n + 20] = '\n';
	n += big;
	memcpy(in + n, "\",y\nok,1\n", 9);
	n += 9;
	char *got = render(in, n, 65536, ',');
	const char *second = strchr(got, '\n') + 1;
	assert_true(strncmp(second, "2-3!:", 5) == 0);
	assert_string_equal(strchr(second, '\n') + 1, "4:ok|1\n");
	free(got);
	free(in);
}

static void
test_many_columns(void **state)
{
	(void)state;
	size_t cols = 10000;
	char *in = malloc(cols * 2 + 1);
	assert_non_null(in);
	for (size_t i = 0; i < cols; i++) {
		in[2 * i] = 'x';
		in[2 * i + 1] = i + 1 == cols ? '\n' : ',';
	}
	struct mem m = {in, cols * 2, 0, 4096};
	struct csvrow_reader *r;
	struct csvrow_record rec;
	assert_int_equal(csvrow_open(&r, mem_read, &m, ',', "t.csv", NULL), ETL_OK);
	assert_int_equal(csvrow_next(r, &rec, NULL), 1);
	assert_int_equal(rec.nfields, (int)cols);
	assert_null(rec.error);
	assert_int_equal(csvrow_next(r, &rec, NULL), 0);
	csvrow_close(r);
	free(in);
}

static ssize_t
failing_read(void *ctx, char *buf, size_t size, struct etl_error *err)
{
	int *calls = ctx;
	if ((*calls)++ == 0) {
		memcpy(buf, "a,b\nc", size < 5 ? size : 5);
		return 5;
	}
	(void)error_set(err, ETL_EINPUT, "t.csv.gz", 0, "truncated gzip stream");
	return -1;
}

static void
test_source_error_sticks(void **state)
{
	(void)state;
	int calls = 0;
	struct csvrow_reader *r;
	struct csvrow_record rec;
	struct etl_error err;
	assert_int_equal(csvrow_open(&r, failing_read, &calls, ',', "t.csv.gz", NULL), ETL_OK);
	assert_int_equal(csvrow_next(r, &rec, &err), 1);
	assert_int_equal(csvrow_next(r, &rec, &err), -1);
	assert_int_equal(err.code, ETL_EINPUT);
	assert_string_equal(err.msg, "truncated gzip stream");
	error_clear(&err);
	assert_int_equal(csvrow_next(r, &rec, &err), -1);
	assert_string_equal(err.msg, "truncated gzip stream");
	csvrow_close(r);
	csvrow_close(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_cases_every_chunk_size),
	        cmocka_unit_test(test_plain_lines_as_libcsv),
	        cmocka_unit_test(test_oversized_field),
	        cmocka_unit_test(test_many_columns),
	        cmocka_unit_test(test_source_error_sticks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
