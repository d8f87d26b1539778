/*
 * intake.c — driving one file through the intake stages.
 */
#include "intake_impl.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "record.h"
#include "rowkey.h"
#include "text.h"

/* Whether file can be read only once: stdin or a FIFO (a character device
 * such as /dev/zero may never end: it is read as a file, within the
 * reader's bounds). */
static bool
read_once(const char *file, struct stat *st)
{
	memset(st, 0, sizeof *st);
	if (strcmp(file, "-") == 0) {
		(void)fstat(STDIN_FILENO, st); /* for /dev/stdin beside it */
		return true;
	}
	return stat(file, st) == 0 && S_ISFIFO(st->st_mode);
}

enum etl_code
intake_spool(struct intake_spools *s, const struct file_spec *specs, int nspecs,
             struct etl_error *err)
{
	memset(s, 0, sizeof *s);
	size_t n = (size_t)nspecs + 1;
	s->file = calloc(n, sizeof *s->file);
	s->spool = calloc(n, sizeof *s->spool);
	s->err = calloc(n, sizeof *s->err);
	s->owner = calloc(n, sizeof *s->owner);
	struct stat *ids = calloc(n, sizeof *ids);
	if (s->file == NULL || s->spool == NULL || s->err == NULL || s->owner == NULL ||
	    ids == NULL) {
		free(ids);
		return error_oom(err, NULL, 0);
	}
	for (int i = 0; i < nspecs; i++) {
		const char *file = specs[i].file;
		struct stat st;
		bool seen = false;
		for (int j = 0; j < s->n && !seen; j++)
			seen = strcmp(s->file[j], file) == 0;
		if (seen || !read_once(file, &st))
			continue;
		int k = s->n++;
		if ((s->file[k] = strdup(file)) == NULL) {
			free(ids);
			return error_oom(err, file, 0);
		}
		ids[k] = st;
		/* The same pipe under another name (./f, /dev/stdin): its copy. */
		int same = -1;
		for (int j = 0; j < k && same < 0; j++)
			if (s->owner[j] && st.st_ino != 0 && ids[j].st_dev == st.st_dev &&
			    ids[j].st_ino == st.st_ino)
				same = j;
		if (same >= 0) {
			s->spool[k] = s->spool[same];
			continue;
		}
		bool is_stdin = strcmp(file, "-") == 0;
		int fd = is_stdin ? STDIN_FILENO : open(file, O_RDONLY | O_CLOEXEC);
		enum etl_code rc = fd < 0 ? error_set(&s->err[k], ETL_EINPUT, file, 0,
		                                      "cannot open: %s", strerror(errno))
		                          : input_spool(fd, is_stdin ? "stdin" : file, &s->spool[k],
		                                        &s->err[k]);
		if (fd >= 0 && !is_stdin)
			(void)close(fd);
		s->owner[k] = rc == ETL_OK;
		if (rc == ETL_OK)
			error_clear(&s->err[k]);
	}
	free(ids);
	return ETL_OK;
}

void
intake_spools_free(struct intake_spools *s)
{
	for (int i = 0; i < s->n; i++) {
		if (s->owner[i]) {
			/* The copy's descriptor, kept open for its name: closed
			 * with it. */
			int fd = -1;
			if (sscanf(s->spool[i], "/proc/self/fd/%d", &fd) == 1)
				(void)close(fd);
			free(s->spool[i]);
		}
		free(s->file[i]);
	}
	free(s->file);
	free(s->spool);
	free(s->err);
	free(s->owner);
	memset(s, 0, sizeof *s);
}

struct file_spec
intake_spec(const char *arg)
{
	struct file_spec s = {.arg = arg, .file = arg, .kind = KIND_NONE};
	const char *eq = strchr(arg, '=');
	char name[16];
	size_t n = eq != NULL ? (size_t)(eq - arg) : sizeof name;
	if (n >= sizeof name)
		return s;
	memcpy(name, arg, n);
	name[n] = '\0';
	s.kind = table_kind_from_name(name);
	if (s.kind != KIND_NONE)
		s.file = eq + 1;
	return s;
}

/* The next CSV record into it->rec, into the running hash too. */
static int
next_csv(struct intake *it, struct etl_error *err)
{
	int got = csvrow_next(it->csv, &it->rec, err);
	if (got == 1 && it->prefix != NULL) {
		if (it->prefix_paused)
			it->prefix_invalid = true;
		else
			intake_hasher_record(it->prefix, &it->rec, false);
	}
	return got;
}

void
intake_pause_prefix(struct intake *it, bool paused)
{
	it->prefix_paused = paused;
}

bool
intake_prefix(struct intake *it, char out[65])
{
	out[0] = '\0';
	return it->prefix != NULL && !it->prefix_invalid && intake_hasher_peek(it->prefix, out);
}

/* Opens the file's bytes and CSV reader and reads its header record into
 * it->rec: 1, 0 when there is none, or -1 (err filled).  A file without a
 * header (--columns) has it->hdr instead, and nothing is read. */
static int
open_stream(struct intake *it, struct etl_error *err)
{
	if (intake_open_input(it, &it->in, err) != ETL_OK ||
	    csvrow_open(&it->csv, intake_read_input, it->in, it->o->format->delim, it->name, err) !=
	            ETL_OK)
		return -1;
	if (it->o->track_prefix && it->prefix == NULL &&
	    (it->prefix = intake_hasher_new()) == NULL) {
		(void)error_oom(err, it->name, 0);
		return -1;
	}
	if (it->prefix != NULL)
		intake_hasher_reset(it->prefix);
	it->prefix_invalid = false;
	if (intake_headerless(it)) {
		const struct colmap_opts *cm = it->o->format->cm;
		free(it->hdr.lens);
		it->hdr = (struct csvrow_record){0,    0,   cm->ncolumns, (char **)cm->columns,
		                                 NULL, NULL};
		it->hdr.lens = calloc((size_t)cm->ncolumns, sizeof *it->hdr.lens);
		if (it->hdr.lens == NULL) {
			(void)error_oom(err, it->name, 0);
			return -1;
		}
		for (int i = 0; i < cm->ncolumns; i++)
			it->hdr.lens[i] = strlen(cm->columns[i]);
		if (it->prefix != NULL)
			intake_hasher_record(it->prefix, &it->hdr, true);
		return 1;
	}
	int got = csvrow_next(it->csv, &it->rec, err);
	if (got == 1 && it->prefix != NULL)
		intake_hasher_record(it->prefix, &it->rec, true);
	return got;
}

enum etl_code
intake_open(struct intake **out, const struct file_spec *spec, const struct intake_opts *o,
            struct etl_error *err)
{
	enum etl_code rc;
	struct intake *it = calloc(1, sizeof *it);
	*out = it;
	if (it == NULL)
		return error_oom(err, spec->arg, 0);
	it->o = o;
	it->spec = strdup(spec->arg);
	if (it->spec == NULL)
		return error_oom(err, spec->arg, 0);
	it->path = it->spec + (spec->file - spec->arg);
	enum kind forced = spec->kind;
	bool is_stdin = strcmp(it->path, "-") == 0;
	it->name = is_stdin ? "stdin" : it->path;
	it->open_path = it->path;
	for (int i = 0; o->spools != NULL && i < o->spools->n; i++) {
		if (strcmp(o->spools->file[i], it->path) != 0)
			continue;
		if (o->spools->spool[i] == NULL) {
			*err = o->spools->err[i];
			return err->code;
		}
		it->open_path = o->spools->spool[i];
	}
	it->kind = KIND_NONE;

	int got = open_stream(it, err);
	if (got < 0)
		return err->code;
	if (got == 0)
		return error_set(err, ETL_EINPUT, it->name, 0, "the file is empty: no header row");
	rc = colmap_build(&it->map, forced, intake_headerless(it) ? &it->hdr : &it->rec,
	                  o->format->cm, it->name, err);
	if (rc != ETL_OK)
		return rc;
	it->kind = it->map.t->kind;
	if (o->unique_keys && it->map.t->nkey > 0) {
		it->keys = keyset_new();
		if (it->keys == NULL)
			return error_oom(err, it->name, 0);
	}
	return ETL_OK;
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
	return intake_start_rejects_at(it, resume_at, NULL, err);
}

enum etl_code
intake_start_rejects_at(struct intake *it, int64_t resume_at, const char *path,
                        struct etl_error *err)
{
	if (!it->o->write_rejects)
		return ETL_OK;
	/* The reject file in the encoding the input was found in (a BOM may
	 * have told it), so that the same options read it. */
	enum input_encoding enc;
	enum etl_code rc = input_found_encoding(it->in, &enc, err);
	if (rc != ETL_OK)
		return rc;
	struct reject_opts ro = {.dir = it->o->reject_dir,
	                         .delim = it->o->format->delim,
	                         .enc = enc,
	                         .resume_at = resume_at,
	                         .path = path};
	return reject_open(&it->rej, &ro, it->path, &it->map, err);
}

char *
intake_reject_name(const struct intake *it, const char *tag)
{
	return reject_name(it->o->reject_dir, it->path, tag);
}

int
intake_skip(struct intake *it, int64_t n, struct keyset *skus, struct etl_error *err)
{
	for (int64_t i = 0; i < n; i++) {
		int got = next_csv(it, err);
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
		if (!record_check(it->o->v, &it->map, &it->rec,
		                  it->map.t->ref_col >= 0 ? skus : NULL, &it->row, it->why,
		                  sizeof it->why))
			continue;
		bool added;
		int64_t *first =
		        rowkey_of_row(it->map.t, &it->row, &it->kb)
		                ? keyset_find(it->keys, it->kb.data, it->kb.len, true, &added)
		                : NULL;
		if (first == NULL) {
			(void)error_oom(err, it->name, it->rec.line);
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

void
intake_hold_rejects(struct intake *it, struct reject_held *held)
{
	if (it->rej != NULL)
		reject_hold(it->rej, held);
}

enum etl_code
intake_reject(struct intake *it, int nfields, char *const *fields, const size_t *lens, bool garbled,
              long line, int64_t record, const char *reason, struct etl_error *err)
{
	it->rows_rejected++;
	remember(it, line, reason);
	if (it->nrejected == it->caprejected) {
		size_t cap = it->caprejected ? it->caprejected * 2 : 256;
		int64_t *v = realloc(it->rejected, cap * sizeof *v);
		if (v == NULL)
			return error_oom(err, it->name, line);
		it->rejected = v;
		it->caprejected = cap;
	}
	it->rejected[it->nrejected++] = record;
	if (it->o->on_reject != NULL)
		it->o->on_reject(it->o->reject_ctx, line, reason);
	if (it->rej == NULL)
		return ETL_OK;
	return reject_write(it->rej, nfields, fields, lens, garbled, line, reason, err);
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
	keyindex_free(it->folds);
	it->folds = NULL;
	keyindex_free(it->db_folds);
	it->db_folds = NULL;
	if (it->keys != NULL) {
		keyset_free(it->keys);
		it->keys = keyset_new();
		if (it->keys == NULL)
			return error_oom(err, it->name, 0);
	}
	if (it->rej != NULL)
		return reject_truncate(it->rej, 0, err);
	return ETL_OK;
}

int
intake_next_record(struct intake *it, struct etl_error *err)
{
	int got = next_csv(it, err);
	if (got == 1)
		it->rows_read++;
	return got;
}

/* Whether keys that differ only in letter case or surrounding spaces are
 * rejected (every kind with a unique key, unless --case-variants allow). */
static bool
checks_variants(const struct intake *it)
{
	return it->o->unique_keys && !it->o->case_variants && it->map.t->nkey > 0;
}

/* Remembers the fold of a new key of the file, at index in the file's
 * keys: it->fb, which case_variant() left holding it.  Only the first key
 * of a fold is kept (a later one is rejected as its variant). */
static bool
note_fold(struct intake *it, size_t index)
{
	return index < UINT32_MAX &&
	       keyindex_add(it->folds, keyset_hash(it->fb.data, it->fb.len), (uint32_t)index);
}

/* What same_fold() compares: the fold in it->fb with the fold of a key of
 * set. */
struct fold_probe {
	struct intake *it;
	const struct keyset *set;
	bool failed;
};

static bool
same_fold(void *ctx, uint32_t index)
{
	struct fold_probe *p = ctx;
	struct intake *it = p->it;
	const char *key;
	size_t n;
	int64_t *payload;
	keyset_at(p->set, index, &key, &n, &payload);
	if (!rowkey_fold(it->map.t, key, n, &it->ob)) {
		p->failed = true;
		return false;
	}
	return it->ob.len == it->fb.len && memcmp(it->ob.data, it->fb.data, it->fb.len) == 0;
}

/* The known keys' folds, once per file: the SKUs the database held when it
 * began (of two that fold alike, the later one is named).  False out of
 * memory. */
static bool
fold_known(struct intake *it, const struct keyset *skus)
{
	if ((it->db_folds = keyindex_new()) == NULL)
		return false;
	const char *key;
	size_t n;
	int64_t *payload;
	for (size_t index = keyset_count(skus); index-- > 0;) {
		keyset_at(skus, index, &key, &n, &payload);
		if (index >= UINT32_MAX || !rowkey_fold(it->map.t, key, n, &it->fb))
			return false;
		uint64_t h = keyset_hash(it->fb.data, it->fb.len);
		struct fold_probe probe = {.it = it, .set = skus};
		if (keyindex_find(it->db_folds, h, same_fold, &probe) >= 0)
			continue;
		if (probe.failed || !keyindex_add(it->db_folds, h, (uint32_t)index))
			return false;
	}
	return true;
}

/*
 * A new key (n bytes, not yet in the file's keys) that differs only in
 * letter case or surrounding spaces from a key of the file or one the
 * table held when the file began (intake_set_known()): 1 with the reason
 * in it->why naming the other spelling; 0 when it is no such variant (or
 * variants are allowed); -1 out of memory.
 */
static int
case_variant(struct intake *it, const char *key, size_t n)
{
	if (!checks_variants(it))
		return 0;
	char shown[300], other[300], raw[300];
	if (!rowkey_fold(it->map.t, key, n, &it->fb))
		return -1;
	uint64_t h = keyset_hash(it->fb.data, it->fb.len);
	if (it->folds == NULL && (it->folds = keyindex_new()) == NULL)
		return -1;
	const char *spelling;
	size_t sn;
	int64_t *payload;
	struct fold_probe probe = {.it = it, .set = it->keys};
	int64_t f = keyindex_find(it->folds, h, same_fold, &probe);
	if (probe.failed)
		return -1;
	rowkey_show(it->map.t, key, n, raw, sizeof raw);
	text_show(shown, sizeof shown, raw, strlen(raw));
	if (f >= 0) {
		keyset_at(it->keys, (size_t)f, &spelling, &sn, &payload);
		rowkey_show(it->map.t, spelling, sn, raw, sizeof raw);
		text_show(other, sizeof other, raw, strlen(raw));
		(void)snprintf(it->why, sizeof it->why,
		               "%s: %s differs from %s of line %lld only in letter case or "
		               "surrounding spaces; --case-variants allow loads it",
		               table_key_name(it->map.t), shown, other, (long long)payload[0]);
		return 1;
	}
	struct keyset *skus = it->known;
	if (skus == NULL || keyset_find(skus, key, n, false, NULL) != NULL)
		return 0; /* a key the table holds: --on-conflict decides */
	if (it->db_folds == NULL &&
	    (!fold_known(it, skus) || !rowkey_fold(it->map.t, key, n, &it->fb)))
		return -1; /* (fold_known() used it->fb: the key's fold again) */
	probe = (struct fold_probe){.it = it, .set = skus};
	f = keyindex_find(it->db_folds, h, same_fold, &probe);
	if (probe.failed)
		return -1;
	if (f < 0)
		return 0;
	keyset_at(skus, (size_t)f, &spelling, &sn, &payload);
	rowkey_show(it->map.t, spelling, sn, raw, sizeof raw);
	text_show(other, sizeof other, raw, strlen(raw));
	(void)snprintf(it->why, sizeof it->why,
	               "%s: %s differs from %s in the database only in letter case or "
	               "surrounding spaces; --case-variants allow loads it",
	               table_key_name(it->map.t), shown, other);
	return 1;
}

int
intake_next(struct intake *it, struct keyset *skus, struct etl_error *err)
{
	for (;;) {
		int got = next_csv(it, err);
		if (got <= 0)
			return got;
		it->rows_read++;
		it->number = it->skipped + (int64_t)it->rows_read;
		if (!in_filter(it, it->number)) {
			it->rows_passed++;
			continue;
		}
		const struct csvrow_record *r = &it->rec;
		bool ok = record_check(it->o->v, &it->map, r, it->map.t->ref_col >= 0 ? skus : NULL,
		                       &it->row, it->why, sizeof it->why);
		if (ok && it->keys != NULL) {
			if (!rowkey_of_row(it->map.t, &it->row, &it->kb)) {
				(void)error_oom(err, it->name, r->line);
				return -1;
			}
			const char *key = it->kb.data;
			size_t n = it->kb.len;
			/* A case variant is looked for (without adding the key,
			 * since a rejected variant must not enter the set) only
			 * when variants are checked; else one lookup adds it. */
			bool added = true;
			if (checks_variants(it))
				added = keyset_find(it->keys, key, n, false, NULL) == NULL;
			int variant = added ? case_variant(it, key, n) : 0;
			int64_t *first = NULL;
			size_t index = 0;
			if (variant == 0)
				first = keyset_find_index(it->keys, key, n, true, &added, &index);
			if (variant < 0 || (variant == 0 && first == NULL)) {
				(void)error_oom(err, it->name, r->line);
				return -1;
			}
			if (variant > 0) {
				ok = false;
			} else if (added) {
				first[0] = r->line;
				/* (folds exist once case_variant() ran for this
				 * new key, leaving its fold in it->fb) */
				if (it->folds != NULL && !note_fold(it, index)) {
					(void)error_oom(err, it->name, r->line);
					return -1;
				}
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
		if (intake_reject(it, r->nfields, r->fields, r->lens, r->error != NULL, r->line,
		                  it->number, it->why, err) != ETL_OK)
			return -1;
		if ((it->o->max_rejects >= 0 && it->rows_rejected > (uint64_t)it->o->max_rejects) ||
		    intake_over_reject_bytes(it))
			return INTAKE_STOP;
		if (intake_held_bytes(it) >= INTAKE_HELD_MAX)
			return INTAKE_FULL;
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
	free(it->hdr.lens);
	keyset_free(it->keys);
	keyindex_free(it->folds);
	keyindex_free(it->db_folds);
	buf_free(&it->kb);
	buf_free(&it->fb);
	buf_free(&it->ob);
	for (int i = 0; i < it->nshown; i++)
		free(it->shown[i]);
	free(it->filter);
	free(it->rejected);
	free(it->spec);
	intake_hasher_free(it->prefix);
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
intake_size_now(const struct intake *it)
{
	struct stat st;
	if (stat(it->open_path, &st) != 0 || !S_ISREG(st.st_mode))
		return -1;
	return (int64_t)st.st_size;
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

void
intake_set_known(struct intake *it, struct keyset *known)
{
	it->known = known;
	keyindex_free(it->db_folds);
	it->db_folds = NULL;
}

bool
intake_over_reject_bytes(const struct intake *it)
{
	return it->rej != NULL && it->o->max_reject_bytes > 0 &&
	       reject_offset(it->rej) + reject_held_bytes(it->rej) >
	               (uint64_t)it->o->max_reject_bytes;
}

void
intake_identity(const struct intake *it, struct input_id *id)
{
	if (it->in != NULL)
		input_identity(it->in, id);
	else
		*id = (struct input_id){0};
}

uint64_t
intake_held_bytes(const struct intake *it)
{
	return it->rej != NULL ? reject_held_bytes(it->rej) : 0;
}
