/*
 * hashtable.c - open-addressing hash table (linear probing, uint64 keys).
 *
 * Inserts n pseudo-random keys (about a third are repeats, which update
 * the stored value) into a table with capacity >= 2n, then performs n
 * lookups of which about a third hit.  Measures 64-bit multiply hashing,
 * short probe loops with unpredictable exits and cache misses into a table
 * of up to 48 MiB.
 *
 * Size n: number of inserts (and of lookups), clamped to [1, MAX_N].
 * Self-check: the number of occupied slots equals the number of distinct
 * inserted keys, and every lookup that hits finds a valid value.
 */
#include "kernel.h"

#define MAX_N (2u << 20)
#define MAX_CAP (2 * MAX_N) /* power of two */
#define EMPTY 0             /* key value marking an empty slot */

static uint64_t keys[MAX_CAP];
static uint32_t vals[MAX_CAP];

/* Fibonacci hashing: the top `bits` bits of key * 2^64/phi. */
static inline uint32_t slot_of(uint64_t key, uint32_t bits) {
    return (uint32_t)((key * UINT64_C(0x9e3779b97f4a7c15)) >> (64 - bits));
}

/* Key number k of the key space, never EMPTY. */
static inline uint64_t make_key(uint32_t k) {
    uint64_t key = mix64((uint64_t)k + 1);
    return key == EMPTY ? 1 : key;
}

/* Inserts or updates; returns 1 if the key was new. */
static int insert(uint64_t key, uint32_t val, uint32_t bits) {
    uint32_t mask = (1u << bits) - 1;
    for (uint32_t s = slot_of(key, bits);; s = (s + 1) & mask) {
        if (keys[s] == key) {
            vals[s] += val;
            return 0;
        }
        if (keys[s] == EMPTY) {
            keys[s] = key;
            vals[s] = val;
            return 1;
        }
    }
}

/* Returns a pointer to the value for key, or NULL when absent. */
static uint32_t *lookup(uint64_t key, uint32_t bits) {
    uint32_t mask = (1u << bits) - 1;
    for (uint32_t s = slot_of(key, bits);; s = (s + 1) & mask) {
        if (keys[s] == key)
            return &vals[s];
        if (keys[s] == EMPTY)
            return NULL;
    }
}

EXPORT(run) uint64_t run(uint32_t n) {
    n = clamp_u32(n, 1, MAX_N);
    uint32_t bits = 1;
    while ((1u << bits) < 2 * n)
        bits++;
    uint32_t cap = 1u << bits;
    __builtin_memset(keys, 0, cap * sizeof keys[0]);
    __builtin_memset(vals, 0, cap * sizeof vals[0]);

    /* Drawing n keys from a space of n yields ~63% distinct keys (1 - 1/e). */
    uint32_t space = n;
    rng_t rng = rng_new(0x686173687462ULL);
    uint32_t distinct = 0;
    for (uint32_t i = 0; i < n; i++)
        distinct += insert(make_key(rng_below(&rng, space)), i + 1, bits);

    /* Lookups over twice the key space: ~0.63n / 2n, about 1/3, hit. */
    uint64_t found = 0, h = HASH_INIT;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t *v = lookup(make_key(rng_below(&rng, 2 * space)), bits);
        if (v) {
            if (*v == 0)
                return KERNEL_FAIL(1);
            found++;
            h = hash_add(h, *v);
        }
    }

    uint32_t occupied = 0;
    for (uint32_t s = 0; s < cap; s++)
        occupied += keys[s] != EMPTY;
    if (occupied != distinct)
        return KERNEL_FAIL(2);
    return mix64(h ^ ((uint64_t)found << 32) ^ distinct);
}

EXPORT(full_n) uint32_t full_n(void) { return 2u << 20; }
EXPORT(smoke_n) uint32_t smoke_n(void) { return 10000; }
