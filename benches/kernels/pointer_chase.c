/*
 * pointer_chase.c - follows a random cyclic permutation around an array.
 *
 * Builds a single random cycle over n uint32 slots with Sattolo's
 * algorithm, then walks it: every load address depends on the previous
 * load, so the walk is bound by memory latency (up to 64 MiB, far beyond
 * the caches).  Measures the cost the JIT adds to a dependent load chain:
 * index-to-address arithmetic and bounds-check strategy.
 *
 * Size n: number of slots (and of steps: one full lap), clamped to
 * [2, MAX_N].
 * Self-check: the walk returns to slot 0 after exactly n steps and not
 * before (the permutation is one cycle).
 */
#include "kernel.h"

#define MAX_N (16u << 20) /* 64 MiB of uint32 */

static uint32_t next[MAX_N];

EXPORT(run) uint64_t run(uint32_t n) {
    n = clamp_u32(n, 2, MAX_N);

    /* Sattolo's algorithm: a uniformly random permutation with one cycle. */
    for (uint32_t i = 0; i < n; i++)
        next[i] = i;
    rng_t rng = rng_new(0x636861736521ULL);
    for (uint32_t i = n - 1; i > 0; i--) {
        uint32_t j = rng_below(&rng, i); /* j < i, never i itself */
        uint32_t t = next[i];
        next[i] = next[j];
        next[j] = t;
    }

    /* The chase: p = next[p], n times. */
    uint32_t p = 0;
    uint64_t h = HASH_INIT;
    for (uint32_t step = 1; step <= n; step++) {
        p = next[p];
        if (p == 0 && step != n)
            return KERNEL_FAIL(1);
        h = hash_add(h, p);
    }
    if (p != 0)
        return KERNEL_FAIL(2);
    return mix64(h);
}

/* 2.5 Mi slots = 10 MiB: well past L2; see README.md for the size choice. */
EXPORT(full_n) uint32_t full_n(void) { return 2621440; }
EXPORT(smoke_n) uint32_t smoke_n(void) { return 8192; }
