/*
 * random_access.c - random read-modify-write updates over a large table
 * (in the style of the HPC "GUPS" benchmark).
 *
 * A table of 2^k uint64 words (up to 64 MiB) receives UPDATES_PER_SLOT
 * updates per slot at pseudo-random positions: t[(x >> 32) & mask] ^= x.  The
 * updates are independent, so unlike pointer_chase.c the CPU can overlap
 * many cache misses; this measures memory throughput for scattered
 * accesses and the overhead of the JIT's bounds checks on stores.
 *
 * Size n: table slots, rounded down to a power of two and clamped to
 * [1024, MAX_SLOTS].
 * Self-check: xor is linear, so the xor of the final table must equal the
 * xor of the initial table and of every update value.
 */
#include "kernel.h"

#define MAX_SLOTS (8u << 20) /* 64 MiB of uint64 */
#define UPDATES_PER_SLOT 1

static uint64_t table[MAX_SLOTS];

EXPORT(run) uint64_t run(uint32_t n) {
    n = clamp_u32(n, 1024, MAX_SLOTS);
    uint32_t slots = 1024;
    while (slots * 2 <= n)
        slots *= 2;
    uint32_t mask = slots - 1;

    uint64_t expect = 0;
    for (uint32_t i = 0; i < slots; i++) {
        table[i] = i;
        expect ^= i;
    }

    rng_t rng = rng_new(0x67757073ULL);
    uint32_t updates = slots * UPDATES_PER_SLOT;
    for (uint32_t i = 0; i < updates; i++) {
        uint64_t x = rng_u64(&rng);
        table[(uint32_t)(x >> 32) & mask] ^= x; /* high bits are the best */
        expect ^= x;
    }

    uint64_t got = 0, h = HASH_INIT;
    for (uint32_t i = 0; i < slots; i++) {
        got ^= table[i];
        h = hash_add(h, table[i]);
    }
    if (got != expect)
        return KERNEL_FAIL(1);
    return mix64(h);
}

EXPORT(full_n) uint32_t full_n(void) { return MAX_SLOTS; }
EXPORT(smoke_n) uint32_t smoke_n(void) { return 16384; }
