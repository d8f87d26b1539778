/*
 * test_input.c — the byte stage: plain and gzip files of several megabytes
 * read back byte for byte, multi-member gzip, truncated and corrupt streams
 * at many cut points, junk after the stream, the BOM, and encodings:
 * UTF-16 and UTF-32 told by their byte-order mark or named, the NUL bytes of
 * a header read in the wrong one, and text that is not valid.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <iconv.h>
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

/* UTF-8 text in the encoding to (an iconv name), after its byte-order mark
 * (U+FEFF) when mark; the caller frees it. */
static char *
encode(const char *utf8, size_t n, const char *to, bool mark, size_t *outlen)
{
	size_t cap = 4 * n + 8;
	char *out = malloc(cap), *o = out;
	size_t oleft = cap;
	assert_non_null(out);
	iconv_t cd = iconv_open(to, "UTF-8");
	assert_true(cd != (iconv_t)-1);
	char *in = mark ? "\xef\xbb\xbf" : "";
	size_t inleft = strlen(in);
	assert_int_equal(iconv(cd, &in, &inleft, &o, &oleft), 0);
	in = (char *)utf8;
	inleft = n;
	assert_int_equal(iconv(cd, &in, &inleft, &o, &oleft), 0);
	(void)iconv_close(cd);
	*outlen = (size_t)(o - out);
	return out;
}

/* Writes the n bytes of data as name and reads them back as enc: the wlen
 * bytes of want come out. */
static void
expect_text(const char *name, const char *data, size_t n, enum input_encoding enc, const char *want,
            size_t wlen)
{
	size_t got;
	struct etl_error err;
	write_file(name, data, n);
	char *back = read_all(name, enc, &got, &err);
	if (back == NULL)
		fail_msg("%s: %s", name, err.msg);
	if (got != wlen || memcmp(back, want, wlen) != 0)
		fail_msg("%s: %zu bytes, not the %zu expected", name, got, wlen);
	free(back);
}

static const char products[] = "sku\tname\tprice\n"
                               "KOP-001\tKopi Susu Gula Aren \xe2\x98\x95\t18000\n"
                               "CRM-002\tCr\xc3\xa8me br\xc3\xbbl\xc3\xa9\xf0\x9f\x8d\xae\t25000\n";

/* products encoded as to (an iconv name; after its mark when mark) and
 * read as enc: the UTF-8 text comes back, read as found. */
static const struct {
	const char *to;
	bool mark;
	enum input_encoding enc, found;
} unicode_cases[] = {
        /* With the default encoding, the mark decides and is skipped. */
        {"UTF-16LE", true, ENC_UTF8, ENC_UTF16LE},
        {"UTF-16BE", true, ENC_UTF8, ENC_UTF16BE},
        {"UTF-32LE", true, ENC_UTF8, ENC_UTF32LE},
        {"UTF-32BE", true, ENC_UTF8, ENC_UTF32BE},
        /* Whichever Unicode encoding is named: the mark says which. */
        {"UTF-16BE", true, ENC_UTF16LE, ENC_UTF16BE},
        {"UTF-16LE", true, ENC_UTF16, ENC_UTF16LE},
        {"UTF-16LE", true, ENC_UTF32, ENC_UTF16LE},
        {"UTF-8", true, ENC_UTF16, ENC_UTF8},
        {"UTF-16LE", true, ENC_UTF16LE, ENC_UTF16LE},
        /* Named, without a mark. */
        {"UTF-16LE", false, ENC_UTF16LE, ENC_UTF16LE},
        {"UTF-16BE", false, ENC_UTF16BE, ENC_UTF16BE},
        {"UTF-32LE", false, ENC_UTF32LE, ENC_UTF32LE},
        {"UTF-32BE", false, ENC_UTF32BE, ENC_UTF32BE},
        /* "utf-16" and "utf-32" without a mark: big-endian. */
        {"UTF-16BE", false, ENC_UTF16, ENC_UTF16BE},
        {"UTF-32BE", false, ENC_UTF32, ENC_UTF32BE},
};

static void
test_unicode_round_trips(void **state)
{
	(void)state;
	size_t n = sizeof products - 1;
	for (size_t i = 0; i < sizeof unicode_cases / sizeof unicode_cases[0]; i++) {
		size_t len;
		struct etl_error err;
		char *bytes = encode(products, n, unicode_cases[i].to, unicode_cases[i].mark, &len);
		expect_text("unicode.txt", bytes, len, unicode_cases[i].enc, products, n);
		/* What the reject file is written in, known before a read. */
		struct input *in;
		enum input_encoding found;
		assert_int_equal(
		        input_open(&in, path_of("unicode.txt"), unicode_cases[i].enc, &err),
		        ETL_OK);
		assert_int_equal(input_found_encoding(in, &found, &err), ETL_OK);
		assert_int_equal(found, unicode_cases[i].found);
		char buf[8];
		assert_int_equal(input_read(in, buf, 4, &err), 4);
		assert_memory_equal(buf, "sku\t", 4);
		input_close(in);
		free(bytes);
	}
}

static void
test_unicode_marks_and_names(void **state)
{
	(void)state;
	/* The mark alone is an empty text. */
	expect_text("only-mark.txt", "\xff\xfe", 2, ENC_UTF8, "", 0);
	/* A single-byte encoding takes the mark's bytes as characters. */
	expect_text("latin1-mark.txt", "\xff\xfe\x61\x62", 4, ENC_LATIN1,
	            "\xc3\xbf\xc3\xbe\x61\x62", 6);

	enum input_encoding e;
	assert_true(input_parse_encoding("utf-16", &e) && e == ENC_UTF16);
	assert_true(input_parse_encoding("UTF-16LE", &e) && e == ENC_UTF16LE);
	assert_true(input_parse_encoding("utf16be", &e) && e == ENC_UTF16BE);
	assert_true(input_parse_encoding("utf-32", &e) && e == ENC_UTF32);
	assert_true(input_parse_encoding("utf-32le", &e) && e == ENC_UTF32LE);
	assert_true(input_parse_encoding("UTF32BE", &e) && e == ENC_UTF32BE);
	assert_false(input_parse_encoding("utf-7", &e));
	assert_string_equal(input_encoding_name(ENC_UTF16LE), "UTF-16LE");
	assert_int_equal(input_encoding_unit(ENC_UTF16), 2);
	assert_int_equal(input_encoding_unit(ENC_UTF32BE), 4);
	assert_int_equal(input_encoding_unit(ENC_WINDOWS1252), 1);
}

/* Megabytes of UTF-16 and UTF-32, plain and gzip: every chunk boundary
 * falls somewhere in a character (surrogate pairs included) and the text
 * comes back whole. */
static void
test_unicode_large(void **state)
{
	(void)state;
	static const char line[] = "KOP-\xe2\x98\x95,Cr\xc3\xa8me \xf0\x9f\x8d\xae,7\n";
	size_t ll = sizeof line - 1, n = 0, cap = 3 * 1024 * 1024 + 7;
	char *text = malloc(cap);
	assert_non_null(text);
	while (n + ll <= cap) {
		memcpy(text + n, line, ll);
		n += ll;
	}
	const char *tos[] = {"UTF-16LE", "UTF-32BE"};
	for (size_t i = 0; i < 2; i++) {
		size_t len, zlen, got;
		struct etl_error err;
		char *bytes = encode(text, n, tos[i], true, &len);
		write_file("big.txt", bytes, len);
		unsigned char *z = gzip_bytes(bytes, len, &zlen);
		write_file("big.txt.gz", z, zlen);
		const char *names[] = {"big.txt", "big.txt.gz"};
		for (size_t k = 0; k < 2; k++) {
			char *back = read_all(names[k], ENC_UTF8, &got, &err);
			if (back == NULL)
				fail_msg("%s as %s: %s", names[k], tos[i], err.msg);
			assert_int_equal(got, n);
			assert_memory_equal(back, text, n);
			free(back);
		}
		free(z);
		free(bytes);
	}
	free(text);
}

/* Reads name as enc and expects an input error at line whose message
 * holds each of the strings (up to three; NULL ends). */
static void
expect_error(const char *name, enum input_encoding enc, long line, const char *a, const char *b,
             const char *c)
{
	size_t got;
	struct etl_error err;
	char *back = read_all(name, enc, &got, &err);
	if (back != NULL)
		fail_msg("%s read as %zu bytes", name, got);
	assert_int_equal(err.code, ETL_EINPUT);
	assert_int_equal(err.line, line);
	assert_non_null(strstr(err.file, name));
	const char *want[] = {a, b, c};
	for (size_t i = 0; i < 3 && want[i] != NULL; i++)
		if (strstr(err.msg, want[i]) == NULL)
			fail_msg("%s: \"%s\" not in \"%s\"", name, want[i], err.msg);
}

static void
test_unicode_errors(void **state)
{
	(void)state;
	size_t n = sizeof products - 1, len;
	/* Without a mark, read as UTF-8: the header's NUL bytes name the
	 * encoding, never a header of garbled names. */
	const char *tos[] = {"UTF-16LE", "UTF-16BE", "UTF-32LE", "UTF-32BE"};
	const char *opts[] = {"--encoding utf-16le", "--encoding utf-16be", "--encoding utf-32le",
	                      "--encoding utf-32be"};
	for (size_t i = 0; i < 4; i++) {
		char *bytes = encode(products, n, tos[i], false, &len);
		write_file("nomark.txt", bytes, len);
		expect_error("nomark.txt", ENC_UTF8, 1, tos[i], "without a byte-order mark",
		             opts[i]);
		expect_error("nomark.txt", ENC_WINDOWS1252, 1, "the header holds NUL bytes", tos[i],
		             opts[i]);
		free(bytes);
	}
	/* Named, but the NUL bytes are those of another. */
	char *bytes = encode(products, n, "UTF-16LE", false, &len);
	write_file("le-nomark.txt", bytes, len);
	expect_error("le-nomark.txt", ENC_UTF16, 1, "UTF-16LE, not UTF-16BE", "big-endian",
	             "--encoding utf-16le");
	expect_error("le-nomark.txt", ENC_UTF32LE, 1, "UTF-16LE, not UTF-32LE",
	             "--encoding utf-16le", NULL);
	/* gzip first: the same. */
	size_t zlen;
	unsigned char *z = gzip_bytes(bytes, len, &zlen);
	write_file("le-nomark.txt.gz", z, zlen);
	expect_error("le-nomark.txt.gz", ENC_UTF8, 1, "UTF-16LE", "--encoding utf-16le", NULL);
	free(z);
	/* Cut inside a character: an odd byte, half of a surrogate pair. */
	write_file("odd.txt", bytes, len - 1);
	expect_error("odd.txt", ENC_UTF16LE, 0, "ends inside a UTF-16LE character", NULL, NULL);
	free(bytes);
	bytes = encode("a\xf0\x9f\x8d\xae", 5, "UTF-16LE", true, &len);
	write_file("half-pair.txt", bytes, len - 2);
	expect_error("half-pair.txt", ENC_UTF8, 0, "ends inside a UTF-16LE character at byte 4",
	             NULL, NULL);
	free(bytes);
	/* A surrogate without its pair; a UTF-32 unit beyond U+10FFFF. */
	write_file("lone.txt", "\xff\xfe\x61\x00\x00\xdc\x62\x00", 8);
	expect_error("lone.txt", ENC_UTF8, 0, "not valid UTF-16LE at byte 4",
	             "0xDC00 is a surrogate without its pair", NULL);
	write_file("beyond.txt", "\0\0\xfe\xff\0\0\0\x61\0\x11\0\0", 12);
	expect_error("beyond.txt", ENC_UTF8, 0, "not valid UTF-32BE at byte 8",
	             "0x110000 is not a Unicode character", NULL);

	/* A stray NUL in a UTF-8 header is no other encoding: it is left to
	 * the header's own checks. */
	static const char stray[] = "sku,na\0me,price\nP-1,ok,1.00\n";
	expect_text("stray.csv", stray, sizeof stray - 1, ENC_UTF8, stray, sizeof stray - 1);
	/* Nor NUL bytes after the header. */
	static const char rows[] = "sku,name\nA\0B\0C\0D\0E\0,x\n";
	expect_text("nul-rows.csv", rows, sizeof rows - 1, ENC_UTF8, rows, sizeof rows - 1);
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
	        cmocka_unit_test(test_unicode_round_trips),
	        cmocka_unit_test(test_unicode_marks_and_names),
	        cmocka_unit_test(test_unicode_large),
	        cmocka_unit_test(test_unicode_errors),
	        cmocka_unit_test(test_open_errors),
	        cmocka_unit_test(test_sizes),
	        cmocka_unit_test(test_memory),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
