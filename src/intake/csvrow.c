/*
 * csvrow.c — records from libcsv, with physical line numbers.
 *
 * libcsv reports fields and record ends through callbacks but not where in
 * the input they were.  So the input is fed to it one physical line at a
 * time (split at '\n'): a record starts on the line being fed when the first
 * non-blank byte arrives while no record is open, and ends on the line being
 * fed when its end is reported.  Completed records wait in a small queue
 * (a file with bare CR line ends can complete several per line).
 *
 * Most lines need none of that: a whole line without a quote or a CR (but
 * its CRLF end), met while no record is open, is split at its delimiters
 * here (feed_plain()), as libcsv would split it, at a fraction of the cost.
 */
#include "csvrow.h"

#include <csv.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK (64 * 1024)

/* libcsv's parser states (libcsv.c); its struct is public, the names not. */
#define LIBCSV_ROW_NOT_BEGUN 0
#define LIBCSV_FIELD_BEGUN   2

struct rec {
	char *data; /* field bytes, each followed by a NUL */
	size_t len, cap;
	size_t *offs, *lens;
	int nfields, fcap;
	size_t weight; /* bytes counted against CSVROW_MAX_RECORD */
	long line, end_line;
	char error[192];
};

/* Getting back in step after a malformed record: SKIP_APPEND adds the rest
 * of the line to the (still open) malformed record; the others discard
 * input, minding quotes, up to the end of a record. */
enum skip { SKIP_NONE, SKIP_APPEND, SKIP_IN_QUOTES, SKIP_AFTER_QUOTE, SKIP_UNQUOTED };

struct csvrow_reader {
	struct csv_parser p;
	bool p_ready;
	unsigned char delim;
	csvrow_read_fn read_fn;
	void *ctx;
	char *name;

	char *buf;
	size_t len, pos;
	bool eof, finished;
	long line;    /* the physical line being fed */
	bool between; /* no record open */
	bool plain;   /* lines without quotes are split by feed_plain() */
	enum skip skip;

	/* Records are moved by pointer: cur is being built, queue[qhead, qlen)
	 * wait, out was handed out; buffers are reused, never copied. */
	struct rec *cur;
	struct rec **queue;
	int qhead, qlen, qcap;
	struct rec *out;
	size_t blk_seen; /* libcsv's buffer size when its block size was set */
	char **ptrs;
	int ptrs_cap;

	bool failed;
	struct etl_error error;
};

/* libcsv's buffer may grow up to the record limit, no further. */
static void *
capped_realloc(void *p, size_t size)
{
	if (size > CSVROW_MAX_RECORD + 64)
		return NULL;
	return realloc(p, size);
}

static int
never_space(unsigned char c)
{
	(void)c;
	return 0; /* values keep their spaces; the validators trim where docs/formats.md says */
}

static int
parser_init(struct csvrow_reader *r)
{
	if (r->p_ready)
		csv_free(&r->p);
	r->p_ready = false;
	if (csv_init(&r->p, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL) != 0)
		return -1;
	csv_set_delim(&r->p, r->delim);
	csv_set_space_func(&r->p, never_space);
	csv_set_realloc_func(&r->p, capped_realloc);
	csv_set_blk_size(&r->p, 4096);
	r->blk_seen = 0;
	r->p_ready = true;
	return 0;
}

static void
rec_reset(struct rec *rec)
{
	rec->len = 0;
	rec->nfields = 0;
	rec->weight = 0;
	rec->line = rec->end_line = 0;
	rec->error[0] = '\0';
}

static void
rec_free(struct rec *rec)
{
	free(rec->data);
	free(rec->offs);
	free(rec->lens);
	memset(rec, 0, sizeof *rec);
}

/* Makes room for need bytes of field data. */
static bool
rec_reserve(struct rec *rec, size_t need)
{
	if (need <= rec->cap)
		return true;
	size_t ncap = rec->cap ? rec->cap : 256;
	while (ncap < need)
		ncap *= 2;
	char *d = realloc(rec->data, ncap);
	if (d == NULL)
		return false;
	rec->data = d;
	rec->cap = ncap;
	return true;
}

/* Appends a field; returns false when out of memory.  Past the record
 * limit the field is counted but its bytes are dropped. */
static bool
rec_add(struct rec *rec, const char *s, size_t n)
{
	/* Bounded by design: past CSVROW_MAX_FIELDS fields, or past the byte
	 * limit, a field is not kept at all (40 MB of commas are 40 million
	 * fields: without this, a gigabyte of field tables). */
	if ((unsigned)rec->nfields >= CSVROW_MAX_FIELDS || rec->weight > CSVROW_MAX_RECORD) {
		if (rec->error[0] == '\0')
			(void)snprintf(rec->error, sizeof rec->error,
			               (unsigned)rec->nfields >= CSVROW_MAX_FIELDS
			                       ? "record has more than %u fields"
			                       : "record is larger than %u MiB",
			               (unsigned)rec->nfields >= CSVROW_MAX_FIELDS
			                       ? CSVROW_MAX_FIELDS
			                       : CSVROW_MAX_RECORD >> 20);
		return true;
	}
	if (rec->nfields == rec->fcap) {
		int ncap = rec->fcap ? rec->fcap * 2 : 16;
		size_t *o = realloc(rec->offs, (size_t)ncap * sizeof *o);
		if (o == NULL)
			return false;
		rec->offs = o;
		size_t *l = realloc(rec->lens, (size_t)ncap * sizeof *l);
		if (l == NULL)
			return false;
		rec->lens = l;
		rec->fcap = ncap;
	}
	rec->weight += n + 1 + 2 * sizeof(size_t);
	if (rec->weight > CSVROW_MAX_RECORD) {
		if (rec->error[0] == '\0')
			(void)snprintf(rec->error, sizeof rec->error,
			               "record is larger than %u MiB", CSVROW_MAX_RECORD >> 20);
		n = 0;
	}
	if (!rec_reserve(rec, rec->len + n + 1))
		return false;
	if (n > 0)
		memcpy(rec->data + rec->len, s, n);
	rec->data[rec->len + n] = '\0';
	rec->offs[rec->nfields] = rec->len;
	rec->lens[rec->nfields] = n;
	rec->nfields++;
	rec->len += n + 1;
	return true;
}

/* Appends bytes to the last field (within the record limit). */
static bool
rec_extend_last(struct rec *rec, const char *s, size_t n)
{
	if (rec->weight + n > CSVROW_MAX_RECORD)
		n = rec->weight < CSVROW_MAX_RECORD ? CSVROW_MAX_RECORD - rec->weight : 0;
	if (rec->nfields == 0 || n == 0)
		return true;
	if (!rec_reserve(rec, rec->len + n))
		return false;
	memcpy(rec->data + rec->len - 1, s, n); /* over the NUL */
	rec->len += n;
	rec->data[rec->len - 1] = '\0';
	rec->lens[rec->nfields - 1] += n;
	rec->weight += n;
	return true;
}

/* Ends a malformed record whose line is complete; a CR of a CRLF line end
 * is not part of it. */
static void push_record(struct csvrow_reader *r);

static void
push_malformed(struct csvrow_reader *r)
{
	struct rec *c = r->cur;
	if (c->nfields > 0 && c->lens[c->nfields - 1] > 0 && c->data[c->len - 2] == '\r') {
		c->data[c->len - 2] = '\0';
		c->len--;
		c->lens[c->nfields - 1]--;
	}
	push_record(r);
}

static void
fail_nomem(struct csvrow_reader *r)
{
	if (!r->failed)
		(void)error_oom(&r->error, r->name, r->line);
	r->failed = true;
}

static void
on_field(void *s, size_t n, void *data)
{
	struct csvrow_reader *r = data;
	if (r->cur->line == 0)
		r->cur->line = r->line;
	r->between = false;
	if (!rec_add(r->cur, s ? s : "", s ? n : 0))
		fail_nomem(r);
}

/* Moves the current record into the queue. */
static void
push_record(struct csvrow_reader *r)
{
	if (r->cur->line == 0)
		r->cur->line = r->line;
	r->cur->end_line = r->line;
	if (r->qlen == r->qcap) {
		int ncap = r->qcap ? r->qcap * 2 : 4;
		struct rec **q = realloc(r->queue, (size_t)ncap * sizeof *q);
		if (q == NULL) {
			fail_nomem(r);
			return;
		}
		for (int i = r->qcap; i < ncap; i++) {
			q[i] = calloc(1, sizeof **q);
			if (q[i] == NULL) {
				r->queue = q;
				r->qcap = i;
				fail_nomem(r);
				return;
			}
		}
		r->queue = q;
		r->qcap = ncap;
	}
	/* Swap pointers: the slot's spare buffers become the next record. */
	struct rec *spare = r->queue[r->qlen];
	r->queue[r->qlen++] = r->cur;
	r->cur = spare;
	rec_reset(r->cur);
	r->between = true;
}

static void
on_record(int c, void *data)
{
	(void)c;
	push_record(data);
}

/* Whether lines split at delim may skip libcsv: a delimiter that is not the
 * quote nor a line end. */
static bool
plain_delim(unsigned char delim)
{
	return delim != '"' && delim != '\r' && delim != '\n';
}

enum etl_code
csvrow_open(struct csvrow_reader **out, csvrow_read_fn read_fn, void *ctx, unsigned char delim,
            const char *name, struct etl_error *err)
{
	struct csvrow_reader *r = calloc(1, sizeof *r);
	*out = NULL;
	if (r == NULL)
		return error_oom(err, name, 0);
	r->read_fn = read_fn;
	r->ctx = ctx;
	r->delim = delim;
	r->line = 1;
	r->between = true;
	r->plain = plain_delim(delim);
	r->name = strdup(name);
	r->buf = malloc(CHUNK);
	r->cur = calloc(1, sizeof *r->cur);
	r->out = calloc(1, sizeof *r->out);
	if (r->name == NULL || r->buf == NULL || r->cur == NULL || r->out == NULL ||
	    parser_init(r) != 0) {
		csvrow_close(r);
		return error_oom(err, name, 0);
	}
	*out = r;
	return ETL_OK;
}

void
csvrow_close(struct csvrow_reader *r)
{
	if (r == NULL)
		return;
	if (r->p_ready)
		csv_free(&r->p);
	struct rec *all[2] = {r->cur, r->out};
	for (int i = 0; i < 2; i++) {
		if (all[i] != NULL)
			rec_free(all[i]);
		free(all[i]);
	}
	for (int i = 0; i < r->qcap; i++) {
		rec_free(r->queue[i]);
		free(r->queue[i]);
	}
	free(r->queue);
	free(r->ptrs);
	free(r->buf);
	free(r->name);
	free(r);
}

/* Marks the current record malformed: its fields so far, then the field
 * being read followed by the raw rest of the line.  The caller pushes it, at
 * once or when its line ends.  Restarts the parser. */
static void
malformed(struct csvrow_reader *r, const char *rest, size_t nrest, const char *why)
{
	size_t partial = r->p.entry_pos <= CSVROW_MAX_RECORD ? r->p.entry_pos : 0;
	if (r->cur->line == 0)
		r->cur->line = r->line;
	r->between = false;
	if (!rec_add(r->cur, partial ? (const char *)r->p.entry_buf : "", partial) ||
	    !rec_extend_last(r->cur, rest, nrest))
		fail_nomem(r);
	if (r->cur->error[0] == '\0')
		(void)snprintf(r->cur->error, sizeof r->cur->error, "%s", why);
	if (parser_init(r) != 0)
		fail_nomem(r);
}

/* Discards input while getting back in step; returns the bytes consumed
 * from seg (a segment ends at most at a '\n'). */
static size_t
skip_bytes(struct csvrow_reader *r, const char *seg, size_t n)
{
	size_t i = 0;
	for (; i < n && r->skip != SKIP_NONE; i++) {
		char c = seg[i];
		switch (r->skip) {
		case SKIP_UNQUOTED:
			if (c == '\n')
				r->skip = SKIP_NONE;
			else if (c == '"')
				r->skip = SKIP_IN_QUOTES;
			break;
		case SKIP_IN_QUOTES:
			if (c == '"')
				r->skip = SKIP_AFTER_QUOTE;
			break;
		case SKIP_AFTER_QUOTE: /* "" is a quote inside quotes */
			r->skip = c == '"' ? SKIP_IN_QUOTES : c == '\n' ? SKIP_NONE : SKIP_UNQUOTED;
			break;
		case SKIP_APPEND:
		case SKIP_NONE:
			break;
		}
	}
	return i;
}

/* A whole line (ending in '\n') with no quote and no CR but its CRLF end,
 * met while no record is open and libcsv is idle: its fields are split at
 * the delimiter and the record ends, as libcsv in strict mode would do
 * (a blank line is no record).  False, nothing done, for any other line. */
static bool
feed_plain(struct csvrow_reader *r, const char *seg, size_t n)
{
	if (!r->plain || r->skip != SKIP_NONE || !r->between ||
	    r->p.pstate != LIBCSV_ROW_NOT_BEGUN || r->p.entry_pos != 0 || seg[n - 1] != '\n')
		return false;
	size_t end = n - 1;
	if (end > 0 && seg[end - 1] == '\r')
		end--;
	if (memchr(seg, '"', end) != NULL || memchr(seg, '\r', end) != NULL)
		return false;
	if (end == 0)
		return true;
	if (r->cur->line == 0)
		r->cur->line = r->line;
	r->between = false;
	const char *p = seg, *stop = seg + end;
	for (;;) {
		const char *d = memchr(p, r->delim, (size_t)(stop - p));
		if (!rec_add(r->cur, p, (size_t)((d ? d : stop) - p))) {
			fail_nomem(r);
			return true;
		}
		if (d == NULL)
			break;
		p = d + 1;
	}
	push_record(r);
	return true;
}

void
csvrow_set_plain(struct csvrow_reader *r, bool on)
{
	r->plain = on && plain_delim(r->delim);
}

/* Feeds one segment (up to and including a '\n') to libcsv. */
static void
feed(struct csvrow_reader *r, const char *seg, size_t n)
{
	size_t done = 0;
	if (feed_plain(r, seg, n))
		return;
	if (r->skip == SKIP_APPEND) {
		/* The rest of a malformed record's line. */
		bool eol = seg[n - 1] == '\n';
		if (!rec_extend_last(r->cur, seg, eol ? n - 1 : n))
			fail_nomem(r);
		if (eol) {
			r->skip = SKIP_NONE;
			push_malformed(r);
		}
		return;
	}
	if (r->skip != SKIP_NONE)
		done = skip_bytes(r, seg, n);
	if (done < n && r->between) {
		for (size_t i = done; i < n; i++) {
			if (seg[i] != '\r' && seg[i] != '\n') {
				r->cur->line = r->line;
				r->between = false;
				break;
			}
		}
	}
	while (done < n && !r->failed) {
		size_t used = csv_parse(&r->p, seg + done, n - done, on_field, on_record, r);
		done += used;
		if (done == n)
			break;
		int status = csv_error(&r->p);
		char why[160];
		if (status == CSV_EPARSE) {
			/* Strict mode stops at a quote inside an unquoted field, or
			 * at anything but a delimiter or line end after a closing
			 * quote. */
			(void)snprintf(why, sizeof why,
			               seg[done] == '"'
			                       ? "field %d: a quote inside an unquoted field "
			                         "(quote the whole field and double the quote)"
			                       : "field %d: text after the closing quote",
			               r->cur->nfields + 1);
			bool eol = seg[n - 1] == '\n';
			malformed(r, seg + done, eol ? n - done - 1 : n - done, why);
			if (eol)
				push_malformed(r);
			else
				r->skip = SKIP_APPEND;
			return;
		}
		/* The field outgrew the limit: skip it, minding its quotes. */
		bool in_quotes = r->p.quoted && r->p.pstate == LIBCSV_FIELD_BEGUN;
		(void)snprintf(why, sizeof why, "field %d is larger than %u MiB",
		               r->cur->nfields + 1, CSVROW_MAX_RECORD >> 20);
		r->p.entry_pos = 0;
		malformed(r, "", 0, why);
		push_record(r);
		r->skip = in_quotes ? SKIP_IN_QUOTES : SKIP_UNQUOTED;
		done += skip_bytes(r, seg + done, n - done);
	}
}

/* At the end of the input: the last record may lack its line end, or hold
 * a quote that was never closed. */
static void
finish(struct csvrow_reader *r)
{
	r->finished = true;
	if (r->skip == SKIP_APPEND)
		push_malformed(r);
	if (r->skip != SKIP_NONE)
		return;
	if (csv_fini(&r->p, on_field, on_record, r) != 0) {
		char why[160];
		(void)snprintf(why, sizeof why,
		               "a quoted field is never closed: the rest of the file, lines %ld to "
		               "%ld, was read into it",
		               r->cur->line ? r->cur->line : r->line, r->line);
		malformed(r, "", 0, why);
		push_record(r);
	}
}

int
csvrow_next(struct csvrow_reader *r, struct csvrow_record *rec, struct etl_error *err)
{
	if (r->qhead == r->qlen)
		r->qhead = r->qlen = 0;
	while (r->qlen == 0 && !r->failed) {
		if (r->finished)
			return 0;
		if (r->pos == r->len) {
			if (r->eof) {
				finish(r);
				continue;
			}
			struct etl_error e;
			error_clear(&e);
			ssize_t n = r->read_fn(r->ctx, r->buf, CHUNK, &e);
			if (n < 0) {
				r->error = e;
				r->failed = true;
				break;
			}
			r->pos = 0;
			r->len = (size_t)n;
			r->eof = n == 0;
			continue;
		}
		char *seg = r->buf + r->pos;
		size_t avail = r->len - r->pos;
		char *nl = memchr(seg, '\n', avail);
		size_t n = nl ? (size_t)(nl - seg) + 1 : avail;
		feed(r, seg, n);
		r->pos += n;
		if (nl != NULL)
			r->line++;
		/* Grow libcsv's buffer geometrically for long fields. */
		size_t bs = csv_get_buffer_size(&r->p);
		if (bs > r->blk_seen) {
			csv_set_blk_size(&r->p, bs > 4096 ? bs : 4096);
			r->blk_seen = bs;
		}
	}
	if (r->failed) {
		if (err != NULL)
			*err = r->error;
		return -1;
	}
	/* Hand out the oldest record; its buffers come back on the next call. */
	struct rec *o = r->queue[r->qhead];
	r->queue[r->qhead++] = r->out;
	r->out = o;
	if (o->nfields > r->ptrs_cap) {
		char **p = realloc(r->ptrs, (size_t)o->nfields * sizeof *p);
		if (p == NULL) {
			fail_nomem(r);
			if (err != NULL)
				*err = r->error;
			return -1;
		}
		r->ptrs = p;
		r->ptrs_cap = o->nfields;
	}
	for (int i = 0; i < o->nfields; i++)
		r->ptrs[i] = o->data + o->offs[i];
	rec->line = o->line;
	rec->end_line = o->end_line;
	rec->nfields = o->nfields;
	rec->fields = r->ptrs;
	rec->lens = o->lens;
	rec->error = o->error[0] != '\0' ? o->error : NULL;
	return 1;
}
