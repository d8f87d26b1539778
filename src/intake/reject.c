/*
 * reject.c — writing reject files.
 */
#include "reject.h"

#include <errno.h>
#include <fcntl.h>
#include <iconv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "csvout.h"
#include "safefile.h"

struct reject_writer {
	char *path; /* the file's name once complete */
	char *tmp;  /* its name while it is written: DIR/.NAME.part */
	bool named; /* complete, under its name (reject_complete()) */
	const struct colmap *m;
	unsigned char delim;
	iconv_t cd;  /* UTF-8 to the input's encoding, or -1 */
	size_t grow; /* its bytes for a byte of UTF-8, at most */
	int fd;
	bool created;
	uint64_t offset; /* bytes in the file, counting the buffer */
	struct buf line; /* the row being built */
	char *out;       /* encoded output waiting to be written */
	size_t olen, ocap;
	struct reject_held *held; /* rows kept back (reject_hold), or NULL */
};

static bool
reserve(char **buf, size_t *cap, size_t need)
{
	if (need <= *cap)
		return true;
	size_t c = *cap ? *cap : 4096;
	while (c < need)
		c *= 2;
	char *b = realloc(*buf, c);
	if (b == NULL)
		return false;
	*buf = b;
	*cap = c;
	return true;
}

static bool
put(struct reject_writer *w, const char *s, size_t n)
{
	buf_put(&w->line, s, n);
	return !w->line.failed;
}

static bool
put_field(struct reject_writer *w, const char *s, size_t n, bool first)
{
	csv_put_field(&w->line, s, n, w->delim, first);
	return !w->line.failed;
}

/* Is header field i one of the reject columns of an earlier reject file?
 * (A field --map ignores stays: the reject file keeps the file's fields.) */
static bool
dropped(const struct reject_writer *w, int i)
{
	return i < w->m->nfields && w->m->field_col[i] < 0 &&
	       table_is_reject_column(w->m->names[i], strlen(w->m->names[i]));
}

static bool
secret(const struct reject_writer *w, int i)
{
	int c = i < w->m->nfields ? w->m->field_col[i] : -1;
	return c >= 0 && (w->m->t->cols[c].flags & COL_SECRET);
}

/* Moves the built row into the output buffer, in the input's encoding. */
static bool
encode_line(struct reject_writer *w)
{
	if (w->cd == (iconv_t)-1) {
		if (!reserve(&w->out, &w->ocap, w->olen + w->line.len))
			return false;
		memcpy(w->out + w->olen, w->line.data, w->line.len);
		w->olen += w->line.len;
		w->line.len = 0;
		return true;
	}
	/* At most one byte per UTF-8 byte in a single-byte encoding, two in
	 * UTF-16 (an ASCII character), four in UTF-32. */
	if (!reserve(&w->out, &w->ocap, w->olen + w->grow * w->line.len))
		return false;
	char *in = w->line.data, *o = w->out + w->olen;
	size_t inleft = w->line.len, oleft = w->ocap - w->olen;
	while (inleft > 0) {
		if (iconv(w->cd, &in, &inleft, &o, &oleft) != (size_t)-1)
			break;
		/* The C1 controls that stood for windows-1252's unassigned
		 * bytes go back to those bytes; anything else unencodable
		 * (text of the reason, bytes that are not UTF-8) becomes '?'
		 * in the file's encoding. */
		unsigned char c0 = (unsigned char)in[0];
		if (w->grow == 1 && c0 == 0xC2 && inleft >= 2 && (unsigned char)in[1] >= 0x80 &&
		    (unsigned char)in[1] <= 0x9F) {
			*o++ = in[1];
			oleft--;
			in += 2;
			inleft -= 2;
		} else {
			size_t skip = 1;
			while (skip < inleft && ((unsigned char)in[skip] & 0xC0) == 0x80)
				skip++;
			char q[] = "?", *qp = q;
			size_t qleft = 1;
			(void)iconv(w->cd, &qp, &qleft, &o, &oleft);
			in += skip;
			inleft -= skip;
		}
	}
	w->olen = (size_t)(o - w->out);
	w->line.len = 0;
	return true;
}

static enum etl_code
write_out(struct reject_writer *w, struct etl_error *err)
{
	size_t done = 0;
	while (done < w->olen) {
		ssize_t n = write(w->fd, w->out + done, w->olen - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			/* What reached the file is out of the buffer: the
			 * file's size stays w->offset - w->olen. */
			int e = errno;
			memmove(w->out, w->out + done, w->olen - done);
			w->olen -= done;
			return error_set(err, ETL_ESYSTEM, w->tmp, 0, "cannot write: %s",
			                 strerror(e));
		}
		done += (size_t)n;
	}
	w->olen = 0;
	return ETL_OK;
}

char *
reject_name(const char *dir, const char *input_path, const char *tag)
{
	const char *base = strcmp(input_path, "-") == 0 ? "stdin" : strrchr(input_path, '/');
	base = base == NULL ? input_path : base[0] == '/' ? base + 1 : base;
	char *path = NULL;
	int k = asprintf(&path, "%s%s%s%s%s.rejects.csv", dir ? dir : "", dir ? "/" : "", base,
	                 tag ? "." : "", tag ? tag : "");
	return k < 0 ? NULL : path;
}

/* DIR/.NAME.part for DIR/NAME, or NULL (out of memory). */
static char *
temp_name(const char *path)
{
	const char *b = strrchr(path, '/');
	int dl = b ? (int)(b - path + 1) : 0;
	char *tmp;
	return asprintf(&tmp, "%.*s.%s.part", dl, path, path + dl) < 0 ? NULL : tmp;
}

void
reject_settle(const char *path)
{
	char *tmp = temp_name(path);
	if (tmp != NULL && !safefile_exists(path) && safefile_exists(tmp))
		(void)safefile_rename(tmp, path);
	free(tmp);
}

int
reject_dir_writable(const char *dir)
{
	char *path = NULL, *probe = NULL;
	if (asprintf(&path, "%s/.siprems-etl-probe", dir) < 0)
		return ENOMEM;
	/* Made with O_EXCL, from the directory's descriptor (kept: the
	 * reject files of the run are made there, wherever its name points
	 * later). */
	int fd = safefile_temp(path, 0600, &probe);
	int e = fd < 0 ? errno : 0;
	if (fd >= 0) {
		(void)close(fd);
		(void)safefile_unlink(probe);
	}
	free(probe);
	free(path);
	return e;
}

bool
reject_exists(const char *path)
{
	if (safefile_exists(path))
		return true;
	char *tmp = temp_name(path);
	bool yes = tmp == NULL || safefile_exists(tmp);
	free(tmp);
	return yes;
}

/* A resumed load's reject file: the earlier attempt's, cut to resume_at
 * bytes, and only when it is surely the file this tool made. */
static enum etl_code
reopen_at(struct reject_writer *w, int64_t resume_at, struct etl_error *err)
{
	/* Keep what the committed batches rejected; drop the rest.  A
	 * killed attempt left it under its temporary name; one that
	 * ended, under its own. */
	if (!safefile_exists(w->tmp) && safefile_rename(w->path, w->tmp) != 0 && errno != ENOENT)
		return error_set(err, ETL_EINPUT, w->path, 0, "cannot reopen: %s", strerror(errno));
	/* Only a regular file of ours with one link, not through a link:
	 * anything else was put there by someone else. */
	w->fd = safefile_reopen(w->tmp, 0);
	struct stat st = {0};
	if (w->fd < 0 && errno != ENOENT)
		return error_set(err, ETL_EINPUT, w->tmp, 0,
		                 "refused to reopen: %s; it is not the reject file "
		                 "siprems-etl made (remove it, and the load resumes)",
		                 errno == ELOOP   ? "a symbolic link"
		                 : errno == EPERM ? "not a regular file of this user with one link"
		                                  : strerror(errno));
	if (w->fd < 0)
		w->fd = safefile_create(w->tmp, 0600);
	if (w->fd < 0 || fchmod(w->fd, 0600) != 0 || fstat(w->fd, &st) != 0)
		return error_set(err, ETL_EINPUT, w->tmp, 0, "cannot reopen: %s", strerror(errno));
	off_t keep = (off_t)resume_at;
	if (st.st_size < keep) {
		/* Someone shortened or removed it since. */
		warnx_etl("%s: shorter than the load history says; rows rejected by the "
		          "earlier attempt may be missing from it",
		          w->path);
		keep = st.st_size;
	}
	if (ftruncate(w->fd, keep) != 0 || lseek(w->fd, 0, SEEK_END) < 0)
		return error_set(err, ETL_EINPUT, w->tmp, 0, "cannot reopen: %s", strerror(errno));
	w->created = keep > 0;
	w->offset = (uint64_t)keep;
	if (!w->created) {
		(void)close(w->fd);
		w->fd = -1;
		(void)safefile_unlink(w->tmp);
	}
	return ETL_OK;
}

enum etl_code
reject_open(struct reject_writer **out, const struct reject_opts *o, const char *input_path,
            const struct colmap *m, struct etl_error *err)
{
	struct reject_writer *w = calloc(1, sizeof *w);
	enum etl_code rc = ETL_OK;
	*out = NULL;
	if (w == NULL)
		return error_oom(err, input_path, 0);
	w->fd = -1;
	w->cd = (iconv_t)-1;
	w->m = m;
	w->delim = o->delim;
	w->grow = input_encoding_unit(o->enc);
	w->path = o->path ? strdup(o->path) : reject_name(o->dir, input_path, NULL);
	if (w->path != NULL)
		w->tmp = temp_name(w->path);
	if (w->path == NULL || w->tmp == NULL) {
		rc = error_oom(err, input_path, 0);
		goto out;
	}
	/* The directory the file is in, reached from its descriptor from
	 * now on. */
	int why = safefile_dir_access(w->path);
	if (why != 0) {
		const char *slash = strrchr(w->path, '/');
		char *dir = slash == NULL
		                    ? strdup(".")
		                    : strndup(w->path,
		                              slash == w->path ? 1 : (size_t)(slash - w->path));
		rc = error_set(err, ETL_ESYSTEM, dir ? dir : w->path, 0,
		               "cannot write reject files here: %s", strerror(why));
		free(dir);
		goto out;
	}
	if (o->enc != ENC_UTF8) {
		w->cd = iconv_open(input_encoding_name(o->enc), "UTF-8");
		if (w->cd == (iconv_t)-1) {
			rc = error_set(err, ETL_ESYSTEM, input_path, 0, "cannot convert to %s",
			               input_encoding_name(o->enc));
			goto out;
		}
	}
	if (o->resume_at > 0) {
		if ((rc = reopen_at(w, o->resume_at, err)) != ETL_OK)
			goto out;
	} else if ((safefile_unlink(w->path) != 0 && errno != ENOENT) ||
	           (safefile_unlink(w->tmp) != 0 && errno != ENOENT)) {
		rc = error_set(err, ETL_EINPUT, w->path, 0, "cannot remove the old reject file: %s",
		               strerror(errno));
		goto out;
	}
	*out = w;
	w = NULL;
out:
	if (w != NULL)
		(void)reject_close(w, NULL);
	return rc;
}

/* Creates the file and writes its header. */
static enum etl_code
create(struct reject_writer *w, struct etl_error *err)
{
	/* Made anew, never through a link (O_EXCL): one planted since the
	 * old file was removed is refused, and nothing outside is touched. */
	if (safefile_unlink(w->tmp) != 0 && errno != ENOENT)
		return error_set(err, ETL_ESYSTEM, w->tmp, 0, "cannot create: %s", strerror(errno));
	w->fd = safefile_create(w->tmp, 0600);
	if (w->fd < 0 && errno == ENOENT && safefile_dir_removed(w->tmp))
		return error_set(err, ETL_ESYSTEM, w->tmp, 0,
		                 "cannot create: the directory it goes in was removed during the "
		                 "run (a directory made since under its name is not used)");
	if (w->fd < 0)
		return error_set(
		        err, ETL_ESYSTEM, w->tmp, 0, "cannot create: %s%s", strerror(errno),
		        errno == EEXIST ? " (made by someone else meanwhile; refused)" : "");
	w->created = true;
	bool ok = true, first = true;
	/* UTF-16 and UTF-32 begin with U+FEFF, the byte-order mark, in the
	 * file's encoding once encoded: read with the options that read the
	 * input, or by any program, the file tells its byte order. */
	if (w->grow > 1)
		ok = put(w, "\xEF\xBB\xBF", 3);
	for (int i = 0; i < w->m->nfields && ok; i++) {
		if (dropped(w, i))
			continue;
		ok = put_field(w, w->m->names[i], strlen(w->m->names[i]), first);
		first = false;
	}
	ok = ok && put_field(w, "reject_line", 11, first) &&
	     put_field(w, "reject_reason", 13, false) && put(w, "\n", 1);
	size_t before = w->olen;
	if (!ok || !encode_line(w))
		return error_oom(err, w->path, 0);
	w->offset += w->olen - before;
	return ETL_OK;
}

enum etl_code
reject_write(struct reject_writer *w, int nfields, char *const *fields, const size_t *lens,
             bool garbled, long line, const char *reason, struct etl_error *err)
{
	if (!w->created && w->held == NULL) {
		enum etl_code rc = create(w, err);
		if (rc != ETL_OK)
			return rc;
	}
	/* The header's fields (a short row padded with empty ones), then
	 * reject_line and reject_reason under their own names, then the
	 * fields a long row has beyond the header, so that no reader takes
	 * an extra field for the line number. */
	bool ok = true, first = true;
	/* Fields that do not line up: a password may be in any of them. */
	bool hide = false;
	for (int i = 0; i < w->m->nfields; i++)
		hide |= secret(w, i) && (garbled || nfields != w->m->nfields);
	hide |= w->m->hide_rows; /* even lined up: a comma in a name shifts it */
	char *hidden = NULL;
	if (hide) {
		nfields = 0;
		if (asprintf(&hidden,
		             "%s; its fields are not written, because one may be a password: "
		             "correct line %ld of the file itself",
		             reason, line) < 0)
			return error_oom(err, w->path, 0);
		reason = hidden;
	}
	for (int i = 0; i < w->m->nfields && ok; i++) {
		if (dropped(w, i))
			continue;
		if (i < nfields && !secret(w, i))
			ok = put_field(w, fields[i], lens[i], first);
		else
			ok = put_field(w, "", 0, first);
		first = false;
	}
	char num[24];
	int k = snprintf(num, sizeof num, "%ld", line);
	ok = ok && put_field(w, num, (size_t)k, first) &&
	     put_field(w, reason, strlen(reason), false);
	for (int i = w->m->nfields; i < nfields && ok; i++)
		ok = put_field(w, fields[i], lens[i], false);
	ok = ok && put(w, "\n", 1);
	free(hidden);
	size_t before = w->olen;
	if (!ok || !encode_line(w))
		return error_oom(err, w->path, 0);
	if (w->held != NULL) {
		struct reject_held *h = w->held;
		if (h->n == h->cap) {
			size_t cap = h->cap ? h->cap * 2 : 64;
			size_t *off = realloc(h->off, cap * sizeof *off);
			if (off != NULL)
				h->off = off;
			long *ln = realloc(h->line, cap * sizeof *ln);
			if (ln != NULL)
				h->line = ln;
			if (off == NULL || ln == NULL)
				return error_oom(err, w->path, 0);
			h->cap = cap;
		}
		h->off[h->n] = h->data.len;
		h->line[h->n++] = line;
		buf_put(&h->data, w->out + before, w->olen - before);
		w->olen = before;
		return h->data.failed ? error_oom(err, w->path, 0) : ETL_OK;
	}
	w->offset += w->olen - before;
	if (w->olen >= 64 * 1024)
		return write_out(w, err);
	return ETL_OK;
}

void
reject_hold(struct reject_writer *w, struct reject_held *held)
{
	w->held = held;
}

enum etl_code
reject_append(struct reject_writer *w, const struct reject_held *held, size_t from, size_t to,
              struct etl_error *err)
{
	if (from >= to)
		return ETL_OK;
	if (!w->created) {
		enum etl_code rc = create(w, err);
		if (rc != ETL_OK)
			return rc;
	}
	size_t a = held->off[from], b = to < held->n ? held->off[to] : held->data.len;
	if (!reserve(&w->out, &w->ocap, w->olen + (b - a)))
		return error_oom(err, w->path, 0);
	memcpy(w->out + w->olen, held->data.data + a, b - a);
	w->olen += b - a;
	w->offset += b - a;
	if (w->olen >= 64 * 1024)
		return write_out(w, err);
	return ETL_OK;
}

void
reject_held_clear(struct reject_held *held)
{
	held->data.len = 0;
	held->data.failed = false;
	held->n = 0;
}

void
reject_held_free(struct reject_held *held)
{
	buf_free(&held->data);
	free(held->off);
	free(held->line);
	*held = (struct reject_held){0};
}

enum etl_code
reject_flush(struct reject_writer *w, bool sync, struct etl_error *err)
{
	if (w == NULL || !w->created)
		return ETL_OK;
	enum etl_code rc = write_out(w, err);
	if (rc == ETL_OK && sync && fsync(w->fd) != 0)
		rc = error_set(err, ETL_ESYSTEM, w->tmp, 0, "cannot sync: %s", strerror(errno));
	return rc;
}

uint64_t
reject_offset(const struct reject_writer *w)
{
	return w->offset;
}

uint64_t
reject_held_bytes(const struct reject_writer *w)
{
	return w->held != NULL ? (uint64_t)w->held->data.len : 0;
}

const char *
reject_path(const struct reject_writer *w)
{
	return w != NULL && w->created ? w->path : NULL;
}

const char *
reject_planned_path(const struct reject_writer *w)
{
	return w->path;
}

enum etl_code
reject_truncate(struct reject_writer *w, uint64_t offset, struct etl_error *err)
{
	if (!w->created)
		return ETL_OK;
	/* Only the buffer's bytes below offset are written: what a full disk
	 * or the file-size limit refused is cut away, not written again. */
	uint64_t on_disk = w->offset - w->olen;
	if (offset > w->offset)
		offset = w->offset;
	w->olen = offset > on_disk ? (size_t)(offset - on_disk) : 0;
	enum etl_code rc = write_out(w, err);
	if (rc != ETL_OK)
		return rc;
	if (offset == 0) {
		(void)close(w->fd);
		w->fd = -1;
		w->created = false;
		w->offset = 0;
		if (safefile_unlink(w->tmp) != 0 && errno != ENOENT)
			return error_set(err, ETL_ESYSTEM, w->tmp, 0, "cannot remove: %s",
			                 strerror(errno));
		return ETL_OK;
	}
	if (ftruncate(w->fd, (off_t)offset) != 0 || lseek(w->fd, 0, SEEK_END) < 0)
		return error_set(err, ETL_ESYSTEM, w->tmp, 0, "cannot truncate: %s",
		                 strerror(errno));
	w->offset = offset;
	return ETL_OK;
}

enum etl_code
reject_complete(struct reject_writer *w, struct etl_error *err)
{
	if (w == NULL || !w->created || w->named)
		return ETL_OK;
	/* Complete, on the disk, then under its name: a reader never sees
	 * part of it there. */
	enum etl_code rc = write_out(w, err);
	if (rc == ETL_OK && fsync(w->fd) != 0)
		rc = error_set(err, ETL_ESYSTEM, w->tmp, 0, "cannot sync: %s", strerror(errno));
	/* ENOENT with the file under its name: another run, finding this load
	 * finished, named it already (reject_settle()). */
	if (rc == ETL_OK && safefile_rename(w->tmp, w->path) != 0 &&
	    !(errno == ENOENT && safefile_exists(w->path)))
		rc = error_set(err, ETL_ESYSTEM, w->tmp, 0, "cannot rename to %s: %s", w->path,
		               strerror(errno));
	w->named = rc == ETL_OK;
	return rc;
}

enum etl_code
reject_close(struct reject_writer *w, struct etl_error *err)
{
	enum etl_code rc = ETL_OK;
	if (w == NULL)
		return ETL_OK;
	if (w->created && w->fd >= 0) {
		rc = reject_complete(w, err);
		if (close(w->fd) != 0 && rc == ETL_OK)
			rc = error_set(err, ETL_ESYSTEM, w->tmp, 0, "cannot close: %s",
			               strerror(errno));
	}
	if (w->cd != (iconv_t)-1)
		(void)iconv_close(w->cd);
	buf_free(&w->line);
	free(w->out);
	free(w->path);
	free(w->tmp);
	free(w);
	return rc;
}
