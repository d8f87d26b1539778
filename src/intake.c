/*
 * intake.c — driving one file through the intake stages.
 */
#include "intake.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rowkey.h"

struct intake {
	char *spec;            /* as given: [KIND=]FILE */
	const char *path;      /* the FILE part */
	const char *open_path; /* what is opened: path, or the spool of stdin */
	const char *name;      /* for messages: the path, or "stdin" */
	enum kind kind;
	struct input *in;
	struct csvrow_reader *csv;
	struct colmap map;
	struct reject_writer *rej;
	struct keyset *keys; /* unique key -> first line */
	const struct intake_opts *o;

	uint64_t rows_read;   /* data records read (passed ones too) */
	uint64_t rows_passed; /* records outside the filter, not validated */
	int64_t skipped;      /* records passed over by intake_skip() */
	int64_t *filter;      /* only these records (sorted), or NULL */
	size_t nfilter, filter_pos;
	int64_t *rejected; /* records rejected since the last take */
	size_t nrejected, caprejected;
	uint64_t rows_rejected;            /* by the intake or through intake_reject() */
	char *shown[INTAKE_SHOWN_REJECTS]; /* the first reasons, "LINE: reason" */
	int nshown;

	struct csvrow_record rec; /* the current record */
	int64_t number;           /* its ordinal among the data records (1-based) */
	struct valid_row row;     /* its values */
	char why[1024];
};

static ssize_t
read_input(void *ctx, char *buf, size_t size, struct etl_error *err)
{
	return input_read(ctx, buf, size, err);
}

enum kind
intake_parse_spec(const char *spec, const char **file)
{
	const char *eq = strchr(spec, '=');
	*file = spec;
	if (eq == NULL)
		return KIND_NONE;
	char name[16];
	size_t n = (size_t)(eq - spec);
	if (n >= sizeof name)
		return KIND_NONE;
	memcpy(name, spec, n);
	name[n] = '\0';
	enum kind k = table_kind_from_name(name);
	if (k != KIND_NONE)
		*file = eq + 1;
	return k;
}

/* Opens the file's bytes and CSV reader and reads its header record into
 * it->rec: 1, 0 when there is none, or -1 (err filled). */
static int
open_stream(struct intake *it, struct etl_error *err)
{
	if (input_open(&it->in, it->open_path, it->o->enc, err) != ETL_OK ||
	    csvrow_open(&it->csv, read_input, it->in, it->o->delim, it->name, err) != ETL_OK)
		return -1;
	return csvrow_next(it->csv, &it->rec, err);
}

enum etl_code
intake_open(struct intake **out, const char *spec, const struct intake_opts *o,
            struct etl_error *err)
{
	enum etl_code rc;
	struct intake *it = calloc(1, sizeof *it);
	*out = it;
	if (it == NULL)
		return error_set(err, ETL_ESYSTEM, spec, 0, "out of memory");
	it->o = o;
	it->spec = strdup(spec);
	if (it->spec == NULL)
		return error_set(err, ETL_ESYSTEM, spec, 0, "out of memory");
	enum kind forced = intake_parse_spec(it->spec, &it->path);
	bool is_stdin = strcmp(it->path, "-") == 0;
	it->name = is_stdin ? "stdin" : it->path;
	it->open_path = is_stdin && o->stdin_path != NULL ? o->stdin_path : it->path;
	it->kind = KIND_NONE;

	int got = open_stream(it, err);
	if (got < 0)
		return err->code;
	if (got == 0)
		return error_set(err, ETL_EINPUT, it->name, 0, "the file is empty: no header row");
	rc = colmap_build(&it->map, forced, &it->rec, it->name, err);
	if (rc != ETL_OK)
		return rc;
	it->kind = it->map.t->kind;
	if (o->unique_keys && it->map.t->nkey > 0) {
		it->keys = keyset_new();
		if (it->keys == NULL)
			return error_set(err, ETL_ESYSTEM, it->name, 0, "out of memory");
	}
	return ETL_OK;
}

/* The content hash is fed through a buffer: one digest call per 64 KiB,
 * not three per field. */
struct hasher {
	EVP_MD_CTX *h;
	size_t n;
	bool failed;
	unsigned char buf[64 * 1024];
};

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
}

/*
 * The fast way to the content fingerprint, for the files almost every file
 * is: RFC 4180 records, each field bare (no quote, no CR or LF) or quoted,
 * records ended by LF or CRLF.  Such a file's records are what libcsv makes
 * of it, so they are hashed as hash_record() would hash libcsv's.  Anything
 * else (a blank line, a bare CR, a stray or unterminated quote) makes the
 * file irregular: *regular is false and the caller takes the libcsv way.
 */
struct canon {
	struct hasher *x;
	char *rec; /* the record so far: its fields' bytes */
	size_t len, cap;
	size_t *ends;  /* where each field ends in rec */
	char **fields; /* at the record's end: the record as hash_record() takes it */
	size_t *lens;
	int nfields, fcap;
	bool header; /* the first record: names lower-cased */
	int64_t records;
	bool oom;
};

static void
canon_bytes(struct canon *c, const char *b, size_t n)
{
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
	for (int i = 0; i < c->nfields; i++) {
		c->fields[i] = c->rec + at;
		c->lens[i] = c->ends[i] - at;
		at = c->ends[i];
	}
	struct csvrow_record rec = {0, 0, c->nfields, c->fields, c->lens, NULL};
	hash_record(c->x, &rec, c->header);
	c->records++;
	c->header = false;
	c->len = 0;
	c->nfields = 0;
}

static enum etl_code
canon_pass(const struct intake *it, struct hasher *x, struct intake_print *p, bool *regular,
           struct etl_error *err)
{
	enum { START, BARE, QUOTED, QUOTE, CR } st = START, before_cr = START;
	struct input *in = NULL;
	struct canon c = {x, NULL, 0, 0, NULL, NULL, NULL, 0, 0, true, 0, false};
	char *buf = malloc(256 * 1024);
	const char delim = (char)it->o->delim;
	enum etl_code rc = ETL_OK;
	ssize_t n;
	bool special[256] = {false};
	special[(unsigned char)delim] = special['\n'] = special['\r'] = special['"'] = true;
	*regular = true;
	if (buf == NULL) {
		rc = error_set(err, ETL_ESYSTEM, it->name, 0, "out of memory");
		goto out;
	}
	if ((rc = input_open(&in, it->open_path, it->o->enc, err)) != ETL_OK ||
	    (rc = input_hash_raw(in, err)) != ETL_OK)
		goto out;
	while (*regular && (n = input_read(in, buf, 256 * 1024, err)) > 0) {
		for (ssize_t i = 0; i < n && *regular; i++) {
			/* Runs of ordinary bytes go in at once. */
			if (st == QUOTED) {
				const char *q = memchr(buf + i, '"', (size_t)(n - i));
				size_t run = q ? (size_t)(q - (buf + i)) : (size_t)(n - i);
				canon_bytes(&c, buf + i, run);
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
					canon_bytes(&c, buf + i, (size_t)(j - i));
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
					canon_field(&c);
					st = START;
				} else if (b == '\n') {
					if (st == START && c.nfields == 0) {
						*regular = false; /* a blank line */
						break;
					}
					canon_field(&c);
					canon_record(&c);
					st = START;
				} else if (b == '\r') {
					before_cr = st;
					st = CR;
				} else if (b == '"') {
					if (st == START)
						st = QUOTED;
					else if (st == QUOTE) {
						canon_bytes(&c, "\"", 1);
						st = QUOTED;
					} else
						*regular = false; /* a quote inside a bare field */
				} else if (st == QUOTE) {
					*regular = false; /* text after a closing quote */
				} else {
					canon_bytes(&c, &b, 1);
					st = BARE;
				}
				break;
			case QUOTED:
				break; /* taken above */
			case CR:
				break;
			}
		}
		if (c.oom) {
			rc = error_set(err, ETL_ESYSTEM, it->name, 0, "out of memory");
			goto out;
		}
	}
	if (*regular && n < 0) {
		rc = err->code;
		goto out;
	}
	if (!*regular)
		goto out;
	if (st == QUOTED || st == CR) {
		*regular = false; /* an unterminated quote, a CR at the end */
		goto out;
	}
	if (st != START || c.nfields > 0) {
		canon_field(&c); /* the last record has no line end */
		canon_record(&c);
	}
	if (c.oom) {
		rc = error_set(err, ETL_ESYSTEM, it->name, 0, "out of memory");
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
	struct input *in = NULL;
	struct csvrow_reader *csv = NULL;
	struct hasher *x = malloc(sizeof *x);
	EVP_MD_CTX *h = EVP_MD_CTX_new();
	struct csvrow_record rec;
	enum etl_code rc = ETL_OK;
	int got;
	memset(p, 0, sizeof *p);
	if (x == NULL || h == NULL || EVP_DigestInit_ex(h, EVP_sha256(), NULL) != 1) {
		rc = error_set(err, ETL_ESYSTEM, it->name, 0, "out of memory");
		goto out;
	}
	x->h = h;
	x->n = 0;
	x->failed = false;
	bool regular;
	if ((rc = canon_pass(it, x, p, &regular, err)) != ETL_OK)
		goto out;
	if (regular)
		goto digest;
	/* Irregular: libcsv's records, hashed afresh. */
	if (EVP_DigestInit_ex(h, EVP_sha256(), NULL) != 1) {
		rc = error_set(err, ETL_ESYSTEM, it->name, 0, "out of memory");
		goto out;
	}
	x->n = 0;
	p->records = 0;
	if ((rc = input_open(&in, it->open_path, it->o->enc, err)) != ETL_OK ||
	    (rc = input_hash_raw(in, err)) != ETL_OK ||
	    (rc = csvrow_open(&csv, read_input, in, it->o->delim, it->name, err)) != ETL_OK)
		goto out;
	bool header = true;
	while ((got = csvrow_next(csv, &rec, err)) == 1) {
		hash_record(x, &rec, header);
		p->records += !header;
		header = false;
	}
	if (got < 0) {
		rc = err->code;
		goto out;
	}
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
intake_fingerprint_bytes(const struct intake *it, struct intake_print *p, struct etl_error *err)
{
	struct input *in = NULL;
	memset(p, 0, sizeof *p);
	p->records = -1;
	enum etl_code rc = input_open(&in, it->open_path, it->o->enc, err);
	if (rc == ETL_OK)
		rc = input_hash_raw(in, err);
	if (rc == ETL_OK)
		rc = input_raw_sha256(in, p->bytes, &p->size, err);
	if (rc != ETL_OK && strcmp(err->file, it->open_path) == 0)
		(void)snprintf(err->file, sizeof err->file, "%s", it->name);
	input_close(in);
	return rc;
}

void
intake_set_filter(struct intake *it, int64_t *records, size_t n)
{
	free(it->filter);
	it->filter = records;
	it->nfilter = n;
	it->filter_pos = 0;
}

const int64_t *
intake_take_rejected(struct intake *it, size_t *n)
{
	*n = it->nrejected;
	it->nrejected = 0;
	return it->rejected;
}

/* Whether the current record is one intake_next() validates. */
static bool
in_filter(struct intake *it, int64_t number)
{
	if (it->filter == NULL)
		return true;
	while (it->filter_pos < it->nfilter && it->filter[it->filter_pos] < number)
		it->filter_pos++;
	return it->filter_pos < it->nfilter && it->filter[it->filter_pos] == number;
}

enum etl_code
intake_start_rejects(struct intake *it, int64_t resume_at, struct etl_error *err)
{
	if (!it->o->write_rejects)
		return ETL_OK;
	struct reject_opts ro = {it->o->reject_dir, it->o->delim, it->o->enc, resume_at};
	return reject_open(&it->rej, &ro, it->path, &it->map, err);
}

int
intake_skip(struct intake *it, int64_t n, struct keyset *skus, struct etl_error *err)
{
	for (int64_t i = 0; i < n; i++) {
		int got = csvrow_next(it->csv, &it->rec, err);
		if (got < 0)
			return -1;
		if (got == 0) {
			(void)error_set(err, ETL_EINPUT, it->name, 0,
			                "the file has %lld records, fewer than the %lld the load "
			                "history says were loaded",
			                (long long)i, (long long)n);
			return -1;
		}
		it->skipped++;
		if (it->keys == NULL || !in_filter(it, it->skipped))
			continue;
		if (!valid_row(it->o->v, &it->map, &it->rec, it->map.t->ref_col >= 0 ? skus : NULL,
		               &it->row, it->why, sizeof it->why))
			continue;
		char key[1024];
		size_t len = rowkey_of_row(it->map.t, &it->row, key, sizeof key);
		bool added;
		int64_t *first = keyset_find(it->keys, key, len, true, &added);
		if (first == NULL) {
			(void)error_set(err, ETL_ESYSTEM, it->name, it->rec.line, "out of memory");
			return -1;
		}
		if (added)
			first[0] = it->rec.line;
	}
	return 0;
}

/* Keeps the first few reasons for the terminal. */
static void
remember(struct intake *it, long line, const char *reason)
{
	if (it->nshown >= INTAKE_SHOWN_REJECTS)
		return;
	char *s = NULL;
	if (asprintf(&s, "%ld: %s", line, reason) >= 0)
		it->shown[it->nshown++] = s;
}

enum etl_code
intake_reject(struct intake *it, int nfields, char *const *fields, const size_t *lens, long line,
              int64_t record, const char *reason, struct etl_error *err)
{
	it->rows_rejected++;
	remember(it, line, reason);
	if (it->nrejected == it->caprejected) {
		size_t cap = it->caprejected ? it->caprejected * 2 : 256;
		int64_t *v = realloc(it->rejected, cap * sizeof *v);
		if (v == NULL)
			return error_set(err, ETL_ESYSTEM, it->name, line, "out of memory");
		it->rejected = v;
		it->caprejected = cap;
	}
	it->rejected[it->nrejected++] = record;
	if (it->rej == NULL)
		return ETL_OK;
	return reject_write(it->rej, nfields, fields, lens, line, reason, err);
}

enum etl_code
intake_rewind(struct intake *it, struct etl_error *err)
{
	csvrow_close(it->csv);
	it->csv = NULL;
	input_close(it->in);
	it->in = NULL;
	int got = open_stream(it, err); /* the header, mapped already */
	if (got < 0)
		return err->code;
	if (got == 0)
		return error_set(err, ETL_EINPUT, it->name, 0, "the file changed while it loaded");
	it->rows_read = it->rows_rejected = it->rows_passed = 0;
	it->filter_pos = 0;
	it->nrejected = 0;
	for (int i = 0; i < it->nshown; i++)
		free(it->shown[i]);
	it->nshown = 0;
	if (it->keys != NULL) {
		keyset_free(it->keys);
		it->keys = keyset_new();
		if (it->keys == NULL)
			return error_set(err, ETL_ESYSTEM, it->name, 0, "out of memory");
	}
	if (it->rej != NULL)
		return reject_truncate(it->rej, 0, err);
	return ETL_OK;
}

int
intake_next_record(struct intake *it, struct etl_error *err)
{
	int got = csvrow_next(it->csv, &it->rec, err);
	if (got == 1)
		it->rows_read++;
	return got;
}

int
intake_next(struct intake *it, struct keyset *skus, struct etl_error *err)
{
	for (;;) {
		int got = csvrow_next(it->csv, &it->rec, err);
		if (got <= 0)
			return got;
		it->rows_read++;
		it->number = it->skipped + (int64_t)it->rows_read;
		if (!in_filter(it, it->number)) {
			it->rows_passed++;
			continue;
		}
		const struct csvrow_record *r = &it->rec;
		bool ok = valid_row(it->o->v, &it->map, r, it->map.t->ref_col >= 0 ? skus : NULL,
		                    &it->row, it->why, sizeof it->why);
		if (ok && it->keys != NULL) {
			char key[1024];
			size_t n = rowkey_of_row(it->map.t, &it->row, key, sizeof key);
			bool added;
			int64_t *first = keyset_find(it->keys, key, n, true, &added);
			if (first == NULL) {
				(void)error_set(err, ETL_ESYSTEM, it->name, r->line,
				                "out of memory");
				return -1;
			}
			if (added) {
				first[0] = r->line;
			} else {
				char shown[400];
				valid_show_key(it->map.t, &it->row, shown, sizeof shown);
				(void)snprintf(it->why, sizeof it->why,
				               "%s: %s repeats the key of line %lld",
				               table_key_name(it->map.t), shown,
				               (long long)first[0]);
				ok = false;
			}
		}
		if (ok)
			return 1;
		if (intake_reject(it, r->nfields, r->fields, r->lens, r->line, it->number, it->why,
		                  err) != ETL_OK)
			return -1;
		if (it->o->max_rejects >= 0 && it->rows_rejected > (uint64_t)it->o->max_rejects)
			return INTAKE_STOP;
	}
}

enum etl_code
intake_close(struct intake *it, struct etl_error *err)
{
	enum etl_code rc = ETL_OK;
	if (it == NULL)
		return ETL_OK;
	rc = reject_close(it->rej, err);
	csvrow_close(it->csv);
	input_close(it->in);
	colmap_free(&it->map);
	keyset_free(it->keys);
	for (int i = 0; i < it->nshown; i++)
		free(it->shown[i]);
	free(it->filter);
	free(it->rejected);
	free(it->spec);
	free(it);
	return rc;
}

const char *
intake_name(const struct intake *it)
{
	return it->name;
}

enum kind
intake_kind(const struct intake *it)
{
	return it->kind;
}

const struct colmap *
intake_map(const struct intake *it)
{
	return &it->map;
}

const struct csvrow_record *
intake_record(const struct intake *it)
{
	return &it->rec;
}

const struct valid_row *
intake_row(const struct intake *it)
{
	return &it->row;
}

int64_t
intake_number(const struct intake *it)
{
	return it->number;
}

uint64_t
intake_rows_read(const struct intake *it)
{
	return it->rows_read;
}

uint64_t
intake_rows_passed(const struct intake *it)
{
	return it->rows_passed;
}

uint64_t
intake_rows_rejected(const struct intake *it)
{
	return it->rows_rejected;
}

int64_t
intake_left(const struct intake *it, int64_t records)
{
	if (it->filter != NULL)
		return (int64_t)(it->nfilter - it->filter_pos);
	return records - (it->skipped + (int64_t)it->rows_read);
}

int64_t
intake_raw_size(const struct intake *it)
{
	return input_raw_size(it->in);
}

uint64_t
intake_raw_bytes(const struct intake *it)
{
	return input_raw_bytes(it->in);
}

struct reject_writer *
intake_rejects(const struct intake *it)
{
	return it->rej;
}

int
intake_take_reasons(struct intake *it, char **out, int max)
{
	int n = 0;
	for (int i = 0; i < it->nshown && n < max; i++) {
		out[n++] = it->shown[i];
		it->shown[i] = NULL;
	}
	for (int i = n; i < it->nshown; i++) {
		free(it->shown[i]);
		it->shown[i] = NULL;
	}
	it->nshown = 0;
	return n;
}
