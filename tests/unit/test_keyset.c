/*
 * test_keyset.c — the key map: lookups, payloads, binary keys, a million
 * keys, iteration order.
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_basic),
	        cmocka_unit_test(test_many),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
