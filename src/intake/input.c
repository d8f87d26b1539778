/*
 * input.c — reading a file, stdin or a gzip stream as UTF-8 text in chunks.
 *
 * gzip is decoded with inflate() directly rather than gzread(): gzread()
 * stops quietly at bytes that do not start another member, which would turn
 * a damaged second member into silently short data.  Here anything after the
 * last member other than zero padding is an error.
 *
 * The text's first bytes are looked at once, before any is returned: a
 * byte-order mark decides among the Unicode encodings, and the NUL bytes
 * of a header say when a file is UTF-16 or UTF-32 read as something else.
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
#define SNIFF_BYTES 256          /* the start of the text looked at first */

struct input {
	int fd;
	char *name;
	enum input_encoding asked; /* --encoding */
	enum input_encoding enc;   /* as asked; from the first read on, as found */
	size_t unit;               /* bytes of its code unit: 1, 2 or 4 */
	iconv_t cd;
	int64_t size;
	uint64_t raw_total; /* bytes read from the file */
	struct input_id id; /* what the file opened is */

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
	uint64_t plain_off; /* where plain[0] is in the text, for messages */
	bool plain_eof;     /* no text after plain[plain_len] */

	EVP_MD_CTX *hash; /* when fingerprinting: SHA-256 of the raw bytes */
	bool started;     /* the start of the text was looked at (start()) */
	bool bom;         /* it began with a byte-order mark */
	bool failed;      /* errors stick */
	struct etl_error error;
};

/* The --encoding values; an encoding's first is the one messages suggest. */
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
        {"utf-16", ENC_UTF16},
        {"utf16", ENC_UTF16},
        {"utf-16le", ENC_UTF16LE},
        {"utf16le", ENC_UTF16LE},
        {"utf-16be", ENC_UTF16BE},
        {"utf16be", ENC_UTF16BE},
        {"utf-32", ENC_UTF32},
        {"utf32", ENC_UTF32},
        {"utf-32le", ENC_UTF32LE},
        {"utf32le", ENC_UTF32LE},
        {"utf-32be", ENC_UTF32BE},
        {"utf32be", ENC_UTF32BE},
};

/* The byte-order marks, each with the encoding it says. */
static const struct {
	unsigned char bytes[4];
	size_t len;
	enum input_encoding enc;
} boms[] = {
        {{0xEF, 0xBB, 0xBF}, 3, ENC_UTF8},
        {{0xFF, 0xFE, 0x00, 0x00}, 4, ENC_UTF32LE}, /* before UTF-16LE's, its prefix */
        {{0x00, 0x00, 0xFE, 0xFF}, 4, ENC_UTF32BE},
        {{0xFF, 0xFE}, 2, ENC_UTF16LE},
        {{0xFE, 0xFF}, 2, ENC_UTF16BE},
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
	case ENC_UTF16:
		return "UTF-16";
	case ENC_UTF16LE:
		return "UTF-16LE";
	case ENC_UTF16BE:
		return "UTF-16BE";
	case ENC_UTF32:
		return "UTF-32";
	case ENC_UTF32LE:
		return "UTF-32LE";
	case ENC_UTF32BE:
		return "UTF-32BE";
	default:
		return "UTF-8";
	}
}

size_t
input_encoding_unit(enum input_encoding enc)
{
	switch (enc) {
	case ENC_UTF16:
	case ENC_UTF16LE:
	case ENC_UTF16BE:
		return 2;
	case ENC_UTF32:
	case ENC_UTF32LE:
	case ENC_UTF32BE:
		return 4;
	default:
		return 1;
	}
}

/* The --encoding value that names enc. */
static const char *
option_name(enum input_encoding enc)
{
	for (size_t i = 0; i < sizeof encodings / sizeof encodings[0]; i++)
		if (encodings[i].enc == enc)
			return encodings[i].name;
	return "utf-8";
}

/* Records a sticky error at line (0: none) and returns -1. */
static int fail(struct input *in, struct etl_error *err, enum etl_code code, long line,
                const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int
fail(struct input *in, struct etl_error *err, enum etl_code code, long line, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	(void)error_vset(&in->error, code, in->name, line, fmt, ap);
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
		return error_oom(err, path, 0);
	in->fd = -1;
	in->cd = (iconv_t)-1;
	in->asked = in->enc = enc;
	in->name = strdup(strcmp(path, "-") == 0 ? "stdin" : path);
	in->raw = malloc(RAW_CHUNK);
	if (in->name == NULL || in->raw == NULL) {
		input_close(in);
		return error_oom(err, path, 0);
	}
	*out = in;
	return ETL_OK;
}

static struct input_id
id_of(const struct stat *st)
{
	return (struct input_id){.known = true,
	                         .dev = (unsigned long long)st->st_dev,
	                         .ino = (unsigned long long)st->st_ino,
	                         .size = (long long)st->st_size,
	                         .mtime_s = (long long)st->st_mtim.tv_sec,
	                         .mtime_ns = (long long)st->st_mtim.tv_nsec};
}

void
input_identity(const struct input *in, struct input_id *id)
{
	*id = in->id;
}

bool
input_same_file(const char *path, const struct input_id *id)
{
	struct stat st;
	if (!id->known || lstat(path, &st) != 0 || !S_ISREG(st.st_mode))
		return false;
	struct input_id now = id_of(&st);
	return now.dev == id->dev && now.ino == id->ino && now.size == id->size &&
	       now.mtime_s == id->mtime_s && now.mtime_ns == id->mtime_ns;
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
	if (in->fd != STDIN_FILENO && S_ISREG(st.st_mode))
		in->id = id_of(&st);
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
	while (!in->raw_eof && in->raw_len < RAW_CHUNK) {
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
			return fail(in, err, ETL_EINPUT, 0, "read error: %s", strerror(errno));
		if (n == 0)
			in->raw_eof = true;
		if (in->hash != NULL && n > 0 &&
		    EVP_DigestUpdate(in->hash, in->raw + in->raw_len, (size_t)n) != 1)
			return fail(in, err, ETL_ESYSTEM, 0,
			            "cannot compute the file's fingerprint");
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
		return fail(in, err, ETL_ESYSTEM, 0, "out of memory");
	/* 16 + 15: a gzip wrapper with the largest window. */
	if (inflateInit2(&in->z, 16 + MAX_WBITS) != Z_OK)
		return fail(in, err, ETL_ESYSTEM, 0, "cannot start gzip decoding");
	in->z_ready = true;
	return 0;
}

static int
truncated(struct input *in, struct etl_error *err)
{
	return fail(in, err, ETL_EINPUT, 0,
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
			return fail(in, err, ETL_EINPUT, 0,
			            "unexpected data after the gzip stream at byte %llu (a damaged "
			            "member, or a file appended to it)",
			            (unsigned long long)(in->raw_total - avail));
		in->raw_pos += zeros; /* padding, as gzip itself tolerates */
	}
}

/* Decodes the next stretch of gzip data into plain, after the bytes of it
 * not consumed yet (moved to its front). */
static int
gz_fill(struct input *in, struct etl_error *err)
{
	size_t keep = in->plain_len - in->plain_pos;
	memmove(in->plain, in->plain + in->plain_pos, keep);
	in->plain_pos = 0;
	in->plain_len = keep;
	while (in->plain_len == keep && !in->plain_eof) {
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
		in->z.next_out = in->plain + keep;
		in->z.avail_out = (uInt)(PLAIN_CHUNK - keep);
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
			return fail(in, err, ETL_ESYSTEM, 0, "out of memory decoding gzip");
		default:
			return fail(
			        in, err, ETL_EINPUT, 0, "corrupt gzip data at byte %llu: %s",
			        (unsigned long long)(in->raw_total - (in->raw_len - in->raw_pos)),
			        in->z.msg ? in->z.msg : "invalid stream");
		}
	}
	return 0;
}

/* Brings more text into plain after its bytes not consumed yet, which stay
 * (part of a character the converter waits on); sets plain_eof when there
 * is no more.  Returns 0, or -1. */
static int
plain_more(struct input *in, struct etl_error *err)
{
	if (!in->detected && detect(in, err) < 0)
		return -1;
	in->plain_off += in->plain_pos;
	if (in->gzip)
		return gz_fill(in, err);
	/* Plain file: the raw buffer is the plain buffer.  What plain did not
	 * consume goes back to raw, to the front, and one read comes after it
	 * (after the bytes detect() read, the first time). */
	in->raw_pos = in->plain_pos;
	if (raw_fill(in, err) < 0)
		return -1;
	in->plain_pos = in->raw_pos;
	in->plain_len = in->raw_len;
	in->raw_pos = in->raw_len;
	in->plain_eof = in->raw_eof;
	return 0;
}

/* Makes at least want bytes of text available in plain, unless it ends
 * first.  Returns 0, or -1. */
static int
plain_want(struct input *in, size_t want, struct etl_error *err)
{
	while (in->plain_len - in->plain_pos < want && !in->plain_eof)
		if (plain_more(in, err) < 0)
			return -1;
	return 0;
}

/* " of the decompressed data" after a byte offset in the text of a gzip
 * file, which is not an offset in the file itself. */
static const char *
text_of(const struct input *in)
{
	return in->gzip ? " of the decompressed data" : "";
}

/*
 * Whether the NUL bytes of p[0, n) (the start of a header) are those of
 * ASCII text in UTF-16 or UTF-32, and of which (*enc): one in every other
 * byte, or three in every four.  A stray NUL, in a name of a UTF-8 header,
 * is no such pattern.
 */
static bool
nul_pattern(const unsigned char *p, size_t n, enum input_encoding *enc)
{
	size_t zero[4] = {0, 0, 0, 0};
	size_t q = n / 4; /* bytes looked at in each of the four places */
	for (size_t i = 0; i < q * 4; i++)
		zero[i % 4] += p[i] == 0;
	if (q == 0)
		return false;
	if (zero[2] == q && zero[3] == q && zero[0] < q)
		*enc = ENC_UTF32LE;
	else if (zero[0] == q && zero[1] == q && zero[3] < q)
		*enc = ENC_UTF32BE;
	else if (zero[0] + zero[2] == 0 && zero[1] + zero[3] >= q)
		*enc = ENC_UTF16LE;
	else if (zero[1] + zero[3] == 0 && zero[0] + zero[2] >= q)
		*enc = ENC_UTF16BE;
	else
		return false;
	return true;
}

/* Without a byte-order mark: the header's NUL bytes, if it has the
 * pattern of one, must be those of the encoding the text is read in, so
 * that a file read in another fails here, by name, rather than as a header
 * of garbled names.  Returns 0, or -1. */
static int
check_nuls(struct input *in, struct etl_error *err)
{
	const unsigned char *p = in->plain + in->plain_pos;
	size_t n = in->plain_len - in->plain_pos;
	if (n > SNIFF_BYTES)
		n = SNIFF_BYTES;
	const unsigned char *nl = memchr(p, '\n', n);
	enum input_encoding seen;
	if (!nul_pattern(p, nl != NULL ? (size_t)(nl - p) : n, &seen) || seen == in->enc)
		return 0;
	if (in->unit == 1)
		return fail(
		        in, err, ETL_EINPUT, 1,
		        "the header holds NUL bytes: the file looks like %s%s; try --encoding %s",
		        input_encoding_name(seen),
		        in->enc == ENC_UTF8 ? " without a byte-order mark" : "", option_name(seen));
	return fail(in, err, ETL_EINPUT, 1,
	            "the header's NUL bytes are those of %s, not %s (the file has no byte-order "
	            "mark%s): try --encoding %s",
	            input_encoding_name(seen), input_encoding_name(in->enc),
	            in->asked == ENC_UTF16 || in->asked == ENC_UTF32
	                    ? ", and without one it is big-endian"
	                    : "",
	            option_name(seen));
}

/*
 * Before the first byte is returned.  Read as a Unicode encoding (UTF-8 or
 * any UTF-16 or UTF-32), a text that begins with a byte-order mark is read
 * in the one the mark says, without it.  Without one, "utf-16" and "utf-32"
 * are big-endian (RFC 2781, and the Unicode Standard for UTF-32), and the
 * header's NUL bytes are checked.  Then the converter to UTF-8 opens.
 * Returns 0, or -1.
 */
static int
start(struct input *in, struct etl_error *err)
{
	in->started = true;
	if (plain_want(in, SNIFF_BYTES, err) < 0)
		return -1;
	const unsigned char *p = in->plain + in->plain_pos;
	size_t avail = in->plain_len - in->plain_pos;
	bool unicode = in->enc != ENC_LATIN1 && in->enc != ENC_WINDOWS1252;
	for (size_t i = 0; unicode && !in->bom && i < sizeof boms / sizeof boms[0]; i++) {
		if (avail >= boms[i].len && memcmp(p, boms[i].bytes, boms[i].len) == 0) {
			in->enc = boms[i].enc;
			in->bom = true;
			in->plain_pos += boms[i].len;
		}
	}
	if (in->enc == ENC_UTF16)
		in->enc = ENC_UTF16BE;
	else if (in->enc == ENC_UTF32)
		in->enc = ENC_UTF32BE;
	in->unit = input_encoding_unit(in->enc);
	if (!in->bom && check_nuls(in, err) < 0)
		return -1;
	if (in->enc != ENC_UTF8) {
		in->cd = iconv_open("UTF-8", input_encoding_name(in->enc));
		if (in->cd == (iconv_t)-1)
			return fail(in, err, ETL_ESYSTEM, 0, "cannot convert from %s: %s",
			            input_encoding_name(in->enc), strerror(errno));
	}
	return 0;
}

/* The code unit at the start of p[0, n), in the byte order of enc. */
static unsigned long
code_unit(enum input_encoding enc, const unsigned char *p, size_t n)
{
	size_t u = input_encoding_unit(enc) < n ? input_encoding_unit(enc) : n;
	bool little = enc == ENC_UTF16LE || enc == ENC_UTF32LE;
	unsigned long v = 0;
	for (size_t i = 0; i < u; i++)
		v = v << 8 | p[little ? u - 1 - i : i];
	return v;
}

/* Converts plain bytes to UTF-8 into out.  Returns the bytes written (0
 * when what is left is part of a character, to be completed by the next
 * bytes), or -1: not valid UTF-16 (a surrogate without its pair) or UTF-32
 * (beyond U+10FFFF, or a surrogate).  windows-1252's five unassigned bytes
 * become the C1 controls of the same value, as the WHATWG Encoding Standard
 * decodes them, so that no byte is lost. */
static ssize_t
convert(struct input *in, char *out, size_t size, struct etl_error *err)
{
	char *inp = (char *)in->plain + in->plain_pos;
	size_t inleft = in->plain_len - in->plain_pos;
	char *outp = out;
	size_t outleft = size;
	while (inleft > 0 && outleft >= 4) {
		size_t r = iconv(in->cd, &inp, &inleft, &outp, &outleft);
		/* EINVAL: a character goes on in bytes not read yet. */
		if (r != (size_t)-1 || errno == E2BIG || errno == EINVAL)
			break;
		if (in->unit > 1) {
			in->plain_pos = in->plain_len - inleft;
			unsigned long v = code_unit(in->enc, (unsigned char *)inp, inleft);
			return fail(in, err, ETL_EINPUT, 0,
			            "not valid %s at byte %llu%s: 0x%04lX is %s",
			            input_encoding_name(in->enc),
			            (unsigned long long)(in->plain_off + in->plain_pos),
			            text_of(in), v,
			            in->unit == 2 ? "a surrogate without its pair"
			                          : "not a Unicode character");
		}
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
	return (ssize_t)(size - outleft);
}

ssize_t
input_read(struct input *in, char *buf, size_t size, struct etl_error *err)
{
	if (in->failed) {
		if (err != NULL)
			*err = in->error;
		return -1;
	}
	if (!in->started && start(in, err) < 0)
		return -1;
	for (;;) {
		size_t avail = in->plain_len - in->plain_pos;
		ssize_t n = 0;
		if (avail > 0 && in->cd != (iconv_t)-1) {
			n = convert(in, buf, size, err);
		} else if (avail > 0) {
			n = (ssize_t)(avail < size ? avail : size);
			memcpy(buf, in->plain + in->plain_pos, (size_t)n);
			in->plain_pos += (size_t)n;
		}
		if (n != 0)
			return n;
		/* Nothing left in plain, or part of a character. */
		if (!in->plain_eof) {
			if (plain_more(in, err) < 0)
				return -1;
			continue;
		}
		if (in->plain_pos == in->plain_len)
			return 0;
		return fail(in, err, ETL_EINPUT, 0,
		            "the file ends inside a %s character at byte %llu%s",
		            input_encoding_name(in->enc),
		            (unsigned long long)(in->plain_off + in->plain_pos), text_of(in));
	}
}

enum etl_code
input_found_encoding(struct input *in, enum input_encoding *enc, struct etl_error *err)
{
	if (in->failed || (!in->started && start(in, err) < 0)) {
		if (err != NULL)
			*err = in->error;
		return in->error.code;
	}
	*enc = in->enc;
	return ETL_OK;
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
		return error_oom(err, in->name, 0);
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
input_spool(int in, const char *name_of, char **path, struct etl_error *err)
{
	const char *tmp = getenv("TMPDIR");
	char *name = NULL, *buf = NULL;
	int fd = -1;
	enum etl_code rc = ETL_OK;
	*path = NULL;
	if (asprintf(&name, "%s/siprems-etl-stdin.XXXXXX", tmp && tmp[0] ? tmp : "/tmp") < 0) {
		name = NULL;
		rc = error_oom(err, name_of, 0);
		goto out;
	}
	fd = mkstemp(name);
	if (fd < 0) {
		rc = error_set(err, ETL_ESYSTEM, name_of, 0,
		               "cannot create a temporary file to copy it to in %s (TMPDIR): %s",
		               tmp && tmp[0] ? tmp : "/tmp", strerror(errno));
		goto out;
	}
	(void)unlink(name); /* gone with the process, however it ends */
	buf = malloc(RAW_CHUNK);
	if (buf == NULL) {
		rc = error_oom(err, name_of, 0);
		goto out;
	}
	for (;;) {
		ssize_t n = read(in, buf, RAW_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = error_set(err, ETL_EINPUT, name_of, 0, "read error: %s",
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
				rc = error_set(err, ETL_ESYSTEM, name_of, 0,
				               "cannot spool to a temporary file: %s",
				               strerror(errno));
				goto out;
			}
			done += w;
		}
	}
	if (asprintf(path, "/proc/self/fd/%d", fd) < 0) {
		*path = NULL;
		rc = error_oom(err, name_of, 0);
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
