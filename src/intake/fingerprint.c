/*
 * fingerprint.c — what identifies a file's content: a SHA-256 over its
 * decoded records (after gzip, encoding conversion, the BOM, line endings
 * and CSV quoting) beside the SHA-256 of its bytes.  A fast tokenizer
 * covers the common shapes; anything else goes through libcsv, with the
 * same result.
 */
#include <ctype.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "intake_impl.h"

/* The content hash is fed through a buffer: one digest call per 64 KiB,
 * not three per field.  at > 0 asks for the digest of the header and the
 * first at data records on the way (prefix). */
struct hasher {
	EVP_MD_CTX *h;
	size_t n;
	bool failed;
	int64_t data; /* data records hashed */
	int64_t at;
	char prefix[65], less[65];
	unsigned char buf[64 * 1024];
};

/* The digest of what x took so far, as hex into out; x goes on. */
static bool
hash_peek(struct hasher *x, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	x->failed |= EVP_DigestUpdate(x->h, x->buf, x->n) != 1;
	x->n = 0;
	EVP_MD_CTX *copy = EVP_MD_CTX_new();
	bool ok = !x->failed && copy != NULL && EVP_MD_CTX_copy_ex(copy, x->h) == 1 &&
	          EVP_DigestFinal_ex(copy, md, &mdlen) == 1 && mdlen == 32;
	EVP_MD_CTX_free(copy);
	out[0] = '\0';
	for (unsigned i = 0; ok && i < 32; i++)
		(void)snprintf(out + 2 * i, 3, "%02x", md[i]);
	return ok;
}

static void
hash_put(struct hasher *x, const void *p, size_t n)
{
	if (x->n + n > sizeof x->buf) {
		x->failed |= EVP_DigestUpdate(x->h, x->buf, x->n) != 1;
		x->n = 0;
		if (n > sizeof x->buf) {
			x->failed |= EVP_DigestUpdate(x->h, p, n) != 1;
			return;
		}
	}
	memcpy(x->buf + x->n, p, n);
	x->n += n;
}

/* One record into the content hash: its field count, then each field's
 * length and bytes, so that no two different records hash alike. */
static void
hash_record(struct hasher *x, const struct csvrow_record *rec, bool header)
{
	uint64_t n = (uint64_t)rec->nfields;
	hash_put(x, &n, sizeof n);
	for (int i = 0; i < rec->nfields; i++) {
		uint64_t len = rec->lens[i];
		hash_put(x, &len, sizeof len);
		if (!header) {
			hash_put(x, rec->fields[i], rec->lens[i]);
			continue;
		}
		/* Header names are matched without regard to case. */
		for (size_t k = 0; k < rec->lens[i]; k++) {
			unsigned char c = (unsigned char)tolower((unsigned char)rec->fields[i][k]);
			hash_put(x, &c, 1);
		}
	}
	if (header)
		return;
	if (++x->data == x->at)
		(void)hash_peek(x, x->prefix);
	else if (x->data == x->at - 1)
		(void)hash_peek(x, x->less);
}

/* ---- the running hash of a load (intake_impl.h) -------------------------- */

struct hasher *
intake_hasher_new(void)
{
	struct hasher *x = calloc(1, sizeof *x);
	if (x == NULL)
		return NULL;
	x->h = EVP_MD_CTX_new();
	if (x->h == NULL || EVP_DigestInit_ex(x->h, EVP_sha256(), NULL) != 1) {
		intake_hasher_free(x);
		return NULL;
	}
	return x;
}

void
intake_hasher_reset(struct hasher *x)
{
	x->failed = EVP_DigestInit_ex(x->h, EVP_sha256(), NULL) != 1;
	x->n = 0;
	x->data = 0;
}

void
intake_hasher_free(struct hasher *x)
{
	if (x == NULL)
		return;
	EVP_MD_CTX_free(x->h);
	free(x);
}

void
intake_hasher_record(struct hasher *x, const struct csvrow_record *rec, bool header)
{
	hash_record(x, rec, header);
}

bool
intake_hasher_peek(struct hasher *x, char out[65])
{
	return hash_peek(x, out);
}

/*
 * The fast way to the content fingerprint, for the files almost every file
 * is: RFC 4180 records, each field bare (no quote, no CR or LF) or quoted,
 * records ended by LF or CRLF.  Such a file's records are what libcsv makes
 * of it, so they are hashed as hash_record() would hash libcsv's.  Anything
 * else (a blank line, a bare CR, a stray or unterminated quote) makes the
 * file irregular: *regular is false and the caller takes the libcsv way.
 */

/* Where the tokenizer stands between two bytes, and between two reads. */
enum canon_state { START, BARE, QUOTED, QUOTE, CR };

struct canon {
	struct hasher *x;
	char *rec; /* the record so far: its fields' bytes */
	size_t len, cap;
	size_t *ends;  /* where each field ends in rec */
	char **fields; /* at the record's end: the record as hash_record() takes it */
	size_t *lens;
	int nfields, fcap;
	bool wide;   /* a record past csvrow's limits: the libcsv way bounds it */
	bool header; /* the first record: names lower-cased */
	int64_t records;
	bool oom;
	enum canon_state st, before_cr; /* before_cr: where a CR LF goes back to */
	char delim;
	bool special[256]; /* the bytes that end a run of a bare field */
};

static void
canon_bytes(struct canon *c, const char *b, size_t n)
{
	if (n == 0)
		return; /* an empty run, perhaps before anything is allocated */
	if (c->len + n > CSVROW_MAX_RECORD) {
		c->wide = true;
		return;
	}
	if (c->len + n > c->cap) {
		size_t cap = c->cap ? c->cap : 4096;
		while (cap < c->len + n)
			cap *= 2;
		char *v = realloc(c->rec, cap);
		if (v == NULL) {
			c->oom = true;
			return;
		}
		c->rec = v;
		c->cap = cap;
	}
	memcpy(c->rec + c->len, b, n);
	c->len += n;
}

static void
canon_field(struct canon *c)
{
	if ((unsigned)c->nfields >= CSVROW_MAX_FIELDS) {
		c->wide = true;
		return;
	}
	if (c->nfields == c->fcap) {
		int cap = c->fcap ? c->fcap * 2 : 64;
		size_t *e = realloc(c->ends, (size_t)cap * sizeof *e);
		if (e != NULL)
			c->ends = e;
		char **f = realloc(c->fields, (size_t)cap * sizeof *f);
		if (f != NULL)
			c->fields = f;
		size_t *l = realloc(c->lens, (size_t)cap * sizeof *l);
		if (l != NULL)
			c->lens = l;
		if (e == NULL || f == NULL || l == NULL) {
			c->oom = true;
			return;
		}
		c->fcap = cap;
	}
	c->ends[c->nfields++] = c->len;
}

/* A whole record: hashed by hash_record(), as libcsv's records are. */
static void
canon_record(struct canon *c)
{
	size_t at = 0;
	static char none[1]; /* a record of empty fields has no bytes at all */
	for (int i = 0; i < c->nfields; i++) {
		c->fields[i] = c->rec != NULL ? c->rec + at : none;
		c->lens[i] = c->ends[i] - at;
		at = c->ends[i];
	}
	struct csvrow_record rec = {.nfields = c->nfields, .fields = c->fields, .lens = c->lens};
	hash_record(c->x, &rec, c->header);
	c->records++;
	c->header = false;
	c->len = 0;
	c->nfields = 0;
}

/* One read's bytes, whose records may begin or end in another read: the
 * state stays in c. */
static void
canon_chunk(struct canon *c, const char *buf, ssize_t n, bool *regular)
{
	/* In locals for the loop, as the fast way is about speed. */
	enum canon_state st = c->st, before_cr = c->before_cr;
	const bool *special = c->special;
	const char delim = c->delim;
	for (ssize_t i = 0; i < n && *regular; i++) {
		/* Runs of ordinary bytes go in at once. */
		if (st == QUOTED) {
			const char *q = memchr(buf + i, '"', (size_t)(n - i));
			size_t run = q ? (size_t)(q - (buf + i)) : (size_t)(n - i);
			canon_bytes(c, buf + i, run);
			i += (ssize_t)run;
			if (q == NULL)
				break;
			st = QUOTE;
			continue;
		}
		if (st == START || st == BARE) {
			ssize_t j = i;
			while (j < n && !special[(unsigned char)buf[j]])
				j++;
			if (j > i) {
				canon_bytes(c, buf + i, (size_t)(j - i));
				st = BARE;
				i = j - 1;
				continue;
			}
		}
		char b = buf[i];
		if (st == CR) {
			if (b != '\n') {
				*regular = false; /* a bare CR */
				break;
			}
			st = before_cr;
		}
		switch (st) {
		case START:
		case BARE:
		case QUOTE:
			if (b == delim) {
				canon_field(c);
				st = START;
			} else if (b == '\n') {
				if (st == START && c->nfields == 0) {
					*regular = false; /* a blank line */
					break;
				}
				canon_field(c);
				canon_record(c);
				st = START;
			} else if (b == '\r') {
				before_cr = st;
				st = CR;
			} else if (b == '"') {
				if (st == START)
					st = QUOTED;
				else if (st == QUOTE) {
					canon_bytes(c, "\"", 1);
					st = QUOTED;
				} else
					*regular = false; /* a quote inside a bare field */
			} else if (st == QUOTE) {
				*regular = false; /* text after a closing quote */
			} else {
				canon_bytes(c, &b, 1);
				st = BARE;
			}
			break;
		case QUOTED:
			break; /* taken above */
		case CR:
			break;
		}
	}
	c->st = st;
	c->before_cr = before_cr;
}

/* The file's end, where libcsv still takes a last record without a line
 * end but no open quote or lone CR. */
static void
canon_end(struct canon *c, struct intake_print *p, bool *regular)
{
	if (c->st == QUOTED || c->st == CR) {
		*regular = false; /* an unterminated quote, a CR at the end */
		return;
	}
	if (c->st != START || c->nfields > 0) {
		/* The last record has no line end: what the records before it
		 * are, taken before it goes in. */
		if (c->records >= 2) /* a data record before it */
			(void)hash_peek(c->x, p->head);
		canon_field(c);
		if (c->wide) {
			*regular = false;
			return;
		}
		canon_record(c);
		p->cut = true;
	}
	p->cut = p->cut && c->records > 1; /* a data record, not the header alone */
}

static enum etl_code
canon_pass(const struct intake *it, struct hasher *x, struct intake_print *p, bool *regular,
           struct etl_error *err)
{
	struct input *in = NULL;
	struct canon c = {.x = x, .header = true, .st = START, .before_cr = START};
	if (intake_headerless(it)) {
		/* As if the header --columns gives were its first line. */
		hash_record(x, &it->hdr, true);
		c.header = false;
		c.records = 1;
	}
	char *buf = malloc(256 * 1024);
	c.delim = (char)it->o->format->delim;
	enum etl_code rc = ETL_OK;
	ssize_t n = 0;
	c.special[(unsigned char)c.delim] = c.special['\n'] = c.special['\r'] = c.special['"'] =
	        true;
	*regular = true;
	if (buf == NULL) {
		rc = error_oom(err, it->name, 0);
		goto out;
	}
	if ((rc = intake_open_input(it, &in, err)) != ETL_OK ||
	    (rc = input_hash_raw(in, err)) != ETL_OK)
		goto out;
	while (*regular && (n = input_read(in, buf, 256 * 1024, err)) > 0) {
		canon_chunk(&c, buf, n, regular);
		if (c.oom) {
			rc = error_oom(err, it->name, 0);
			goto out;
		}
		if (c.wide)
			*regular = false; /* memory stays bounded that way */
	}
	if (*regular && n < 0) {
		rc = err->code;
		goto out;
	}
	if (!*regular)
		goto out;
	canon_end(&c, p, regular);
	if (!*regular)
		goto out;
	if (c.oom) {
		rc = error_oom(err, it->name, 0);
		goto out;
	}
	p->records = c.records > 0 ? c.records - 1 : 0;
	rc = input_raw_sha256(in, p->bytes, &p->size, err);
out:
	free(buf);
	free(c.rec);
	free(c.ends);
	free(c.fields);
	free(c.lens);
	input_close(in);
	return rc;
}

enum etl_code
intake_fingerprint(const struct intake *it, struct intake_print *p, struct etl_error *err)
{
	return intake_fingerprint_at(it, -1, p, err);
}

/* libcsv's input, minding the last byte it was given. */
struct last_byte {
	struct input *in;
	int last;
};

static ssize_t
read_minding_last(void *ctx, char *buf, size_t size, struct etl_error *err)
{
	struct last_byte *l = ctx;
	ssize_t n = intake_read_input(l->in, buf, size, err);
	if (n > 0)
		l->last = (unsigned char)buf[n - 1];
	return n;
}

/* The fingerprint (and prefix at), by the fast tokenizer when fast and the
 * file is regular (*regular says whether it was), else through libcsv. */
static enum etl_code
fingerprint(const struct intake *it, int64_t at, bool fast, struct intake_print *p, bool *regular,
            struct etl_error *err)
{
	struct input *in = NULL;
	struct csvrow_reader *csv = NULL;
	struct hasher *x = malloc(sizeof *x);
	EVP_MD_CTX *h = EVP_MD_CTX_new();
	struct csvrow_record rec;
	enum etl_code rc = ETL_OK;
	int got;
	memset(p, 0, sizeof *p);
	if (x == NULL || h == NULL || EVP_DigestInit_ex(h, EVP_sha256(), NULL) != 1) {
		rc = error_oom(err, it->name, 0);
		goto out;
	}
	x->h = h;
	x->n = 0;
	x->failed = false;
	x->data = 0;
	x->at = at > 0 ? at : -1;
	x->prefix[0] = x->less[0] = '\0';
	*regular = false;
	if (fast && (rc = canon_pass(it, x, p, regular, err)) != ETL_OK)
		goto out;
	if (*regular)
		goto digest;
	/* Irregular: libcsv's records, hashed afresh. */
	if (EVP_DigestInit_ex(h, EVP_sha256(), NULL) != 1) {
		rc = error_oom(err, it->name, 0);
		goto out;
	}
	x->n = 0;
	x->data = 0;
	x->prefix[0] = x->less[0] = '\0';
	p->records = 0;
	p->cut = false;
	p->head[0] = '\0';
	struct last_byte last = {.last = '\n'};
	if ((rc = intake_open_input(it, &in, err)) != ETL_OK ||
	    (rc = input_hash_raw(in, err)) != ETL_OK)
		goto out;
	last.in = in;
	if ((rc = csvrow_open(&csv, read_minding_last, &last, it->o->format->delim, it->name,
	                      err)) != ETL_OK)
		goto out;
	bool header = true;
	if (intake_headerless(it)) {
		hash_record(x, &it->hdr, true);
		header = false;
	}
	while ((got = csvrow_next(csv, &rec, err)) == 1) {
		hash_record(x, &rec, header);
		p->records += !header;
		header = false;
	}
	if (got < 0) {
		rc = err->code;
		goto out;
	}
	p->cut = p->records > 0 && last.last != '\n' && last.last != '\r';
	if ((rc = input_raw_sha256(in, p->bytes, &p->size, err)) != ETL_OK)
		goto out;
digest:
	x->failed |= EVP_DigestUpdate(h, x->buf, x->n) != 1;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	if (x->failed || EVP_DigestFinal_ex(h, md, &mdlen) != 1 || mdlen != 32) {
		rc = error_set(err, ETL_ESYSTEM, it->name, 0,
		               "cannot compute the file's fingerprint");
		goto out;
	}
	for (unsigned i = 0; i < 32; i++)
		(void)snprintf(p->content + 2 * i, 3, "%02x", md[i]);
	/* No data record at all: the prefix of 0 records is the header's. */
	(void)snprintf(p->prefix, sizeof p->prefix, "%s", at == 0 ? "" : x->prefix);
	(void)snprintf(p->less, sizeof p->less, "%s", x->less);
out:
	if (rc != ETL_OK && strcmp(err->file, it->open_path) == 0)
		(void)snprintf(err->file, sizeof err->file, "%s", it->name);
	csvrow_close(csv);
	input_close(in);
	EVP_MD_CTX_free(h);
	free(x);
	return rc;
}

enum etl_code
intake_fingerprint_at(const struct intake *it, int64_t at, struct intake_print *p,
                      struct etl_error *err)
{
	bool regular;
	enum etl_code rc = fingerprint(it, at, true, p, &regular, err);
	if (rc != ETL_OK || !p->cut || p->records < 2 || p->head[0] != '\0')
		return rc;
	/* Cut, and read by libcsv (which gives no record before its last is
	 * known): the records before the last one, in a second pass. */
	struct intake_print before;
	if ((rc = fingerprint(it, p->records - 1, true, &before, &regular, err)) == ETL_OK)
		(void)snprintf(p->head, sizeof p->head, "%s", before.prefix);
	return rc;
}

void
intake_fingerprint_ways(const struct intake *it, int64_t at, struct intake_print *fast,
                        bool *regular, struct etl_error *efast, struct intake_print *slow,
                        struct etl_error *eslow)
{
	bool none;
	error_clear(efast);
	error_clear(eslow);
	(void)fingerprint(it, at, true, fast, regular, efast);
	(void)fingerprint(it, at, false, slow, &none, eslow);
}

enum etl_code
intake_fingerprint_bytes(const struct intake *it, struct intake_print *p, struct etl_error *err)
{
	struct input *in = NULL;
	memset(p, 0, sizeof *p);
	p->records = -1;
	enum etl_code rc = intake_open_input(it, &in, err);
	if (rc == ETL_OK)
		rc = input_hash_raw(in, err);
	if (rc == ETL_OK)
		rc = input_raw_sha256(in, p->bytes, &p->size, err);
	if (rc != ETL_OK && strcmp(err->file, it->open_path) == 0)
		(void)snprintf(err->file, sizeof err->file, "%s", it->name);
	input_close(in);
	return rc;
}
