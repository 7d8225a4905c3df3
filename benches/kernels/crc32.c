/*
 * crc32.c - table-driven CRC-32 (IEEE 802.3, reflected) over a 256 KiB
 * generated buffer, repeated n times.
 *
 * Measures the classic byte-at-a-time table loop: a serial dependency
 * through a byte load, an xor, an 8-bit table index and a 32-bit table load
 * per input byte.  This exposes the JIT's load latency, its address-mode
 * selection for `table[(crc ^ b) & 0xff]` and its loop overhead.
 *
 * Size n: number of passes over the buffer (the CRC is chained across
 * passes, so they cannot be merged or hoisted).
 * Self-check: CRC-32("123456789") == 0xCBF43926.
 */
#include "kernel.h"

#define BUF_LEN (256u << 10)

static uint8_t buf[BUF_LEN];
static uint32_t table[256];

static void build_table(void) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (uint32_t k = 0; k < 8; k++)
            c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        table[i] = c;
    }
}

/* Continues a CRC (pass 0 to start; the result is already finalised). */
static uint32_t crc32_update(uint32_t crc, const uint8_t *p, uint32_t len) {
    crc = ~crc;
    for (uint32_t i = 0; i < len; i++)
        crc = table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
    return ~crc;
}

EXPORT(run) uint64_t run(uint32_t n) {
    build_table();
    static const uint8_t check[] = "123456789";
    if (crc32_update(0, check, 9) != 0xCBF43926u)
        return KERNEL_FAIL(1);

    rng_t rng = rng_new(0x6372633332ULL);
    for (uint32_t i = 0; i < BUF_LEN; i += 8) {
        uint64_t v = rng_u64(&rng);
        for (uint32_t b = 0; b < 8; b++)
            buf[i + b] = (uint8_t)(v >> (8 * b));
    }

    uint32_t crc = 0;
    uint64_t h = HASH_INIT;
    for (uint32_t pass = 0; pass < n; pass++) {
        crc = crc32_update(crc, buf, BUF_LEN);
        h = hash_add(h, crc);
    }
    return mix64(h);
}

EXPORT(full_n) uint32_t full_n(void) { return 420; }
EXPORT(smoke_n) uint32_t smoke_n(void) { return 2; }
