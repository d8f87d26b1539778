/*
 * keyset.h — a hash map from byte strings to two 64-bit numbers.
 *
 * Serves the in-run unique-key check (key -> first line), the SKU map
 * (sku -> product id, price) and the pre-check report.  Memory grows with
 * the number of distinct keys only, and what all sets of the process hold
 * together is bounded (keyset_set_bound()): past it an insertion fails as
 * if memory ran out, and keyset_bound_hit() tells the two apart.  The hash
 * is seeded per process, so a crafted file cannot make lookups degrade.
 */
#ifndef SIPREMS_KEYSET_H
#define SIPREMS_KEYSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct keyset;

/* The default bound of what the sets hold together: with what a run needs
 * beside its keys, a command stays within 256 MiB. */
#define KEYSET_DEFAULT_BOUND ((size_t)160 * 1024 * 1024)

/* Sets the bound (bytes; 0: none).  Call before the first set is made. */
void keyset_set_bound(size_t bytes);

/* The bound (0: none). */
size_t keyset_bound(void);

/* True once the bound refused memory to a set (or to keyset_charge()). */
bool keyset_bound_hit(void);

/* The bound as text ("160 MiB") into out. */
void keyset_bound_text(char *out, size_t size);

/*
 * Charges a change of a block kept per distinct key from was to now bytes
 * (the pre-check's kept values): false, nothing charged, when it would pass
 * the bound.  Safe from any thread.
 */
bool keyset_charge(size_t was, size_t now);

/* A new, empty set; NULL when out of memory.  Free with keyset_free(). */
struct keyset *keyset_new(void);

/* Frees ks; ks may be NULL. */
void keyset_free(struct keyset *ks);

/*
 * Looks key (n bytes, may hold any byte) up.  When it is absent and add is
 * true it is inserted with a zeroed payload and *added is set (added may be
 * NULL).  Returns the key's payload (two int64_t, writable, valid until the
 * next insertion), or NULL when absent and not added, or out of memory
 * (then *added is false and keyset_failed() is true).
 */
int64_t *keyset_find(struct keyset *ks, const void *key, size_t n, bool add, bool *added);

/* Like keyset_find(), also giving the key's index (its insertion rank,
 * stable for the life of the set) in *index when a payload is returned. */
int64_t *keyset_find_index(struct keyset *ks, const void *key, size_t n, bool add, bool *added,
                           size_t *index);

/* The key and payload of the key with index i (< keyset_count()). */
void keyset_at(const struct keyset *ks, size_t i, const char **key, size_t *n, int64_t **payload);

/* Bytes the set holds (for tests and reports). */
size_t keyset_memory(const struct keyset *ks);

/* The number of keys. */
size_t keyset_count(const struct keyset *ks);

/* True once an insertion failed for lack of memory. */
bool keyset_failed(const struct keyset *ks);

/*
 * Iterates in insertion order: start with *it = 0; each call returns true
 * and sets key, n and payload, or false after the last key.
 */
bool keyset_next(const struct keyset *ks, size_t *it, const char **key, size_t *n,
                 int64_t **payload);

/* The seeded 64-bit hash the set uses (exposed for tests). */
uint64_t keyset_hash(const void *key, size_t n);

/*
 * A hash index over keys kept elsewhere (the case-variant folds of a set's
 * keys): it holds only a hash and a number per key, and asks the caller
 * whether the key behind a number is the one looked for.  Charged to the
 * bound like a set.
 */
struct keyindex;

/* A new, empty index; NULL when out of memory or past the bound. */
struct keyindex *keyindex_new(void);

/* Frees ki; ki may be NULL. */
void keyindex_free(struct keyindex *ki);

/* The first number added under hash h for which same(ctx, number) is
 * true, or -1. */
int64_t keyindex_find(const struct keyindex *ki, uint64_t h, bool (*same)(void *, uint32_t),
                      void *ctx);

/* Adds number under hash h; false out of memory or past the bound. */
bool keyindex_add(struct keyindex *ki, uint64_t h, uint32_t number);

#endif
