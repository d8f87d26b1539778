/*
 * test_input.c — the byte stage: plain and gzip files of several megabytes
 * read back byte for byte, multi-member gzip, truncated and corrupt streams
 * at many cut points, junk after the stream, the BOM, and encodings.
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
#include <zlib.h>

#include "input.h"

static char dir[] = "/tmp/test_input.XXXXXX";

static const char *
path_of(const char *name)
{
	static char buf[256];
	(void)snprintf(buf, sizeof buf, "%s/%s", dir, name);
	return buf;
}

static void
write_file(const char *name, const void *data, size_t n)
{
	FILE *f = fopen(path_of(name), "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
}

/* gzip-compresses data into a new buffer (one member). */
static unsigned char *
gzip_bytes(const void *data, size_t n, size_t *outlen)
{
	z_stream z;
	memset(&z, 0, sizeof z);
	assert_int_equal(deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY),
	                 Z_OK);
	size_t cap = deflateBound(&z, (uLong)n) + 64;
	unsigned char *out = malloc(cap);
	assert_non_null(out);
	z.next_in = (Bytef *)data;
	z.avail_in = (uInt)n;
	z.next_out = out;
	z.avail_out = (uInt)cap;
	assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
	*outlen = cap - z.avail_out;
	(void)deflateEnd(&z);
	return out;
}

/* Reads a whole file through the stage; returns the bytes (and their
 * count), or NULL with err filled. */
static char *
read_all(const char *name, enum input_encoding enc, size_t *len, struct etl_error *err)
{
	struct input *in = NULL;
	if (input_open(&in, path_of(name), enc, err) != ETL_OK)
		return NULL;
	size_t cap = 1 << 16, n = 0;
	char *buf = malloc(cap);
	assert_non_null(buf);
	ssize_t k;
	for (;;) {
		if (cap - n < 4096) {
			cap *= 2;
			buf = realloc(buf, cap);
			assert_non_null(buf);
		}
		/* Odd read sizes, to cross every internal boundary differently. */
		size_t want = 4 + (n * 7919) % 4000;
		k = input_read(in, buf + n, want, err);
		if (k <= 0)
			break;
		n += (size_t)k;
	}
	if (k < 0) {
		/* The error sticks. */
		struct etl_error again;
		assert_int_equal(input_read(in, buf, 16, &again), -1);
		assert_string_equal(again.msg, err->msg);
		input_close(in);
		free(buf);
		return NULL;
	}
	input_close(in);
	*len = n;
	return buf;
}

/* Several megabytes of CSV-like text. */
static char *
sample(size_t *n)
{
	size_t cap = 3 * 1024 * 1024 + 12345;
	char *s = malloc(cap);
	assert_non_null(s);
	size_t len = 0;
	for (unsigned i = 0; len + 64 < cap; i++)
		len += (size_t)snprintf(s + len, cap - len, "SKU-%05u,%u,%u.%02u,2024-01-%02u\n",
		                        i % 10000, i % 17 + 1, i % 9000, i % 100, i % 28 + 1);
	*n = len;
	return s;
}

static void
test_plain_and_gzip_read_back_exactly(void **state)
{
	(void)state;
	size_t n, zlen, got;
	struct etl_error err;
	char *data = sample(&n);
	unsigned char *z = gzip_bytes(data, n, &zlen);
	write_file("plain.csv", data, n);
	write_file("data.gz", z, zlen);
	write_file("named.csv", z, zlen); /* gzip is told by its bytes */

	const char *names[] = {"plain.csv", "data.gz", "named.csv"};
	for (size_t i = 0; i < 3; i++) {
		char *back = read_all(names[i], ENC_UTF8, &got, &err);
		assert_non_null(back);
		assert_int_equal(got, n);
		assert_memory_equal(back, data, n);
		free(back);
	}
	free(z);
	free(data);
}

static void
test_multi_member_and_padding(void **state)
{
	(void)state;
	const char *a = "sku,name,price\nA,Apple,1\n", *b = "B,Bread,2\nC,Cake,3\n";
	size_t la, lb, got;
	struct etl_error err;
	unsigned char *za = gzip_bytes(a, strlen(a), &la);
	unsigned char *zb = gzip_bytes(b, strlen(b), &lb);
	unsigned char *both = malloc(la + lb + 16);
	memcpy(both, za, la);
	memcpy(both + la, zb, lb);
	write_file("multi.gz", both, la + lb);
	char *back = read_all("multi.gz", ENC_UTF8, &got, &err);
	assert_non_null(back);
	assert_int_equal(got, strlen(a) + strlen(b));
	assert_memory_equal(back, a, strlen(a));
	assert_memory_equal(back + strlen(a), b, strlen(b));
	free(back);

	/* Zero padding after the last member is tolerated, as gzip does. */
	memset(both + la + lb, 0, 16);
	write_file("padded.gz", both, la + lb + 16);
	back = read_all("padded.gz", ENC_UTF8, &got, &err);
	assert_non_null(back);
	assert_int_equal(got, strlen(a) + strlen(b));
	free(back);

	/* Anything else after it is an error, not silently ignored. */
	memcpy(both + la + lb, "junk", 4);
	write_file("junk.gz", both, la + lb + 4);
	assert_null(read_all("junk.gz", ENC_UTF8, &got, &err));
	assert_int_equal(err.code, ETL_EINPUT);
	assert_non_null(strstr(err.msg, "unexpected data after the gzip stream"));

	/* A second member whose header is damaged is an error too. */
	memcpy(both + la, zb, lb);
	both[la + 1] = 0x00;
	write_file("damaged2.gz", both, la + lb);
	assert_null(read_all("damaged2.gz", ENC_UTF8, &got, &err));
	assert_int_equal(err.code, ETL_EINPUT);
	free(both);
	free(za);
	free(zb);
}

static void
test_truncated_and_corrupt(void **state)
{
	(void)state;
	size_t n, zlen, got;
	struct etl_error err;
	char *data = sample(&n);
	unsigned char *z = gzip_bytes(data, n, &zlen);
	/* Cut anywhere, from inside the header to inside the trailer: always
	 * an input error naming the file, never short data. */
	size_t cuts[] = {2, 3, 5, 10, 100, zlen / 3, zlen / 2, zlen - 9, zlen - 4, zlen - 1};
	for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
		write_file("cut.gz", z, cuts[i]);
		char *back = read_all("cut.gz", ENC_UTF8, &got, &err);
		if (back != NULL)
			fail_msg("a gzip file cut at %zu of %zu bytes read as %zu bytes", cuts[i],
			         zlen, got);
		assert_int_equal(err.code, ETL_EINPUT);
		assert_non_null(strstr(err.file, "cut.gz"));
	}
	/* A flipped byte in the data or the CRC trailer. */
	size_t flips[] = {zlen / 2, zlen - 6};
	for (size_t i = 0; i < 2; i++) {
		z[flips[i]] ^= 0x55;
		write_file("flip.gz", z, zlen);
		char *back = read_all("flip.gz", ENC_UTF8, &got, &err);
		assert_null(back);
		assert_int_equal(err.code, ETL_EINPUT);
		z[flips[i]] ^= 0x55;
	}
	/* gzip magic followed by junk. */
	unsigned char junk[64] = {0x1f, 0x8b};
	for (size_t i = 2; i < sizeof junk; i++)
		junk[i] = (unsigned char)(i * 37);
	write_file("magic-junk.gz", junk, sizeof junk);
	assert_null(read_all("magic-junk.gz", ENC_UTF8, &got, &err));
	assert_int_equal(err.code, ETL_EINPUT);
	free(z);
	free(data);
}

static void
test_bom_and_empty(void **state)
{
	(void)state;
	size_t got;
	struct etl_error err;
	write_file("bom.csv", "\xEF\xBB\xBFsku\r\n", 8);
	char *back = read_all("bom.csv", ENC_UTF8, &got, &err);
	assert_int_equal(got, 5);
	assert_memory_equal(back, "sku\r\n", 5);
	free(back);
	/* Only a full BOM goes; a lookalike prefix is data. */
	write_file("nobom.csv", "\xEF\xBBx", 3);
	back = read_all("nobom.csv", ENC_UTF8, &got, &err);
	assert_int_equal(got, 3);
	assert_memory_equal(back, "\xEF\xBBx", 3);
	free(back);
	write_file("onlybom.csv", "\xEF\xBB\xBF", 3);
	back = read_all("onlybom.csv", ENC_UTF8, &got, &err);
	assert_int_equal(got, 0);
	free(back);
	write_file("empty.csv", "", 0);
	back = read_all("empty.csv", ENC_UTF8, &got, &err);
	assert_non_null(back);
	assert_int_equal(got, 0);
	free(back);
	write_file("one.csv", "x", 1);
	back = read_all("one.csv", ENC_UTF8, &got, &err);
	assert_int_equal(got, 1);
	free(back);
}

static void
test_encodings(void **state)
{
	(void)state;
	size_t got;
	struct etl_error err;
	/* "café 5€" in latin1 (no euro there: 0xA4 is the currency sign). */
	write_file("latin1.csv", "caf\xe9 \xa4", 6);
	char *back = read_all("latin1.csv", ENC_LATIN1, &got, &err);
	assert_int_equal(got, 8);
	assert_memory_equal(back, "caf\xc3\xa9 \xc2\xa4", 8);
	free(back);
	/* windows-1252: 0x80 is the euro; 0x81 is unassigned and becomes
	 * U+0081 rather than an error or a lost byte. */
	write_file("cp1252.csv", "\x80\x81\x93x\x94", 5);
	back = read_all("cp1252.csv", ENC_WINDOWS1252, &got, &err);
	assert_int_equal(got, 12);
	assert_memory_equal(back, "\xe2\x82\xac\xc2\x81\xe2\x80\x9cx\xe2\x80\x9d", 12);
	free(back);
	/* A large latin1 file converts completely. */
	size_t n = 700000;
	char *big = malloc(n);
	for (size_t i = 0; i < n; i++)
		big[i] = (char)(i % 2 ? 'a' : 0xe9);
	write_file("big-latin1.csv", big, n);
	back = read_all("big-latin1.csv", ENC_LATIN1, &got, &err);
	assert_int_equal(got, n / 2 * 3);
	free(back);
	free(big);

	enum input_encoding e;
	assert_true(input_parse_encoding("UTF-8", &e) && e == ENC_UTF8);
	assert_true(input_parse_encoding("latin1", &e) && e == ENC_LATIN1);
	assert_true(input_parse_encoding("Windows-1252", &e) && e == ENC_WINDOWS1252);
	assert_false(input_parse_encoding("ebcdic", &e));
}

static void
test_open_errors(void **state)
{
	(void)state;
	struct input *in = NULL;
	struct etl_error err;
	assert_int_equal(input_open(&in, path_of("missing.csv"), ENC_UTF8, &err), ETL_EINPUT);
	assert_null(in);
	assert_non_null(strstr(err.msg, "cannot open: No such file or directory"));
	assert_int_equal(input_open(&in, dir, ENC_UTF8, &err), ETL_EINPUT);
	assert_string_equal(err.msg, "is a directory");
	input_close(NULL);
}

static void
test_sizes(void **state)
{
	(void)state;
	struct input *in;
	write_file("sized.csv", "abc\n", 4);
	assert_int_equal(input_open(&in, path_of("sized.csv"), ENC_UTF8, NULL), ETL_OK);
	assert_int_equal(input_raw_size(in), 4);
	char buf[16];
	assert_int_equal(input_read(in, buf, sizeof buf, NULL), 4);
	assert_int_equal(input_raw_bytes(in), 4);
	assert_false(input_is_gzip(in));
	assert_string_equal(input_name(in), path_of("sized.csv"));
	input_close(in);
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

/* A file in memory reads as the same file on disk would: gzip decoded,
 * its encoding converted, its size known. */
static void
test_memory(void **state)
{
	(void)state;
	static const char text[] = "sku,name\nBRD-001,Cr\xe8"
	                           "me br\xfb"
	                           "l\xe9"
	                           "e\n";
	size_t glen;
	unsigned char *gz = gzip_bytes(text, sizeof text - 1, &glen);
	struct input *in;
	struct etl_error err;
	assert_int_equal(input_open_memory(&in, "builtin:x.csv.gz", gz, glen, ENC_LATIN1, &err),
	                 ETL_OK);
	assert_int_equal(input_raw_size(in), (int64_t)glen);
	char buf[256];
	size_t n = 0;
	ssize_t k;
	while ((k = input_read(in, buf + n, sizeof buf - n, &err)) > 0)
		n += (size_t)k;
	assert_int_equal(k, 0);
	static const char want[] = "sku,name\nBRD-001,Cr\xc3\xa8"
	                           "me br\xc3\xbb"
	                           "l\xc3\xa9"
	                           "e\n";
	assert_int_equal(n, sizeof want - 1);
	assert_memory_equal(buf, want, n);
	assert_int_equal(input_raw_bytes(in), glen);
	input_close(in);
	free(gz);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_plain_and_gzip_read_back_exactly),
	        cmocka_unit_test(test_multi_member_and_padding),
	        cmocka_unit_test(test_truncated_and_corrupt),
	        cmocka_unit_test(test_bom_and_empty),
	        cmocka_unit_test(test_encodings),
	        cmocka_unit_test(test_open_errors),
	        cmocka_unit_test(test_sizes),
	        cmocka_unit_test(test_memory),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
