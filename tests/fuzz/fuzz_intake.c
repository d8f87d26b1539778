/*
 * fuzz_intake.c — libFuzzer target: one input file through the whole intake
 * (bytes, CSV, header map, each kind's validators, in-run unique keys,
 * reject file) and every valid row through both COPY encodings.
 *
 * The first byte chooses how the rest is read: bits 0-2 the kind given on
 * the command line (none, products, sales, events, users), bits 3-4 the
 * encoding, bit 5 the delimiter (',' or ';'), bit 6 a file described with
 * --date-format patterns, --decimal-comma, --currency and --null, bit 7 a
 * cashier's column names (--map); both: a file without a header
 * (--columns).  What must hold, whatever
 * the bytes: no crash, no leak, no undefined behaviour, and every record
 * read is either a valid row or a rejected one.
 */
#include <assert.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "encode.h"
#include "intake.h"
#include "keyset.h"
#include "valid.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct validator *validator, *described;
static struct keyset *skus;
static char reject_dir[4096];

/* The reject directory goes with the process: every input's reject file is
 * removed after it, and the directory at exit.  A crash ends the process
 * without exit handlers (libFuzzer's _Exit): then the directory stays,
 * beside the crashing input, in TMPDIR. */
static void
remove_reject_dir(void)
{
	DIR *d = opendir(reject_dir);
	if (d) {
		const struct dirent *e;
		char path[sizeof reject_dir + 256];
		while ((e = readdir(d)))
			if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
				(void)snprintf(path, sizeof path, "%s/%s", reject_dir, e->d_name);
				(void)unlink(path);
			}
		closedir(d);
	}
	(void)rmdir(reject_dir);
}

static void
setup(void)
{
	struct etl_error err;
	struct valid_opts vo = {.fixed_today = true, .today = 8700}; /* 2023-10-27 */
	struct valid_opts dvo = vo;
	dvo.fmt = (struct valid_formats){
	        .date_formats = {"DD/MM/YYYY HH24:MI", "MM/DD/YYYY",
	                         "DD Mon YYYY HH12:MI AM TZH:TZM", "YYYYMMDD\"T\"HH24MISS.US"},
	        .ndate_formats = 4,
	        .decimal_comma = true,
	        .currency = "Rp",
	        .null = "NA",
	};
	const char *tmp = getenv("TMPDIR");
	(void)snprintf(reject_dir, sizeof reject_dir, "%s/siprems-etl-fuzz.XXXXXX",
	               tmp && *tmp ? tmp : "/tmp");
	if (valid_open(&validator, &vo, &err) != ETL_OK ||
	    valid_open(&described, &dvo, &err) != ETL_OK || !(skus = keyset_new()) ||
	    !mkdtemp(reject_dir) || atexit(remove_reject_dir) != 0)
		abort();
	static const char *const known[] = {"SKU-1", "SKU-2", "A.b/c-9", "x"};
	for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
		bool added;
		int64_t *p = keyset_find(skus, known[i], strlen(known[i]), true, &added);
		if (!p)
			abort();
		p[0] = (int64_t)i + 1; /* product id */
		p[1] = 1999;           /* price in cents */
	}
}

/* One valid row in COPY text: exactly ncols - 1 unescaped tabs, one
 * newline, at the end. */
static void
check_text_row(const struct buf *b, int ncols)
{
	int tabs = 0;
	for (size_t i = 0; i < b->len; i++) {
		char c = b->data[i];
		if (c == '\\') {
			i++;
			continue;
		}
		assert(c != '\r');
		if (c == '\t')
			tabs++;
		assert(c != '\n' || i == b->len - 1);
	}
	assert(tabs == ncols - 1);
	assert(b->len > 0 && b->data[b->len - 1] == '\n');
}

static enum bin_type
bin_type_of(const struct value *v)
{
	switch (v->type) {
	case V_INT:
		return BIN_INT8;
	case V_MONEY:
		return BIN_NUMERIC;
	case V_BOOL:
		return BIN_BOOL;
	case V_DATE:
		return BIN_DATE;
	case V_TIMESTAMP:
		return BIN_TIMESTAMP;
	default:
		return BIN_TEXT;
	}
}

static void
encode_row(const struct intake *it)
{
	const struct table_def *t = intake_map(it)->t;
	struct buf text = {0}, bin = {0};
	encode_bin_tuple(&bin, t->ncols);
	for (int c = 0; c < t->ncols; c++) {
		const struct value *v = &intake_row(it)->v[c];
		if (c > 0)
			buf_put(&text, "\t", 1);
		encode_value(&text, v, t->cols[c].labels);
		encode_bin_value(&bin, v, bin_type_of(v), t->cols[c].labels);
	}
	buf_put(&text, "\n", 1);
	assert(!text.failed && !bin.failed);
	check_text_row(&text, t->ncols);
	buf_free(&text);
	buf_free(&bin);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const kinds[] = {"", "products=", "sales=", "events=", "users="};
	static const enum input_encoding encs[] = {ENC_UTF8, ENC_LATIN1, ENC_WINDOWS1252, ENC_UTF8};
	if (!validator)
		setup();
	if (size < 1)
		return 0;
	uint8_t sel = data[0];
	data++, size--;

	int fd = memfd_create("fuzz", 0);
	if (fd < 0 || (size > 0 && write(fd, data, size) != (ssize_t)size))
		abort();
	char spec[64];
	(void)snprintf(spec, sizeof spec, "%s/proc/self/fd/%d", kinds[(sel & 7) % 5], fd);

	static const struct colmap_opts cashier = {
	        .map = {{"Tanggal", "transaction_date"},
	                {"Kode Barang", "sku"},
	                {"Nama Barang", "-"},
	                {"Jumlah", "quantity_sold"},
	                {"Harga Satuan", "price_per_unit"}},
	        .nmap = 5,
	};
	static const struct colmap_opts headerless = {
	        .columns = {"transaction_date", "sku", "-", "quantity_sold", "price_per_unit"},
	        .ncolumns = 5,
	};
	struct file_format format = {
	        .enc = encs[(sel >> 3) & 3],
	        .delim = (sel & 32) ? ';' : ',',
	        .cm = (sel & 192) == 192 ? &headerless
	              : (sel & 128)      ? &cashier
	                                 : NULL,
	};
	struct intake_opts o = {
	        .format = &format,
	        .v = (sel & 64) ? described : validator,
	        .case_variants = (sel & 8) != 0,
	        .reject_dir = reject_dir,
	        .write_rejects = true,
	        .unique_keys = true,
	        .max_rejects = -1,
	};
	struct etl_error err;
	struct intake *it = NULL;
	uint64_t valid = 0;
	int r = -1;
	struct file_spec fs = intake_spec(spec);
	if (intake_open(&it, &fs, &o, &err) == ETL_OK &&
	    intake_start_rejects(it, -1, &err) == ETL_OK) {
		while ((r = intake_next(it, skus, &err)) == 1) {
			valid++;
			encode_row(it);
		}
		/* Every record is a valid row or a rejected one, unless a
		 * corrupt stream ended the file. */
		assert(r == -1 || intake_rows_read(it) == valid + intake_rows_rejected(it));
		assert(r != -1 || err.code != ETL_OK);
	}
	if (it) {
		char rej[sizeof reject_dir + 32];
		(void)snprintf(rej, sizeof rej, "%s/%d.rejects.csv", reject_dir, fd);
		(void)intake_close(it, &err);
		(void)unlink(rej);
	}
	close(fd);
	return 0;
}
