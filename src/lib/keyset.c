/*
 * keyset.c — open addressing with linear probing over an entry vector; the
 * key bytes live in one growing arena.  Every byte a set holds is charged to
 * one count for the process, which the key memory bound caps.
 */
#include "keyset.h"

#include <stdatomic.h>
#include <stdio.h>
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

/* What all sets (and the charges of keyset_charge()) hold, and its bound.
 * bound_hit is set only when a refusal fails an insertion (a set that
 * cannot grow its slots, or that doubles and then takes a smaller step,
 * goes on); refused notes a refusal in the thread's current operation. */
static atomic_size_t held;
static size_t bound = KEYSET_DEFAULT_BOUND;
static atomic_bool bound_hit;
static _Thread_local bool refused;

void
keyset_set_bound(size_t bytes)
{
	bound = bytes;
}

size_t
keyset_bound(void)
{
	return bound;
}

bool
keyset_bound_hit(void)
{
	return atomic_load(&bound_hit);
}

static bool
charge(size_t was, size_t now)
{
	if (now <= was) {
		atomic_fetch_sub(&held, was - now);
		return true;
	}
	size_t more = now - was;
	size_t total = atomic_fetch_add(&held, more) + more;
	if (bound != 0 && total > bound) {
		atomic_fetch_sub(&held, more);
		refused = true;
		return false;
	}
	return true;
}

bool
keyset_charge(size_t was, size_t now)
{
	if (charge(was, now))
		return true;
	atomic_store(&bound_hit, true);
	return false;
}

/* An operation failed: by the bound if a charge of it was refused. */
static void
failed_by_bound(void)
{
	if (refused)
		atomic_store(&bound_hit, true);
	refused = false;
}

void
keyset_bound_text(char *out, size_t size)
{
	size_t b = bound;
	if (b % (1024 * 1024) == 0)
		(void)snprintf(out, size, "%zu MiB", b / (1024 * 1024));
	else
		(void)snprintf(out, size, "%zu bytes", b);
}

/* calloc(n, size), charged; NULL past the bound or out of memory. */
static void *
charged_calloc(size_t n, size_t size)
{
	if (!charge(0, n * size))
		return NULL;
	void *p = calloc(n, size);
	if (p == NULL)
		(void)charge(n * size, 0);
	return p;
}

/* Grows a block of *cap bytes (a multiple of unit) to hold need: twice as
 * large while small, a quarter larger past 16 MiB (realloc moves such
 * blocks by remapping, so small steps cost little and waste less of the
 * bound); else, if the bound refuses that, need and an eighth more.  False
 * (nothing changed) when neither fits or realloc fails. */
static bool
grow(void **block, size_t *cap, size_t need, size_t least, size_t unit)
{
	size_t want = *cap ? *cap : least;
	while (want < need || want == *cap)
		want += want < ((size_t)16 << 20) ? want : want / 4;
	want -= want % unit;
	if (want < need || !charge(*cap, want)) {
		want = need + need / 8;
		want += (unit - want % unit) % unit;
		if (!charge(*cap, want))
			return false;
	}
	void *p = realloc(*block, want);
	if (p == NULL) {
		(void)charge(want, *cap);
		return false;
	}
	*block = p;
	*cap = want;
	return true;
}

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
	refused = false;
	struct keyset *ks = calloc(1, sizeof *ks);
	if (ks == NULL)
		return NULL;
	ks->nslots = 1024;
	ks->slots = charged_calloc(ks->nslots, sizeof *ks->slots);
	if (ks->slots == NULL) {
		free(ks);
		failed_by_bound();
		return NULL;
	}
	return ks;
}

void
keyset_free(struct keyset *ks)
{
	if (ks == NULL)
		return;
	(void)charge(keyset_memory(ks), 0);
	free(ks->entries);
	free(ks->slots);
	free(ks->arena);
	free(ks);
}

static bool
grow_slots(struct keyset *ks)
{
	size_t n = ks->nslots * 2;
	uint32_t *slots = charged_calloc(n, sizeof *slots);
	if (slots == NULL)
		return false;
	for (size_t i = 0; i < ks->count; i++) {
		size_t s = ks->entries[i].hash & (n - 1);
		while (slots[s] != 0)
			s = (s + 1) & (n - 1);
		slots[s] = (uint32_t)(i + 1);
	}
	(void)charge(ks->nslots * sizeof *slots, 0);
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
	refused = false;
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
	/* Keep a tenth of the slots empty, so that a probe ends soon (a
	 * table the bound kept from growing fills up to there, and tries
	 * again here). */
	if (ks->count * 10 + 10 >= ks->nslots * 9 && grow_slots(ks)) {
		mask = ks->nslots - 1; /* the key's empty slot in the new table */
		for (s = h & mask; ks->slots[s] != 0; s = (s + 1) & mask)
			;
	}
	if (n > UINT32_MAX || ks->count >= UINT32_MAX - 1 || ks->count * 10 + 10 >= ks->nslots * 9)
		goto nomem;
	if (ks->count == ks->cap) {
		size_t bytes = ks->cap * sizeof *ks->entries;
		void *e = ks->entries;
		if (!grow(&e, &bytes, bytes + sizeof *ks->entries, 256 * sizeof *ks->entries,
		          sizeof *ks->entries))
			goto nomem;
		ks->entries = e;
		ks->cap = bytes / sizeof *ks->entries;
	}
	if (ks->arena_len + n > ks->arena_cap) {
		void *a = ks->arena;
		if (!grow(&a, &ks->arena_cap, ks->arena_len + n, 4096, 1))
			goto nomem;
		ks->arena = a;
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
	failed_by_bound();
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

/* ---- the index over keys kept elsewhere ---------------------------------------- */

struct keyindex {
	struct islot {
		uint32_t hash; /* the hash's high half */
		uint32_t number;
	} * slots;
	size_t count, nslots; /* a power of two; number + 1 == 0 is never stored */
};

struct keyindex *
keyindex_new(void)
{
	refused = false;
	struct keyindex *ki = calloc(1, sizeof *ki);
	if (ki == NULL)
		return NULL;
	ki->nslots = 1024;
	ki->slots = charged_calloc(ki->nslots, sizeof *ki->slots);
	if (ki->slots == NULL) {
		free(ki);
		failed_by_bound();
		return NULL;
	}
	return ki;
}

void
keyindex_free(struct keyindex *ki)
{
	if (ki == NULL)
		return;
	(void)charge(ki->nslots * sizeof *ki->slots, 0);
	free(ki->slots);
	free(ki);
}

/* A slot holds the hash's high half, which places it too (so that the
 * index can grow without the keys), and number + 1, so that a zeroed slot
 * is empty. */
int64_t
keyindex_find(const struct keyindex *ki, uint64_t h, bool (*same)(void *, uint32_t), void *ctx)
{
	uint32_t high = (uint32_t)(h >> 32);
	size_t mask = ki->nslots - 1;
	for (size_t s = high & mask; ki->slots[s].number != 0; s = (s + 1) & mask)
		if (ki->slots[s].hash == high && same(ctx, ki->slots[s].number - 1))
			return ki->slots[s].number - 1;
	return -1;
}

static void
index_put(struct islot *slots, size_t nslots, struct islot in)
{
	size_t s = in.hash & (nslots - 1);
	while (slots[s].number != 0)
		s = (s + 1) & (nslots - 1);
	slots[s] = in;
}

bool
keyindex_add(struct keyindex *ki, uint64_t h, uint32_t number)
{
	if (number == UINT32_MAX || ki->nslots > UINT32_MAX)
		return false;
	if ((ki->count + 1) * 10 > ki->nslots * 7) {
		size_t n = ki->nslots * 2;
		refused = false;
		struct islot *slots = charged_calloc(n, sizeof *slots);
		if (slots == NULL) {
			failed_by_bound();
			return false;
		}
		for (size_t i = 0; i < ki->nslots; i++)
			if (ki->slots[i].number != 0)
				index_put(slots, n, ki->slots[i]);
		(void)charge(ki->nslots * sizeof *slots, 0);
		free(ki->slots);
		ki->slots = slots;
		ki->nslots = n;
	}
	index_put(ki->slots, ki->nslots, (struct islot){(uint32_t)(h >> 32), number + 1});
	ki->count++;
	return true;
}
