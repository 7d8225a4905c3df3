/*
 * bytecopy.c - byte-by-byte copying versus bulk memcpy.
 *
 * Two 2 MiB buffers; each round does two phases at pseudo-random
 * (unaligned) offsets:
 *   1. a byte loop copying BYTE_LEN bytes, one load and one store per byte.
 *      The accesses go through volatile pointers so clang can neither
 *      vectorise the loop nor turn it into a memcpy: this measures how well
 *      the JIT compiles a plain i32.load8_u / i32.store8 loop.
 *   2. BLOCKS calls of __builtin_memcpy on BLOCK_LEN-byte blocks, alternating
 *      direction between the buffers.  With -mbulk-memory each call becomes
 *      a single `memory.copy` instruction, so this measures the runtime's
 *      bulk-copy implementation against native memcpy.
 * The checksum samples every copied block and hashes both buffers at the
 * end, so no copy can be dropped.
 *
 * Size n: number of rounds (>= 1).
 */
#include "kernel.h"

#define BUF_LEN (2u << 20)
#define BYTE_LEN (256u << 10)
#define BLOCK_LEN (256u << 10)
#define BLOCKS 8

/* Declared as words for alignment and fast hashing; used as bytes. */
static uint64_t buf_a[BUF_LEN / 8];
static uint64_t buf_b[BUF_LEN / 8];

static void copy_bytes(uint8_t *dst, const uint8_t *src, uint32_t len) {
    volatile uint8_t *d = dst;
    const volatile uint8_t *s = src;
    for (uint32_t i = 0; i < len; i++)
        d[i] = s[i];
}

static uint64_t hash_words(uint64_t h, const uint64_t *w, uint32_t count) {
    for (uint32_t i = 0; i < count; i++)
        h = hash_add(h, w[i]);
    return h;
}

EXPORT(run) uint64_t run(uint32_t n) {
    uint8_t *a = (uint8_t *)buf_a, *b = (uint8_t *)buf_b;
    rng_t rng = rng_new(0x62797465637079ULL);
    for (uint32_t i = 0; i < BUF_LEN / 8; i++) {
        buf_a[i] = rng_u64(&rng);
        buf_b[i] = 0;
    }

    uint64_t h = HASH_INIT;
    for (uint32_t round = 0; round < n; round++) {
        /* Phase 1: byte loop a -> b. */
        uint32_t src = rng_below(&rng, BUF_LEN - BYTE_LEN);
        uint32_t dst = rng_below(&rng, BUF_LEN - BYTE_LEN);
        copy_bytes(b + dst, a + src, BYTE_LEN);
        h = hash_add(h, b[dst + (round & (BYTE_LEN - 1))]);

        /* Phase 2: bulk copies, alternating b -> a and a -> b. */
        for (uint32_t k = 0; k < BLOCKS; k++) {
            uint8_t *to = (k & 1) ? b : a;
            const uint8_t *from = (k & 1) ? a : b;
            src = rng_below(&rng, BUF_LEN - BLOCK_LEN);
            dst = rng_below(&rng, BUF_LEN - BLOCK_LEN);
            __builtin_memcpy(to + dst, from + src, BLOCK_LEN);
            h = hash_add(h, to[dst + ((round * 7 + k) & (BLOCK_LEN - 1))]);
        }
    }

    h = hash_words(h, buf_a, BUF_LEN / 8);
    h = hash_words(h, buf_b, BUF_LEN / 8);
    return mix64(h);
}

EXPORT(full_n) uint32_t full_n(void) { return 2200; }
EXPORT(smoke_n) uint32_t smoke_n(void) { return 2; }
