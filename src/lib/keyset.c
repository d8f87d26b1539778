/*
 * keyset.c — open addressing with linear probing over an entry vector; the
 * key bytes live in one growing arena.
 */
#include "keyset.h"

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

struct entry {
	uint64_t hash;
	uint64_t off; /* key bytes in the arena */
	uint32_t len;
	int64_t payload[2];
};

struct keyset {
	struct entry *entries;
	size_t count, cap;
	uint32_t *slots; /* entry index + 1; 0 is empty */
	size_t nslots;   /* a power of two */
	char *arena;
	size_t arena_len, arena_cap;
	bool failed;
};

static uint64_t seed;

static uint64_t
mix(uint64_t h)
{
	h ^= h >> 31;
	h *= 0x94d049bb133111ebULL;
	h ^= h >> 29;
	return h;
}

uint64_t
keyset_hash(const void *key, size_t n)
{
	if (seed == 0) {
		uint64_t s = 0;
		if (getrandom(&s, sizeof s, GRND_NONBLOCK) != (ssize_t)sizeof s)
			s = (uint64_t)(uintptr_t)&seed;
		seed = s | 1;
	}
	const unsigned char *p = key;
	uint64_t h = seed ^ (n * 0x9E3779B97F4A7C15ULL);
	while (n >= 8) {
		uint64_t k;
		memcpy(&k, p, 8);
		h ^= k * 0xbf58476d1ce4e5b9ULL;
		h = ((h << 27) | (h >> 37)) * 0x94d049bb133111ebULL;
		p += 8;
		n -= 8;
	}
	uint64_t k = 0;
	memcpy(&k, p, n);
	h ^= k * 0xbf58476d1ce4e5b9ULL;
	return mix(h);
}

struct keyset *
keyset_new(void)
{
	struct keyset *ks = calloc(1, sizeof *ks);
	if (ks == NULL)
		return NULL;
	ks->nslots = 1024;
	ks->slots = calloc(ks->nslots, sizeof *ks->slots);
	if (ks->slots == NULL) {
		free(ks);
		return NULL;
	}
	return ks;
}

void
keyset_free(struct keyset *ks)
{
	if (ks == NULL)
		return;
	free(ks->entries);
	free(ks->slots);
	free(ks->arena);
	free(ks);
}

static bool
grow_slots(struct keyset *ks)
{
	size_t n = ks->nslots * 2;
	uint32_t *slots = calloc(n, sizeof *slots);
	if (slots == NULL)
		return false;
	for (size_t i = 0; i < ks->count; i++) {
		size_t s = ks->entries[i].hash & (n - 1);
		while (slots[s] != 0)
			s = (s + 1) & (n - 1);
		slots[s] = (uint32_t)(i + 1);
	}
	free(ks->slots);
	ks->slots = slots;
	ks->nslots = n;
	return true;
}

int64_t *
keyset_find(struct keyset *ks, const void *key, size_t n, bool add, bool *added)
{
	return keyset_find_index(ks, key, n, add, added, NULL);
}

int64_t *
keyset_find_index(struct keyset *ks, const void *key, size_t n, bool add, bool *added,
                  size_t *index)
{
	if (added != NULL)
		*added = false;
	uint64_t h = keyset_hash(key, n);
	size_t mask = ks->nslots - 1;
	size_t s = h & mask;
	for (; ks->slots[s] != 0; s = (s + 1) & mask) {
		struct entry *e = &ks->entries[ks->slots[s] - 1];
		if (e->hash == h && e->len == n && memcmp(ks->arena + e->off, key, n) == 0) {
			if (index != NULL)
				*index = ks->slots[s] - 1;
			return e->payload;
		}
	}
	if (!add)
		return NULL;
	/* Keep an empty slot, so that a probe always ends. */
	if (n > UINT32_MAX || ks->count >= UINT32_MAX - 1 || ks->count + 2 >= ks->nslots)
		goto nomem;
	if (ks->count == ks->cap) {
		size_t cap = ks->cap ? ks->cap * 2 : 256;
		struct entry *e = realloc(ks->entries, cap * sizeof *e);
		if (e == NULL)
			goto nomem;
		ks->entries = e;
		ks->cap = cap;
	}
	if (ks->arena_len + n > ks->arena_cap) {
		size_t cap = ks->arena_cap ? ks->arena_cap * 2 : 4096;
		while (cap < ks->arena_len + n)
			cap *= 2;
		char *a = realloc(ks->arena, cap);
		if (a == NULL)
			goto nomem;
		ks->arena = a;
		ks->arena_cap = cap;
	}
	struct entry *e = &ks->entries[ks->count];
	e->hash = h;
	e->off = ks->arena_len;
	e->len = (uint32_t)n;
	e->payload[0] = e->payload[1] = 0;
	if (n > 0)
		memcpy(ks->arena + ks->arena_len, key, n);
	ks->arena_len += n;
	ks->slots[s] = (uint32_t)(++ks->count);
	/* If growing fails the key is still in; the table is just fuller
	 * than it should be, and a later insert fails when it is full. */
	if (ks->count * 10 > ks->nslots * 7)
		(void)grow_slots(ks);
	if (added != NULL)
		*added = true;
	if (index != NULL)
		*index = ks->count - 1;
	return e->payload;
nomem:
	ks->failed = true;
	return NULL;
}

size_t
keyset_count(const struct keyset *ks)
{
	return ks->count;
}

bool
keyset_failed(const struct keyset *ks)
{
	return ks->failed;
}

bool
keyset_next(const struct keyset *ks, size_t *it, const char **key, size_t *n, int64_t **payload)
{
	if (*it >= ks->count)
		return false;
	struct entry *e = &ks->entries[*it];
	*key = ks->arena + e->off;
	*n = e->len;
	*payload = e->payload;
	(*it)++;
	return true;
}

void
keyset_at(const struct keyset *ks, size_t i, const char **key, size_t *n, int64_t **payload)
{
	struct entry *e = &ks->entries[i];
	*key = ks->arena + e->off;
	*n = e->len;
	*payload = e->payload;
}

size_t
keyset_memory(const struct keyset *ks)
{
	return ks->cap * sizeof *ks->entries + ks->nslots * sizeof *ks->slots + ks->arena_cap;
}
