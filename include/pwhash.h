/*
 * pwhash.h — plaintext passwords as werkzeug-compatible hashes.
 *
 * "pbkdf2:sha256:600000$<salt>$<hex>": PBKDF2-HMAC-SHA256 from OpenSSL's
 * libcrypto, 600000 iterations (werkzeug's own default for pbkdf2), a
 * 16-character salt of letters and digits as werkzeug's gen_salt() makes,
 * so the app's check_password_hash() verifies it.
 */
#ifndef SIPREMS_PWHASH_H
#define SIPREMS_PWHASH_H

#include <stddef.h>

#include "error.h"

#define PWHASH_ITERATIONS 600000
#define PWHASH_LEN        128 /* room for the hash and its NUL */

/*
 * Hashes the n bytes of password into out.  iterations 0 means the default.
 * Returns ETL_OK, or ETL_ESYSTEM when no random salt can be had.
 */
enum etl_code pwhash_make(const char *password, size_t n, unsigned iterations, char out[PWHASH_LEN],
                          struct etl_error *err);

/* The same with a given 16-character salt (for deterministic data sets). */
enum etl_code pwhash_make_salted(const char *password, size_t n, unsigned iterations,
                                 const char salt[17], char out[PWHASH_LEN], struct etl_error *err);

/* Writes n random letters and digits into out (and a NUL); false when the
 * system has no randomness to give. */
int pwhash_random_word(char *out, size_t n);

/* The length of a hash made with iterations (0: the default), without its
 * NUL: every hash of a count has the same. */
size_t pwhash_len(unsigned iterations);

/* One password of many: the n bytes at pw, hashed with the default count
 * into out[0, pwhash_len(0)) (no NUL). */
struct pwhash_task {
	const char *pw;
	size_t n;
	char *out;
	int worker; /* set: which of the workers hashed it */
};

/* The cores this process may run on (at least 1). */
int pwhash_cores(void);

/*
 * Hashes tasks[0, n) on workers threads at once (0: one per core; never
 * more than n), worker k taking the tasks k, k + workers, …: at 0.2 s of
 * one core a hash, the cores are the load's speed.  Returns ETL_OK, or
 * ETL_ESYSTEM (no thread, no random salt): then no out is to be used.
 */
enum etl_code pwhash_many(struct pwhash_task *tasks, size_t n, int workers, struct etl_error *err);

#endif
