/*
 * pwhash.c — werkzeug-compatible PBKDF2 hashes with OpenSSL.
 */
#include "pwhash.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

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

size_t
pwhash_len(unsigned iterations)
{
	char digits[16];
	int k = snprintf(digits, sizeof digits, "%u", iterations ? iterations : PWHASH_ITERATIONS);
	/* "pbkdf2:sha256:" count "$" salt(16) "$" hex(64) */
	return 14 + (size_t)k + 1 + 16 + 1 + 64;
}

int
pwhash_cores(void)
{
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
		return CPU_COUNT(&set);
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (int)n : 1;
}

struct worker {
	struct pwhash_task *tasks;
	size_t n;
	int k, of;
	bool failed;
	char why[200];
};

static void *
work(void *arg)
{
	struct worker *w = arg;
	size_t len = pwhash_len(0);
	for (size_t i = (size_t)w->k; i < w->n && !w->failed; i += (size_t)w->of) {
		char hash[PWHASH_LEN];
		struct etl_error e = {0};
		if (pwhash_make(w->tasks[i].pw, w->tasks[i].n, 0, hash, &e) != ETL_OK) {
			w->failed = true;
			(void)snprintf(w->why, sizeof w->why, "%.150s", e.msg);
			break;
		}
		memcpy(w->tasks[i].out, hash, len);
		OPENSSL_cleanse(hash, sizeof hash);
		w->tasks[i].worker = w->k;
	}
	return NULL;
}

enum etl_code
pwhash_many(struct pwhash_task *tasks, size_t n, int workers, struct etl_error *err)
{
	if (n == 0)
		return ETL_OK;
	if (workers <= 0)
		workers = pwhash_cores();
	if ((size_t)workers > n)
		workers = (int)n;
	struct worker w[64];
	pthread_t th[64];
	if (workers > 64)
		workers = 64;
	int started = 1; /* worker 0 is this thread */
	for (int k = 0; k < workers; k++)
		w[k] = (struct worker){.tasks = tasks, .n = n, .k = k, .of = workers};
	while (started < workers && pthread_create(&th[started], NULL, work, &w[started]) == 0)
		started++;
	/* A thread that could not be made: this one takes its share too. */
	for (int k = started; k < workers; k++)
		(void)work(&w[k]);
	(void)work(&w[0]);
	for (int k = 1; k < started; k++)
		pthread_join(th[k], NULL);
	for (int k = 0; k < workers; k++)
		if (w[k].failed)
			return error_set(err, ETL_ESYSTEM, NULL, 0, "%s", w[k].why);
	return ETL_OK;
}
