/*
 * fuzz_fingerprint.c — libFuzzer target, differential: the content
 * fingerprint of one input by the fast tokenizer (fingerprint.c) and by
 * libcsv, on the same bytes.  Where the fast tokenizer takes the file (it
 * says the file is regular), both must give the same fingerprint, the same
 * record count and the same prefix fingerprint; where it does not, the
 * fingerprint is libcsv's all the same.  Either way both end alike (a bad
 * gzip stream or encoding fails both).
 *
 * The first byte chooses how the rest is read: bits 0-1 the encoding, bit 2
 * the delimiter (',' or ';'), bit 3 a file without a header (--columns),
 * bits 4-7 the prefix asked for (the first 0-15 data records).
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "intake.h"
#include "valid.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct validator *validator;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum input_encoding encs[] = {ENC_UTF8, ENC_LATIN1, ENC_WINDOWS1252, ENC_UTF8};
	struct etl_error err;
	if (validator == NULL) {
		struct valid_opts vo = {.fixed_today = true, .today = 8700};
		if (valid_open(&validator, &vo, &err) != ETL_OK)
			abort();
	}
	if (size < 1)
		return 0;
	uint8_t sel = data[0];
	data++, size--;
	int fd = memfd_create("fuzz", 0);
	if (fd < 0 || (size > 0 && write(fd, data, size) != (ssize_t)size))
		abort();
	char spec[64];
	(void)snprintf(spec, sizeof spec, "/proc/self/fd/%d", fd); /* the kind from the header */
	static const struct colmap_opts headerless = {
	        .columns = {"transaction_date", "sku", "-", "quantity_sold", "price_per_unit"},
	        .ncolumns = 5,
	};
	struct file_format format = {
	        .enc = encs[sel & 3],
	        .delim = (sel & 4) ? ';' : ',',
	        .cm = (sel & 8) ? &headerless : NULL,
	};
	struct intake_opts o = {
	        .format = &format,
	        .v = validator,
	        .max_rejects = -1,
	};
	struct intake *it = NULL;
	struct file_spec fs = intake_spec(spec);
	if (intake_open(&it, &fs, &o, &err) == ETL_OK) {
		struct intake_print fast, slow;
		bool regular = false;
		int64_t at = sel >> 4;
		struct etl_error e1, e2;
		intake_fingerprint_ways(it, at, &fast, &regular, &e1, &slow, &e2);
		assert(e1.code == e2.code);
		if (e1.code == ETL_OK) {
			assert(strcmp(fast.content, slow.content) == 0);
			assert(fast.records == slow.records);
			assert(strcmp(fast.prefix, slow.prefix) == 0);
			assert(strcmp(fast.less, slow.less) == 0);
			assert(fast.cut == slow.cut);
			assert(strcmp(fast.bytes, slow.bytes) == 0 && fast.size == slow.size);
		}
	}
	(void)intake_close(it, &err);
	close(fd);
	return 0;
}
