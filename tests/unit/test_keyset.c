/*
 * test_keyset.c — the key map: lookups, payloads, binary keys, a million
 * keys, iteration order; the bound on what all sets hold; the index over
 * keys kept elsewhere.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "keyset.h"

static void
test_basic(void **state)
{
	(void)state;
	struct keyset *ks = keyset_new();
	bool added;
	int64_t *p = keyset_find(ks, "BRD-001", 7, true, &added);
	assert_true(added);
	p[0] = 12;
	assert_null(keyset_find(ks, "BRD-002", 7, false, &added));
	assert_false(added);
	p = keyset_find(ks, "BRD-001", 7, true, &added);
	assert_false(added);
	assert_int_equal(p[0], 12);
	/* Keys are bytes: NUL inside, the empty key, a prefix. */
	assert_non_null(keyset_find(ks, "a\0b", 3, true, &added));
	assert_true(added);
	assert_null(keyset_find(ks, "a\0c", 3, false, NULL));
	assert_non_null(keyset_find(ks, "", 0, true, &added));
	assert_true(added);
	assert_null(keyset_find(ks, "BRD-00", 6, false, NULL));
	assert_int_equal(keyset_count(ks), 3);
	keyset_free(ks);
	keyset_free(NULL);
}

static void
test_many(void **state)
{
	(void)state;
	struct keyset *ks = keyset_new();
	char key[32];
	for (int i = 0; i < 1000000; i++) {
		int n = snprintf(key, sizeof key, "SKU-%07d", i);
		int64_t *p = keyset_find(ks, key, (size_t)n, true, NULL);
		assert_non_null(p);
		p[0] = i;
		p[1] = -i;
	}
	assert_int_equal(keyset_count(ks), 1000000);
	assert_false(keyset_failed(ks));
	for (int i = 0; i < 1000000; i += 7) {
		int n = snprintf(key, sizeof key, "SKU-%07d", i);
		int64_t *p = keyset_find(ks, key, (size_t)n, false, NULL);
		assert_non_null(p);
		assert_int_equal(p[0], i);
		assert_int_equal(p[1], -i);
	}
	size_t it = 0, count = 0, n;
	const char *k;
	int64_t *p;
	while (keyset_next(ks, &it, &k, &n, &p)) {
		assert_int_equal(p[0], (int64_t)count);
		count++;
	}
	assert_int_equal(count, 1000000);
	keyset_free(ks);
}

/* Past the bound an insertion fails, as out of memory, and says why; what
 * a freed set held is given back. */
static void
test_bound(void **state)
{
	(void)state;
	size_t was = keyset_bound();
	keyset_set_bound((size_t)4 << 20);
	assert_false(keyset_bound_hit());
	struct keyset *ks = keyset_new();
	char key[80];
	int i, n = 0;
	for (i = 0; i < 1000000; i++) {
		n = snprintf(key, sizeof key, "SKU-%058d", i);
		if (keyset_find(ks, key, (size_t)n, true, NULL) == NULL)
			break;
	}
	/* ~110 bytes a key: tens of thousands fit in 4 MiB, not a million. */
	assert_true(i > 20000 && i < 60000);
	assert_true(keyset_failed(ks));
	assert_true(keyset_bound_hit());
	assert_true(keyset_memory(ks) <= (size_t)4 << 20);
	/* The keys in are still found, whole. */
	n = snprintf(key, sizeof key, "SKU-%058d", i - 1);
	assert_non_null(keyset_find(ks, key, (size_t)n, false, NULL));
	assert_false(keyset_charge(0, (size_t)1 << 20));
	char text[32];
	keyset_bound_text(text, sizeof text);
	assert_string_equal(text, "4 MiB");
	keyset_free(ks);
	/* Freed: another set has the room again. */
	assert_true(keyset_charge(0, (size_t)3 << 20));
	assert_true(keyset_charge((size_t)3 << 20, 0));
	keyset_set_bound(0);
	assert_true(keyset_charge(0, (size_t)1 << 40));
	assert_true(keyset_charge((size_t)1 << 40, 0));
	keyset_set_bound(was);
}

/* The index: numbers under hashes, the caller telling which is meant. */
struct words {
	const char *const *w;
	const char *want;
};

static bool
same_word(void *ctx, uint32_t i)
{
	struct words *ws = ctx;
	return strcmp(ws->w[i], ws->want) == 0;
}

static void
test_index(void **state)
{
	(void)state;
	struct keyindex *ki = keyindex_new();
	assert_non_null(ki);
	static char store[200000][12];
	static const char *w[200000];
	for (uint32_t i = 0; i < 200000; i++) {
		(void)snprintf(store[i], sizeof store[i], "w%u", i);
		w[i] = store[i];
		assert_true(keyindex_add(ki, keyset_hash(w[i], strlen(w[i])), i));
	}
	struct words ws = {.w = w};
	for (uint32_t i = 0; i < 200000; i += 3) {
		ws.want = w[i];
		assert_int_equal(keyindex_find(ki, keyset_hash(w[i], strlen(w[i])), same_word, &ws),
		                 i);
	}
	ws.want = "absent";
	assert_int_equal(keyindex_find(ki, keyset_hash("absent", 6), same_word, &ws), -1);
	/* Two numbers under one hash: the caller's answer decides. */
	assert_true(keyindex_add(ki, keyset_hash("w7", 2), 9));
	ws.want = "w9";
	assert_int_equal(keyindex_find(ki, keyset_hash("w7", 2), same_word, &ws), 9);
	ws.want = "w7";
	assert_int_equal(keyindex_find(ki, keyset_hash("w7", 2), same_word, &ws), 7);
	keyindex_free(ki);
	keyindex_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_basic),
	        cmocka_unit_test(test_many),
	        cmocka_unit_test(test_bound),
	        cmocka_unit_test(test_index),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
