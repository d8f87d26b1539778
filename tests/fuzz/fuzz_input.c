/*
 * fuzz_input.c — libFuzzer target: the byte stage (gzip detection and
 * decoding, multi-member streams, iconv, the BOM) and the fingerprint.
 *
 * The first byte chooses the encoding (bits 0-2: the 8-bit ones, UTF-16 and
 * UTF-32 by BOM or byte order) and the read size (bits 3-7: 4 to 252 bytes,
 * so that chunk boundaries fall everywhere, inside characters too).  What must
 * hold: no crash, no leak; a read never returns more than asked; an error
 * sticks; and the verifying fingerprint fails exactly when reading fails,
 * so that a bad gzip is always found before anything is loaded.
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum input_encoding encs[] = {ENC_UTF8,  ENC_LATIN1,  ENC_WINDOWS1252,
	                                           ENC_UTF16, ENC_UTF16LE, ENC_UTF16BE,
	                                           ENC_UTF32, ENC_UTF32LE};
	if (size < 1)
		return 0;
	uint8_t sel = data[0];
	data++, size--;
	size_t chunk = 4 + (size_t)(sel >> 3) * 8;

	int fd = memfd_create("fuzz", 0);
	if (fd < 0 || (size > 0 && write(fd, data, size) != (ssize_t)size))
		abort();
	char path[64];
	(void)snprintf(path, sizeof path, "/proc/self/fd/%d", fd);

	struct etl_error err;
	struct input *in = NULL;
	bool read_failed = false;
	if (input_open(&in, path, encs[sel & 7], &err) != ETL_OK)
		abort(); /* a readable memfd always opens */
	if (input_hash_raw(in, &err) != ETL_OK)
		abort();
	char buf[260];
	for (;;) {
		ssize_t n = input_read(in, buf, chunk, &err);
		assert(n >= -1 && n <= (ssize_t)chunk);
		if (n == 0)
			break;
		if (n < 0) {
			read_failed = true;
			assert(err.code == ETL_EINPUT);
			assert(input_read(in, buf, chunk, &err) == -1); /* it sticks */
			break;
		}
	}
	assert(input_raw_bytes(in) <= size);
	/* A stream read to its end has its byte fingerprint over every byte. */
	if (!read_failed) {
		char hex[65];
		int64_t fsize = -1;
		enum etl_code fc = input_raw_sha256(in, hex, &fsize, &err);
		assert(fc == ETL_OK);
		assert(fsize == (int64_t)size && strlen(hex) == 64);
	}
	input_close(in);
	close(fd);
	return 0;
}
