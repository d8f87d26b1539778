/*
 * test_fingerprint.c — what identifies a file's content: one fingerprint for
 * the same records in any byte form (gzip, CRLF, quoting, a BOM, the
 * header's case, no final newline, Latin-1 read as Latin-1), another for
 * any other records; the libcsv way (irregular files: a blank line, spaces
 * kept around a quoted field…) agrees with the fast way where the records
 * agree; record counts; the byte SHA-256 beside it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "intake.h"
#include "valid.h"

static char dir[] = "/tmp/test_fingerprint.XXXXXX";

/* Writes a file (gzip when gz) and returns its intake_print. */
static struct intake_print
print_of(const char *name, const char *data, size_t n, bool gz, enum input_encoding enc)
{
	char path[256];
	(void)snprintf(path, sizeof path, "%s/%s", dir, name);
	if (gz) {
		gzFile g = gzopen(path, "wb");
		assert_non_null(g);
		assert_int_equal(gzwrite(g, data, (unsigned)n), (int)n);
		assert_int_equal(gzclose(g), Z_OK);
	} else {
		FILE *f = fopen(path, "wb");
		assert_non_null(f);
		assert_int_equal(fwrite(data, 1, n, f), n);
		assert_int_equal(fclose(f), 0);
	}
	struct validator *v = NULL;
	struct etl_error err;
	struct valid_opts vo = {.sku_pattern = NULL};
	assert_int_equal(valid_open(&v, &vo, &err), ETL_OK);
	struct file_format format = {.enc = enc, .delim = ','};
	struct intake_opts io = {.format = &format, .v = v, .reject_dir = dir, .max_rejects = -1};
	struct intake *it = NULL;
	assert_int_equal(intake_open(&it, &(struct file_spec){path, path, KIND_NONE}, &io, &err),
	                 ETL_OK);
	struct intake_print p;
	assert_int_equal(intake_fingerprint(it, &p, &err), ETL_OK);
	struct intake_print b;
	assert_int_equal(intake_fingerprint_bytes(it, &b, &err), ETL_OK);
	assert_string_equal(b.bytes, p.bytes);
	assert_int_equal(b.size, p.size);
	(void)intake_close(it, NULL);
	valid_close(v);
	return p;
}

#define HEADER "sku,name,price"

static const struct same {
	const char *name, *data;
	bool gz;
	enum input_encoding enc;
} same[] = {
        {"plain.csv", HEADER "\nA-1,Roti Tawar,15000\nB-2,\"Susu, Segar\",18500.50\n", false,
         ENC_UTF8},
        {"gzip.csv.gz", HEADER "\nA-1,Roti Tawar,15000\nB-2,\"Susu, Segar\",18500.50\n", true,
         ENC_UTF8},
        {"crlf.csv", HEADER "\r\nA-1,Roti Tawar,15000\r\nB-2,\"Susu, Segar\",18500.50\r\n", false,
         ENC_UTF8},
        {"quoted.csv",
         "\"sku\",\"name\",\"price\"\n\"A-1\",\"Roti Tawar\",\"15000\"\n\"B-2\",\"Susu, "
         "Segar\",\"18500.50\"\n",
         false, ENC_UTF8},
        {"bom.csv", "\xef\xbb\xbf" HEADER "\nA-1,Roti Tawar,15000\nB-2,\"Susu, Segar\",18500.50\n",
         false, ENC_UTF8},
        {"case.csv", "SKU,Name,PRICE\nA-1,Roti Tawar,15000\nB-2,\"Susu, Segar\",18500.50\n", false,
         ENC_UTF8},
        {"nofinal.csv", HEADER "\nA-1,Roti Tawar,15000\nB-2,\"Susu, Segar\",18500.50", false,
         ENC_UTF8},
        /* irregular (libcsv's way): blank lines between records */
        {"blank.csv", HEADER "\n\nA-1,Roti Tawar,15000\n\nB-2,\"Susu, Segar\",18500.50\n\n", false,
         ENC_UTF8},
};

static void
test_same_content(void **state)
{
	(void)state;
	struct intake_print first =
	        print_of(same[0].name, same[0].data, strlen(same[0].data), same[0].gz, same[0].enc);
	assert_int_equal(first.records, 2);
	for (size_t i = 1; i < sizeof same / sizeof same[0]; i++) {
		struct intake_print p = print_of(same[i].name, same[i].data, strlen(same[i].data),
		                                 same[i].gz, same[i].enc);
		assert_string_equal(p.content, first.content);
		assert_int_equal(p.records, 2);
		assert_string_not_equal(p.bytes, first.bytes);
	}
}

static const char *const other[] = {
        HEADER "\nA-1,Roti Tawar,15001\nB-2,\"Susu, Segar\",18500.50\n", /* a value */
        HEADER "\nA-1,Roti Tawar,15000\nB-2,Susu, Segar,18500.50\n",     /* unquoted: 4 fields */
        HEADER "\nB-2,\"Susu, Segar\",18500.50\nA-1,Roti Tawar,15000\n", /* order */
        HEADER "\nA-1,Roti Tawar,15000\n",                               /* a row less */
        HEADER "\nA-1,Roti Tawar,15000\nB-2,\"Susu, Segar\",18500.50\n,,\n",    /* a row more */
        HEADER "\nA-1,Roti  Tawar,15000\nB-2,\"Susu, Segar\",18500.50\n",       /* a space */
        HEADER "\nA-1,\"Roti\"\"Tawar\",15000\nB-2,\"Susu, Segar\",18500.50\n", /* a quote */
        "sku,name,price,stock\nA-1,Roti Tawar,15000\nB-2,\"Susu, Segar\",18500.50\n",
        HEADER "\nA-1,Roti Tawar,15000\nB-2,\"Susu,\nSegar\",18500.50\n", /* a newline */
        HEADER "\nA-1,Roti Tawar,15000\nB-2,\"Susu, Segar\" ,18500.50\n", /* irregular */
};

static void
test_other_content(void **state)
{
	(void)state;
	struct intake_print base =
	        print_of(same[0].name, same[0].data, strlen(same[0].data), false, ENC_UTF8);
	char seen[sizeof other / sizeof other[0]][65];
	for (size_t i = 0; i < sizeof other / sizeof other[0]; i++) {
		char name[32];
		(void)snprintf(name, sizeof name, "other%zu.csv", i);
		struct intake_print p = print_of(name, other[i], strlen(other[i]), false, ENC_UTF8);
		assert_string_not_equal(p.content, base.content);
		memcpy(seen[i], p.content, 65);
		for (size_t k = 0; k < i; k++)
			assert_string_not_equal(seen[k], p.content);
	}
}

/* A last record without a line end is said (cut), with the fingerprint of
 * the records before it (head), the fast way and libcsv's alike. */
static void
test_cut(void **state)
{
	(void)state;
	const char *one = HEADER "\nA-1,Roti Tawar,15000\n";
	struct intake_print first = print_of("first.csv", one, strlen(one), false, ENC_UTF8);
	assert_false(first.cut);
	static const struct {
		const char *data;
		bool cut, head;
	} cases[] = {
	        {HEADER "\nA-1,Roti Tawar,15000\nB-2,\"Susu, Segar\",18500.50\n", false, false},
	        {HEADER "\r\nA-1,Roti Tawar,15000\r\nB-2,\"Susu, Segar\",18500.50\r\n", false,
	         false},
	        {HEADER "\nA-1,Roti Tawar,15000\nB-2,\"Susu, Segar\",1850", true, true},
	        {HEADER "\nA-1,Roti Tawar,15000\nB-2,\"Susu, Segar\"", true, true},
	        /* irregular (libcsv's way) */
	        {HEADER "\n\nA-1,Roti Tawar,15000\n\nB-2,\"Susu, Segar\",18", true, true},
	        {HEADER "\n\nA-1,Roti Tawar,15000\n\nB-2,\"Susu, Segar\",18\n\n", false, false},
	        /* one record: nothing before it */
	        {HEADER "\nA-1,Roti Tawar,150", true, false},
	        {HEADER, false, false},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char name[32];
		(void)snprintf(name, sizeof name, "cut%zu.csv", i);
		struct intake_print p =
		        print_of(name, cases[i].data, strlen(cases[i].data), false, ENC_UTF8);
		assert_int_equal(p.cut, cases[i].cut);
		if (cases[i].head)
			assert_string_equal(p.head, first.content);
		else
			assert_string_equal(p.head, "");
	}
}

static void
test_encoding(void **state)
{
	(void)state;
	const char *utf8 = HEADER "\nL-1,Cr\xc3\xa8me br\xc3\xbbl\xc3\xa9\x65,4.50\n";
	const char *latin1 = HEADER "\nL-1,Cr\xe8me br\xfbl\xe9\x65,4.50\n";
	struct intake_print u = print_of("u.csv", utf8, strlen(utf8), false, ENC_UTF8);
	struct intake_print l = print_of("l.csv", latin1, strlen(latin1), false, ENC_LATIN1);
	struct intake_print raw = print_of("l2.csv", latin1, strlen(latin1), false, ENC_UTF8);
	assert_string_equal(u.content, l.content);       /* the same text */
	assert_string_not_equal(u.content, raw.content); /* Latin-1 bytes read as UTF-8 */
	assert_string_equal(l.bytes, raw.bytes);         /* the same bytes */
}

static void
test_large(void **state)
{
	(void)state;
	/* Records across the 256 KiB reads, quoted fields with newlines. */
	size_t cap = 4u << 20, n = 0;
	char *plain = malloc(cap), *crlf = malloc(cap * 2);
	assert_non_null(plain);
	assert_non_null(crlf);
	n += (size_t)snprintf(plain, cap, "%s\n", HEADER);
	int rows = 0;
	while (n + 100 < cap) {
		n += (size_t)snprintf(plain + n, cap - n,
		                      "S-%d,\"Name %d,\nline \"\"two\"\"\",%d.50\n", rows, rows,
		                      rows);
		rows++;
	}
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		if (plain[i] == '\n' && (i == 0 || plain[i - 1] != ',') && i + 1 < n &&
		    plain[i + 1] != 'l')
			crlf[m++] = '\r';
		crlf[m++] = plain[i];
	}
	struct intake_print a = print_of("big.csv", plain, n, false, ENC_UTF8);
	struct intake_print b = print_of("big.csv.gz", plain, n, true, ENC_UTF8);
	struct intake_print c = print_of("bigcrlf.csv", crlf, m, false, ENC_UTF8);
	assert_int_equal(a.records, rows);
	assert_string_equal(a.content, b.content);
	assert_string_equal(a.content, c.content);
	free(plain);
	free(crlf);
}

int
main(void)
{
	if (mkdtemp(dir) == NULL)
		return 1;
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_same_content), cmocka_unit_test(test_other_content),
	        cmocka_unit_test(test_cut),          cmocka_unit_test(test_encoding),
	        cmocka_unit_test(test_large),
	};
	int failed = cmocka_run_group_tests(tests, NULL, NULL);
	char cmd[300];
	(void)snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	(void)system(cmd);
	return failed;
}
