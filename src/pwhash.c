/*
 * pwhash.c — werkzeug-compatible PBKDF2 hashes with OpenSSL.
 */
#include "pwhash.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>

static const char word_chars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

int
pwhash_random_word(char *out, size_t n)
{
	size_t k = 0;
	while (k < n) {
		unsigned char r[64];
		if (RAND_bytes(r, sizeof r) != 1)
			return 0;
		/* 248 = 4 * 62: reject the rest, so every character is equally
		 * likely. */
		for (size_t i = 0; i < sizeof r && k < n; i++)
			if (r[i] < 248)
				out[k++] = word_chars[r[i] % 62];
	}
	out[n] = '\0';
	return 1;
}

enum etl_code
pwhash_make_salted(const char *password, size_t n, unsigned iterations, const char salt[17],
                   char out[PWHASH_LEN], struct etl_error *err)
{
	unsigned char dk[32];
	if (iterations == 0)
		iterations = PWHASH_ITERATIONS;
	if (PKCS5_PBKDF2_HMAC(password, (int)n, (const unsigned char *)salt, (int)strlen(salt),
	                      (int)iterations, EVP_sha256(), sizeof dk, dk) != 1)
		return error_set(err, ETL_ESYSTEM, NULL, 0, "cannot hash a password");
	int k = snprintf(out, PWHASH_LEN, "pbkdf2:sha256:%u$%s$", iterations, salt);
	for (size_t i = 0; i < sizeof dk && k + 2 < PWHASH_LEN; i++)
		k += snprintf(out + k, PWHASH_LEN - (size_t)k, "%02x", dk[i]);
	OPENSSL_cleanse(dk, sizeof dk);
	return ETL_OK;
}

enum etl_code
pwhash_make(const char *password, size_t n, unsigned iterations, char out[PWHASH_LEN],
            struct etl_error *err)
{
	char salt[17];
	if (!pwhash_random_word(salt, 16))
		return error_set(err, ETL_ESYSTEM, NULL, 0, "no random bytes for a password salt");
	return pwhash_make_salted(password, n, iterations, salt, out, err);
}
