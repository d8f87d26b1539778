/*
 * intake_impl.h — the inside of an intake, shared by intake.c (reading rows)
 * and fingerprint.c (fingerprints).
 */
#ifndef SIPREMS_INTAKE_IMPL_H
#define SIPREMS_INTAKE_IMPL_H

#include "buf.h"
#include "intake.h"

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
	struct keyset *keys;       /* unique key -> first line */
	struct keyindex *folds;    /* the keys' folds -> the first key's index in keys */
	struct keyindex *db_folds; /* the known keys' folds -> index in them */
	struct keyset *known;      /* the keys the table held (intake_set_known()) */
	struct buf kb, fb, ob;     /* a row's key, its fold, another key's fold */
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
	struct csvrow_record hdr; /* --columns: the header the file does not have */
	int64_t number;           /* its ordinal among the data records (1-based) */
	struct valid_row row;     /* its values */
	char why[1024];
	struct hasher *prefix; /* the running content hash, or NULL (not tracked) */
	bool prefix_paused;    /* records are read without it */
	bool prefix_invalid;   /* records were read without it since the last rewind */
};
/* Whether the file has no header row (its names come from --columns). */
#define intake_headerless(it) ((it)->o->format->cm != NULL && (it)->o->format->cm->ncolumns > 0)

/* The input stage as the CSV stage reads it. */
ssize_t intake_read_input(void *ctx, char *buf, size_t size, struct etl_error *err);

/* Opens the intake's input afresh (a file, stdin's spool, or a built-in
 * file). */
enum etl_code intake_open_input(const struct intake *it, struct input **in, struct etl_error *err);

/* The content hash of fingerprint.c, run along a load's reading too: the
 * header, then each data record as read, so that every checkpoint can say
 * which records it committed (intake_prefix()). */
struct hasher;
struct hasher *intake_hasher_new(void);
void intake_hasher_reset(struct hasher *x);
void intake_hasher_free(struct hasher *x);
void intake_hasher_record(struct hasher *x, const struct csvrow_record *rec, bool header);
bool intake_hasher_peek(struct hasher *x, char out[65]);

#endif
