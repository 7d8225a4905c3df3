/*
 * sieve.c - sieve of Eratosthenes over [0, n) with one byte per number.
 *
 * Measures byte stores with a large, non-unit stride (the crossing-off loop)
 * followed by a sequential byte scan: simple integer loops whose speed
 * depends on the JIT's address arithmetic, bounds-check elimination and
 * loop code quality, plus cache behaviour once the table outgrows L2.
 *
 * Size n: sieve limit, clamped to [2, MAX_LIMIT].
 * Self-check: prime counts at known points (pi(100) = 25, pi(10^6) = 78498).
 */
#include "kernel.h"

#define MAX_LIMIT (64u << 20)

static uint8_t composite[MAX_LIMIT];

EXPORT(run) uint64_t run(uint32_t n) {
    uint32_t limit = clamp_u32(n, 2, MAX_LIMIT);

    /* Zero the table (lowers to memory.fill with -mbulk-memory). */
    __builtin_memset(composite, 0, limit);

    for (uint32_t i = 2; i * i < limit; i++) {
        if (composite[i])
            continue;
        for (uint32_t j = i * i; j < limit; j += i)
            composite[j] = 1;
    }

    /* Count the primes and fold them all into the checksum. */
    uint64_t count = 0, sum = 0, h = HASH_INIT;
    uint64_t pi_100 = 0, pi_1m = 0;
    for (uint32_t i = 2; i < limit; i++) {
        if (!composite[i]) {
            count++;
            sum += i;
            h = hash_add(h, i);
        }
        if (i == 99)
            pi_100 = count;
        if (i == 999999)
            pi_1m = count;
    }

    if (limit > 100 && pi_100 != 25)
        return KERNEL_FAIL(1);
    if (limit > 1000000 && pi_1m != 78498)
        return KERNEL_FAIL(2);
    return mix64(h ^ (count << 32) ^ sum);
}

EXPORT(full_n) uint32_t full_n(void) { return 36u << 20; }
EXPORT(smoke_n) uint32_t smoke_n(void) { return 100000; }
