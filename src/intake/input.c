/*
 * input.c — reading a file, stdin or a gzip stream as UTF-8 text in chunks.
 *
 * gzip is decoded with inflate() directly rather than gzread(): gzread()
 * stops quietly at bytes that do not start another member, which would turn
 * a damaged second member into silently short data.  Here anything after the
 * last member other than zero padding is an error.
 */
#include "input.h"

#include <errno.h>
#include <fcntl.h>
#include <iconv.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define RAW_CHUNK   (256 * 1024) /* bytes read from the file at a time */
#define PLAIN_CHUNK (256 * 1024) /* decompressed bytes at a time */

struct input {
	int fd;
	char *name;
	enum input_encoding enc;
	iconv_t cd;
	int64_t size;
	uint64_t raw_total; /* bytes read from the file */

	const unsigned char *mem; /* a file in memory: read from here, not fd */
	size_t mem_len, mem_pos;
	unsigned char *raw; /* read, not yet consumed */
	size_t raw_len, raw_pos;
	bool raw_eof;

	bool detected, gzip;
	z_stream z;
	bool z_ready;
	bool member_done; /* the current gzip member ended */

	unsigned char *plain; /* decoded bytes: raw itself for plain files */
	size_t plain_len, plain_pos;
	bool plain_eof;

	EVP_MD_CTX *hash; /* when fingerprinting: SHA-256 of the raw bytes */
	int bom_pos;      /* UTF-8 BOM bytes matched so far; 3 or -1: decided */
	bool failed;      /* errors stick */
	struct etl_error error;
};

static const struct {
	const char *name;
	enum input_encoding enc;
} encodings[] = {
        {"utf-8", ENC_UTF8},
        {"utf8", ENC_UTF8},
        {"latin1", ENC_LATIN1},
        {"latin-1", ENC_LATIN1},
        {"iso-8859-1", ENC_LATIN1},
        {"iso8859-1", ENC_LATIN1},
        {"windows-1252", ENC_WINDOWS1252},
        {"cp1252", ENC_WINDOWS1252},
};

bool
input_parse_encoding(const char *s, enum input_encoding *enc)
{
	for (size_t i = 0; i < sizeof encodings / sizeof encodings[0]; i++) {
		if (strcasecmp(s, encodings[i].name) == 0) {
			*enc = encodings[i].enc;
			return true;
		}
	}
	return false;
}

const char *
input_encoding_name(enum input_encoding enc)
{
	switch (enc) {
	case ENC_LATIN1:
		return "ISO-8859-1";
	case ENC_WINDOWS1252:
		return "WINDOWS-1252";
	default:
		return "UTF-8";
	}
}

/* Records a sticky error and returns -1. */
static int fail(struct input *in, struct etl_error *err, enum etl_code code, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

static int
fail(struct input *in, struct etl_error *err, enum etl_code code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	(void)error_vset(&in->error, code, in->name, 0, fmt, ap);
	va_end(ap);
	in->failed = true;
	if (err != NULL)
		*err = in->error;
	return -1;
}

/* A new input named after path, not yet reading anything. */
static enum etl_code
input_new(struct input **out, const char *path, enum input_encoding enc, struct etl_error *err)
{
	struct input *in = calloc(1, sizeof *in);
	*out = NULL;
	if (in == NULL)
		return error_set(err, ETL_ESYSTEM, path, 0, "out of memory");
	in->fd = -1;
	in->cd = (iconv_t)-1;
	in->enc = enc;
	in->bom_pos = enc == ENC_UTF8 ? 0 : -1;
	in->name = strdup(strcmp(path, "-") == 0 ? "stdin" : path);
	in->raw = malloc(RAW_CHUNK);
	if (in->name == NULL || in->raw == NULL) {
		input_close(in);
		return error_set(err, ETL_ESYSTEM, path, 0, "out of memory");
	}
	if (enc != ENC_UTF8) {
		in->cd = iconv_open("UTF-8", input_encoding_name(enc));
		if (in->cd == (iconv_t)-1) {
			enum etl_code rc = error_set(err, ETL_ESYSTEM, in->name, 0,
			                             "cannot convert from %s: %s",
			                             input_encoding_name(enc), strerror(errno));
			input_close(in);
			return rc;
		}
	}
	*out = in;
	return ETL_OK;
}

enum etl_code
input_open(struct input **out, const char *path, enum input_encoding enc, struct etl_error *err)
{
	struct input *in;
	enum etl_code rc = input_new(&in, path, enc, err);
	*out = NULL;
	if (rc != ETL_OK)
		return rc;
	if (strcmp(path, "-") == 0) {
		in->fd = STDIN_FILENO;
	} else {
		in->fd = open(path, O_RDONLY | O_CLOEXEC);
		if (in->fd < 0) {
			rc = error_set(err, ETL_EINPUT, path, 0, "cannot open: %s",
			               strerror(errno));
			goto out;
		}
	}
	struct stat st;
	if (fstat(in->fd, &st) != 0) {
		rc = error_set(err, ETL_EINPUT, in->name, 0, "cannot stat: %s", strerror(errno));
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		rc = error_set(err, ETL_EINPUT, in->name, 0, "is a directory");
		goto out;
	}
	in->size = S_ISREG(st.st_mode) ? (int64_t)st.st_size : -1;
	*out = in;
	in = NULL;
out:
	input_close(in);
	return rc;
}

enum etl_code
input_open_memory(struct input **out, const char *name, const unsigned char *data, size_t size,
                  enum input_encoding enc, struct etl_error *err)
{
	enum etl_code rc = input_new(out, name, enc, err);
	if (rc == ETL_OK) {
		(*out)->mem = data;
		(*out)->mem_len = size;
		(*out)->size = (int64_t)size;
	}
	return rc;
}

void
input_close(struct input *in)
{
	if (in == NULL)
		return;
	if (in->fd > STDIN_FILENO)
		(void)close(in->fd);
	if (in->z_ready)
		(void)inflateEnd(&in->z);
	if (in->cd != (iconv_t)-1)
		(void)iconv_close(in->cd);
	EVP_MD_CTX_free(in->hash);
	if (in->plain != in->raw)
		free(in->plain);
	free(in->raw);
	free(in->name);
	free(in);
}

/* Reads more of the file after the unconsumed bytes.  Returns 0, or -1. */
static int
raw_fill(struct input *in, struct etl_error *err)
{
	if (in->raw_pos > 0) {
		memmove(in->raw, in->raw + in->raw_pos, in->raw_len - in->raw_pos);
		in->raw_len -= in->raw_pos;
		in->raw_pos = 0;
	}
	while (in->raw_len < RAW_CHUNK) {
		ssize_t n;
		if (in->mem != NULL) {
			size_t left = in->mem_len - in->mem_pos;
			n = (ssize_t)(left < RAW_CHUNK - in->raw_len ? left
			                                             : RAW_CHUNK - in->raw_len);
			memcpy(in->raw + in->raw_len, in->mem + in->mem_pos, (size_t)n);
			in->mem_pos += (size_t)n;
		} else {
			n = read(in->fd, in->raw + in->raw_len, RAW_CHUNK - in->raw_len);
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return fail(in, err, ETL_EINPUT, "read error: %s", strerror(errno));
		if (n == 0)
			in->raw_eof = true;
		if (in->hash != NULL && n > 0 &&
		    EVP_DigestUpdate(in->hash, in->raw + in->raw_len, (size_t)n) != 1)
			return fail(in, err, ETL_ESYSTEM, "cannot compute the file's fingerprint");
		in->raw_len += (size_t)n;
		in->raw_total += (uint64_t)n;
		break;
	}
	return 0;
}

static int
detect(struct input *in, struct etl_error *err)
{
	while (in->raw_len - in->raw_pos < 2 && !in->raw_eof)
		if (raw_fill(in, err) < 0)
			return -1;
	in->detected = true;
	in->gzip = in->raw_len - in->raw_pos >= 2 && in->raw[in->raw_pos] == 0x1f &&
	           in->raw[in->raw_pos + 1] == 0x8b;
	if (!in->gzip) {
		in->plain = in->raw;
		return 0;
	}
	in->plain = malloc(PLAIN_CHUNK);
	if (in->plain == NULL)
		return fail(in, err, ETL_ESYSTEM, "out of memory");
	/* 16 + 15: a gzip wrapper with the largest window. */
	if (inflateInit2(&in->z, 16 + MAX_WBITS) != Z_OK)
		return fail(in, err, ETL_ESYSTEM, "cannot start gzip decoding");
	in->z_ready = true;
	return 0;
}

static int
truncated(struct input *in, struct etl_error *err)
{
	return fail(in, err, ETL_EINPUT,
	            "truncated gzip stream: the file ends inside compressed data");
}

/* After a member: another member, zero padding, the end, or junk. */
static int
next_member(struct input *in, struct etl_error *err)
{
	for (;;) {
		if (in->raw_len - in->raw_pos < 2 && !in->raw_eof) {
			if (raw_fill(in, err) < 0)
				return -1;
			continue;
		}
		size_t avail = in->raw_len - in->raw_pos;
		const unsigned char *p = in->raw + in->raw_pos;
		if (avail == 0) {
			in->plain_eof = true;
			return 0;
		}
		if (avail >= 2 && p[0] == 0x1f && p[1] == 0x8b) {
			(void)inflateReset(&in->z);
			in->member_done = false;
			return 0;
		}
		size_t zeros = 0;
		while (zeros < avail && p[zeros] == 0)
			zeros++;
		if (zeros < avail)
			return fail(in, err, ETL_EINPUT,
			            "unexpected data after the gzip stream at byte %llu (a damaged "
			            "member, or a file appended to it)",
			            (unsigned long long)(in->raw_total - avail));
		in->raw_pos += zeros; /* padding, as gzip itself tolerates */
	}
}

/* Decodes the next stretch of gzip data into plain. */
static int
gz_fill(struct input *in, struct etl_error *err)
{
	in->plain_pos = in->plain_len = 0;
	while (in->plain_len == 0 && !in->plain_eof) {
		if (in->member_done) {
			if (next_member(in, err) < 0)
				return -1;
			continue;
		}
		if (in->raw_len == in->raw_pos) {
			if (in->raw_eof)
				return truncated(in, err);
			if (raw_fill(in, err) < 0)
				return -1;
			continue;
		}
		in->z.next_in = in->raw + in->raw_pos;
		in->z.avail_in = (uInt)(in->raw_len - in->raw_pos);
		in->z.next_out = in->plain;
		in->z.avail_out = PLAIN_CHUNK;
		int zr = inflate(&in->z, Z_NO_FLUSH);
		in->raw_pos = in->raw_len - in->z.avail_in;
		in->plain_len = PLAIN_CHUNK - in->z.avail_out;
		switch (zr) {
		case Z_OK:
			break;
		case Z_STREAM_END:
			in->member_done = true;
			break;
		case Z_BUF_ERROR: /* needs more input */
			if (in->raw_eof && in->raw_len == in->raw_pos)
				return truncated(in, err);
			if (raw_fill(in, err) < 0)
				return -1;
			break;
		case Z_MEM_ERROR:
			return fail(in, err, ETL_ESYSTEM, "out of memory decoding gzip");
		default:
			return fail(
			        in, err, ETL_EINPUT, "corrupt gzip data at byte %llu: %s",
			        (unsigned long long)(in->raw_total - (in->raw_len - in->raw_pos)),
			        in->z.msg ? in->z.msg : "invalid stream");
		}
	}
	return 0;
}

/* Makes decoded bytes available in plain[plain_pos, plain_len).  Returns 0
 * (with none available only at the end), or -1. */
static int
plain_fill(struct input *in, struct etl_error *err)
{
	if (in->plain_pos < in->plain_len || in->plain_eof)
		return 0;
	if (!in->detected && detect(in, err) < 0)
		return -1;
	if (in->gzip)
		return gz_fill(in, err);
	/* Plain file: the raw buffer is the plain buffer; bytes detect()
	 * read first, then one read at a time. */
	if (in->raw_pos == in->raw_len && raw_fill(in, err) < 0)
		return -1;
	in->plain_pos = in->raw_pos;
	in->plain_len = in->raw_len;
	in->raw_pos = in->raw_len;
	if (in->plain_pos == in->plain_len && in->raw_eof)
		in->plain_eof = true;
	return 0;
}

/* Converts latin1/windows-1252 bytes to UTF-8 into out; returns the bytes
 * written.  windows-1252's five unassigned bytes become the C1 controls of
 * the same value, as the WHATWG Encoding Standard decodes them, so that no
 * byte is lost. */
static size_t
convert(struct input *in, char *out, size_t size)
{
	char *inp = (char *)in->plain + in->plain_pos;
	size_t inleft = in->plain_len - in->plain_pos;
	char *outp = out;
	size_t outleft = size;
	while (inleft > 0 && outleft >= 4) {
		size_t r = iconv(in->cd, &inp, &inleft, &outp, &outleft);
		if (r != (size_t)-1 || errno == E2BIG)
			break;
		/* EILSEQ: an unassigned byte, written as two bytes, when iconv
		 * left room for them (it may stop there with less than 4). */
		if (outleft < 2)
			break;
		unsigned char b = (unsigned char)*inp;
		*outp++ = (char)(0xC0 | (b >> 6));
		*outp++ = (char)(0x80 | (b & 0x3F));
		outleft -= 2;
		inp++;
		inleft--;
	}
	in->plain_pos = in->plain_len - inleft;
	return size - outleft;
}

ssize_t
input_read(struct input *in, char *buf, size_t size, struct etl_error *err)
{
	static const unsigned char bom[3] = {0xEF, 0xBB, 0xBF};
	size_t n = 0;

	if (in->failed) {
		if (err != NULL)
			*err = in->error;
		return -1;
	}
	while (n == 0) {
		if (plain_fill(in, err) < 0)
			return -1;
		size_t avail = in->plain_len - in->plain_pos;
		if (in->bom_pos >= 0 && in->bom_pos < 3) {
			/* Match the BOM byte by byte; give back a partial match. */
			if (avail > 0 && in->plain[in->plain_pos] == bom[in->bom_pos]) {
				in->plain_pos++;
				in->bom_pos++;
				continue;
			}
			if (in->bom_pos > 0 && size >= (size_t)in->bom_pos) {
				memcpy(buf, bom, (size_t)in->bom_pos);
				n = (size_t)in->bom_pos;
			}
			in->bom_pos = -1;
			if (n > 0)
				break;
		}
		if (avail == 0)
			return 0; /* plain_fill() found the end */
		if (in->cd != (iconv_t)-1) {
			n = convert(in, buf, size);
		} else {
			n = avail < size ? avail : size;
			memcpy(buf, in->plain + in->plain_pos, n);
			in->plain_pos += n;
		}
	}
	return (ssize_t)n;
}

uint64_t
input_raw_bytes(const struct input *in)
{
	return in->raw_total;
}

int64_t
input_raw_size(const struct input *in)
{
	return in->size;
}

bool
input_is_gzip(const struct input *in)
{
	return in->gzip;
}

const char *
input_name(const struct input *in)
{
	return in->name;
}

enum etl_code
input_hash_raw(struct input *in, struct etl_error *err)
{
	in->hash = EVP_MD_CTX_new();
	if (in->hash == NULL || EVP_DigestInit_ex(in->hash, EVP_sha256(), NULL) != 1)
		return error_set(err, ETL_ESYSTEM, in->name, 0, "out of memory");
	return ETL_OK;
}

enum etl_code
input_raw_sha256(struct input *in, char hex[65], int64_t *size, struct etl_error *err)
{
	while (!in->raw_eof) {
		in->raw_pos = in->raw_len;
		if (raw_fill(in, err) < 0)
			return err->code;
	}
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	if (in->hash == NULL || EVP_DigestFinal_ex(in->hash, md, &mdlen) != 1 || mdlen != 32)
		return error_set(err, ETL_ESYSTEM, in->name, 0,
		                 "cannot compute the file's fingerprint");
	for (unsigned i = 0; i < 32; i++)
		(void)snprintf(hex + 2 * i, 3, "%02x", md[i]);
	*size = (int64_t)in->raw_total;
	return ETL_OK;
}

enum etl_code
input_spool_stdin(char **path, struct etl_error *err)
{
	const char *tmp = getenv("TMPDIR");
	char *name = NULL, *buf = NULL;
	int fd = -1;
	enum etl_code rc = ETL_OK;
	*path = NULL;
	if (asprintf(&name, "%s/siprems-etl-stdin.XXXXXX", tmp && tmp[0] ? tmp : "/tmp") < 0) {
		name = NULL;
		rc = error_set(err, ETL_ESYSTEM, "stdin", 0, "out of memory");
		goto out;
	}
	fd = mkstemp(name);
	if (fd < 0) {
		rc = error_set(err, ETL_ESYSTEM, "stdin", 0, "cannot create a temporary file: %s",
		               strerror(errno));
		goto out;
	}
	(void)unlink(name); /* gone with the process, however it ends */
	buf = malloc(RAW_CHUNK);
	if (buf == NULL) {
		rc = error_set(err, ETL_ESYSTEM, "stdin", 0, "out of memory");
		goto out;
	}
	for (;;) {
		ssize_t n = read(STDIN_FILENO, buf, RAW_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = error_set(err, ETL_EINPUT, "stdin", 0, "read error: %s",
			               strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		for (ssize_t done = 0; done < n;) {
			ssize_t w = write(fd, buf + done, (size_t)(n - done));
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0) {
				rc = error_set(err, ETL_ESYSTEM, "stdin", 0,
				               "cannot spool to a temporary file: %s",
				               strerror(errno));
				goto out;
			}
			done += w;
		}
	}
	if (asprintf(path, "/proc/self/fd/%d", fd) < 0) {
		*path = NULL;
		rc = error_set(err, ETL_ESYSTEM, "stdin", 0, "out of memory");
		goto out;
	}
	fd = -1; /* stays open: the path names it */
out:
	if (fd >= 0)
		(void)close(fd);
	free(buf);
	free(name);
	return rc;
}
