/*
 * test_pwhash.c — werkzeug hashes, their length, and many of them on
 * several threads (each hash verifiable, each worker taking its share).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pwhash.h"

/* Whether hash (len bytes) is werkzeug's pbkdf2:sha256 of pw. */
static bool
verifies(const char *hash, size_t len, const char *pw)
{
	char h[PWHASH_LEN];
	assert_true(len < sizeof h);
	memcpy(h, hash, len);
	h[len] = '\0';
	unsigned iters;
	char salt[17], hex[65];
	if (sscanf(h, "pbkdf2:sha256:%u$%16[A-Za-z0-9]$%64[0-9a-f]", &iters, salt, hex) != 3)
		return false;
	unsigned char dk[32];
	assert_int_equal(PKCS5_PBKDF2_HMAC(pw, (int)strlen(pw), (unsigned char *)salt, 16,
	                                   (int)iters, EVP_sha256(), sizeof dk, dk),
	                 1);
	char want[65];
	for (int i = 0; i < 32; i++)
		(void)snprintf(want + 2 * i, 3, "%02x", dk[i]);
	return strcmp(want, hex) == 0;
}

static void
test_len(void **state)
{
	(void)state;
	struct etl_error err = {0};
	char h[PWHASH_LEN];
	assert_int_equal(pwhash_make("x", 1, 0, h, &err), ETL_OK);
	assert_int_equal(strlen(h), pwhash_len(0));
	assert_int_equal(pwhash_len(0), 102);
	assert_int_equal(pwhash_make("a longer password, with a comma", 31, 1000, h, &err), ETL_OK);
	assert_int_equal(strlen(h), pwhash_len(1000));
	assert_true(verifies(h, strlen(h), "a longer password, with a comma"));
}

static void
test_many(void **state)
{
	(void)state;
	enum { N = 7 };
	size_t len = pwhash_len(0);
	char pw[N][16];
	char *out = malloc(N * len + 1);
	assert_non_null(out);
	memset(out, '!', N * len);
	out[N * len] = '#'; /* nothing is written past the last hash */
	struct pwhash_task t[N];
	for (int i = 0; i < N; i++) {
		(void)snprintf(pw[i], sizeof pw[i], "pw-%d", i);
		t[i] = (struct pwhash_task){
		        .pw = pw[i], .n = strlen(pw[i]), .out = out + i * len, .worker = -1};
	}
	struct etl_error err = {0};
	assert_int_equal(pwhash_many(t, N, 3, &err), ETL_OK);
	for (int i = 0; i < N; i++) {
		assert_true(verifies(out + i * len, len, pw[i]));
		/* Worker k takes tasks k, k + 3, …: all three worked. */
		assert_int_equal(t[i].worker, i % 3);
	}
	assert_int_equal(out[N * len], '#');
	/* Every salt is new. */
	assert_memory_not_equal(out + 14 + 7, out + len + 14 + 7, 16);

	/* More workers than tasks: one each; 0 workers: one per core. */
	assert_int_equal(pwhash_many(t, 2, 16, &err), ETL_OK);
	assert_int_equal(t[0].worker, 0);
	assert_int_equal(t[1].worker, 1);
	assert_int_equal(pwhash_many(t, N, 0, &err), ETL_OK);
	int cores = pwhash_cores();
	assert_true(cores >= 1);
	for (int i = 0; i < N; i++) {
		assert_int_equal(t[i].worker, i % (cores < N ? cores : N));
		assert_true(verifies(out + i * len, len, pw[i]));
	}
	assert_int_equal(pwhash_many(t, 0, 0, &err), ETL_OK);
	free(out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_len),
	        cmocka_unit_test(test_many),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
