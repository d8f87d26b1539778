/*
 * input.h — the first stage: the bytes of one input file, as UTF-8 text.
 *
 * A file (or "-" for stdin) is read in fixed chunks.  gzip is recognised by
 * its magic bytes, not by the name; every member of a multi-member file is
 * decoded; a truncated or corrupt stream, or junk after it, is an input
 * error, never silently short data.  latin1, windows-1252, UTF-16 and UTF-32
 * are converted to UTF-8 with iconv.  A byte-order mark at the start decides
 * among the Unicode encodings (UTF-8, UTF-16LE/BE, UTF-32LE/BE), whichever of
 * them was asked for, and is skipped; without one, "utf-16" and "utf-32" are
 * big-endian, as the standards say.  A header with the NUL bytes of UTF-16
 * or UTF-32 text read as another encoding is an input error that names the
 * encoding it looks like.  Memory stays the same whatever the file size.
 */
#ifndef SIPREMS_INPUT_H
#define SIPREMS_INPUT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"

/* What a file on disk is (--archive moves only the file it loaded). */
struct input_id {
	bool known;
	unsigned long long dev, ino;
	long long size, mtime_s, mtime_ns;
};

/* ENC_UTF16 and ENC_UTF32 are "byte order by the BOM, else big-endian";
 * an input's found encoding (input_found_encoding()) is never one of them. */
enum input_encoding {
	ENC_UTF8,
	ENC_LATIN1,
	ENC_WINDOWS1252,
	ENC_UTF16,
	ENC_UTF16LE,
	ENC_UTF16BE,
	ENC_UTF32,
	ENC_UTF32LE,
	ENC_UTF32BE,
};

struct input;

/* Parses an --encoding value ("utf-8", "utf8", "latin1", "iso-8859-1",
 * "windows-1252", "cp1252", "utf-16", "utf-16le", "utf-16be", "utf-32",
 * "utf-32le", "utf-32be", also without the hyphen; any case); returns false
 * when unknown. */
bool input_parse_encoding(const char *s, enum input_encoding *enc);

/* The canonical name of an encoding, for messages and iconv. */
const char *input_encoding_name(enum input_encoding enc);

/* The bytes of an encoding's code unit: 1 (UTF-8 and the 8-bit ones), 2
 * (UTF-16) or 4 (UTF-32). */
size_t input_encoding_unit(enum input_encoding enc);

/*
 * Opens path ("-" reads stdin) for reading.  Returns ETL_OK with *out set,
 * or ETL_EINPUT (cannot open, a directory…) or ETL_ESYSTEM.  The caller
 * frees *out with input_close().
 */
enum etl_code input_open(struct input **out, const char *path, enum input_encoding enc,
                         struct etl_error *err);

/* The same over size bytes in memory (a file compiled into the program),
 * named name in messages; data must outlive the input. */
enum etl_code input_open_memory(struct input **out, const char *name, const unsigned char *data,
                                size_t size, enum input_encoding enc, struct etl_error *err);

/*
 * Reads up to size (>= 4) bytes of UTF-8 text into buf.  Returns the count,
 * 0 at the end of the input, or -1 on an error (ETL_EINPUT with the file
 * name in err: unreadable, corrupt or truncated gzip, a header with the NUL
 * bytes of another encoding (line 1), UTF-16 or UTF-32 that is not valid or
 * ends inside a character).  Errors stick: once one was returned, every
 * later call returns -1 with the same error.
 */
ssize_t input_read(struct input *in, char *buf, size_t size, struct etl_error *err);

/*
 * Sets *enc to the encoding the text is read in: the one asked for, or the
 * one its byte-order mark says; UTF-16 and UTF-32 with their byte order.
 * Before the first input_read() it looks at the start of the text, which
 * the reads then return as ever.  Returns ETL_OK, or the error input_read()
 * returns (it sticks as theirs does).
 */
enum etl_code input_found_encoding(struct input *in, enum input_encoding *enc,
                                   struct etl_error *err);

/* Bytes of the file consumed so far (compressed bytes for gzip). */
uint64_t input_raw_bytes(const struct input *in);

/* The file's size in bytes, or -1 when unknown (a pipe). */
int64_t input_raw_size(const struct input *in);

/* True once the input turned out to be gzip. */
bool input_is_gzip(const struct input *in);

/* The name used in messages: the path, or "stdin". */
const char *input_name(const struct input *in);

/*
 * Makes in keep the SHA-256 of the file's raw bytes (before gzip decoding);
 * call before the first read.  Returns ETL_OK or ETL_ESYSTEM.
 */
enum etl_code input_hash_raw(struct input *in, struct etl_error *err);

/*
 * After input_hash_raw(): reads whatever raw bytes are left, then writes
 * their SHA-256 as 64 hex digits into hex and the file's size.  Returns
 * ETL_OK, ETL_EINPUT (a read error) or ETL_ESYSTEM.
 */
enum etl_code input_raw_sha256(struct input *in, char hex[65], int64_t *size,
                               struct etl_error *err);

/*
 * Copies what descriptor in gives, to its end, into an unlinked temporary
 * file (in TMPDIR) and sets *path to a name that opens it
 * ("/proc/self/fd/N"; the caller frees it).  A load can then fingerprint
 * stdin or a pipe (a FIFO, `<(zcat …)`) and read it again.  name_of names
 * the input in errors.  Returns ETL_OK, ETL_EINPUT (read error) or
 * ETL_ESYSTEM.
 */
enum etl_code input_spool(int in, const char *name_of, char **path, struct etl_error *err);

/* Closes the file and frees in; in may be NULL. */
void input_close(struct input *in);

/* The file in's descriptor reads (not known for stdin or memory). */
void input_identity(const struct input *in, struct input_id *id);

/* Whether path (not followed if a link) is the file id names, unchanged. */
bool input_same_file(const char *path, const struct input_id *id);

#endif
