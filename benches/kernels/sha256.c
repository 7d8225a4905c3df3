/*
 * sha256.c - SHA-256 of a generated 64 KiB buffer, repeated n times.
 *
 * Measures 32-bit integer ALU throughput: rotates, shifts, xors and adds in
 * a long dependency chain, with the message schedule and eight working
 * variables that a good JIT keeps entirely in registers.  Each pass writes
 * the previous digest into the start of the buffer, so passes cannot be
 * hoisted or merged.
 *
 * Size n: number of passes over the buffer (>= 1).
 * Self-check: the FIPS 180-2 test vectors "abc" and the 448-bit message.
 */
#include "kernel.h"

#define BUF_LEN (64u << 10)

static uint8_t buf[BUF_LEN];

static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1,
    0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
    0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
    0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
    0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
    0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
    0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
    0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static inline uint32_t rotr(uint32_t x, uint32_t r) {
    return (x >> r) | (x << (32 - r));
}

static inline uint32_t load_be32(const uint8_t *p) {
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
           ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

/* Processes one 64-byte block into the state. */
static void compress(uint32_t state[8], const uint8_t *block) {
    uint32_t w[64];
    for (uint32_t i = 0; i < 16; i++)
        w[i] = load_be32(block + 4 * i);
    for (uint32_t i = 16; i < 64; i++) {
        uint32_t x = w[i - 15], y = w[i - 2];
        uint32_t s0 = rotr(x, 7) ^ rotr(x, 18) ^ (x >> 3);
        uint32_t s1 = rotr(y, 17) ^ rotr(y, 19) ^ (y >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }

    uint32_t a = state[0], b = state[1], c = state[2], d = state[3];
    uint32_t e = state[4], f = state[5], g = state[6], h = state[7];
    for (uint32_t i = 0; i < 64; i++) {
        uint32_t S1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25);
        uint32_t ch = (e & f) ^ (~e & g);
        uint32_t t1 = h + S1 + ch + K[i] + w[i];
        uint32_t S0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22);
        uint32_t maj = (a & b) ^ (a & c) ^ (b & c);
        uint32_t t2 = S0 + maj;
        h = g;
        g = f;
        f = e;
        e = d + t1;
        d = c;
        c = b;
        b = a;
        a = t1 + t2;
    }
    state[0] += a; state[1] += b; state[2] += c; state[3] += d;
    state[4] += e; state[5] += f; state[6] += g; state[7] += h;
}

/* One-shot SHA-256 of msg[0..len) into digest (as 8 big-endian words). */
static void sha256(const uint8_t *msg, uint32_t len, uint32_t digest[8]) {
    static const uint32_t iv[8] = {
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
        0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
    };
    for (uint32_t i = 0; i < 8; i++)
        digest[i] = iv[i];

    uint32_t full = len & ~63u;
    for (uint32_t off = 0; off < full; off += 64)
        compress(digest, msg + off);

    /* Padding: 0x80, zeros, then the bit length as a 64-bit big-endian. */
    uint8_t tail[128];
    uint32_t rest = len - full;
    for (uint32_t i = 0; i < 128; i++)
        tail[i] = i < rest ? msg[full + i] : 0;
    tail[rest] = 0x80;
    uint32_t tail_len = rest < 56 ? 64 : 128;
    uint64_t bits = (uint64_t)len * 8;
    for (uint32_t i = 0; i < 8; i++)
        tail[tail_len - 1 - i] = (uint8_t)(bits >> (8 * i));
    for (uint32_t off = 0; off < tail_len; off += 64)
        compress(digest, tail + off);
}

static int digest_is(const uint8_t *msg, uint32_t len, const uint32_t want[8]) {
    uint32_t d[8];
    sha256(msg, len, d);
    for (uint32_t i = 0; i < 8; i++)
        if (d[i] != want[i])
            return 0;
    return 1;
}

static int self_test(void) {
    static const uint8_t abc[] = "abc";
    static const uint32_t abc_want[8] = {
        0xba7816bf, 0x8f01cfea, 0x414140de, 0x5dae2223,
        0xb00361a3, 0x96177a9c, 0xb410ff61, 0xf20015ad,
    };
    static const uint8_t two[] =
        "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    static const uint32_t two_want[8] = {
        0x248d6a61, 0xd20638b8, 0xe5c02693, 0x0c3e6039,
        0xa33ce459, 0x64ff2167, 0xf6ecedd4, 0x19db06c1,
    };
    return digest_is(abc, 3, abc_want) && digest_is(two, 56, two_want);
}

EXPORT(run) uint64_t run(uint32_t n) {
    if (!self_test())
        return KERNEL_FAIL(1);

    rng_t rng = rng_new(0x736861323536ULL);
    for (uint32_t i = 0; i < BUF_LEN; i += 8) {
        uint64_t v = rng_u64(&rng);
        for (uint32_t b = 0; b < 8; b++)
            buf[i + b] = (uint8_t)(v >> (8 * b));
    }

    uint32_t digest[8] = {0};
    uint64_t h = HASH_INIT;
    for (uint32_t pass = 0; pass < n; pass++) {
        /* Chain: the previous digest becomes the first 32 bytes. */
        for (uint32_t i = 0; i < 8; i++)
            for (uint32_t b = 0; b < 4; b++)
                buf[4 * i + b] = (uint8_t)(digest[i] >> (24 - 8 * b));
        sha256(buf, BUF_LEN, digest);
        h = hash_add(h, ((uint64_t)digest[0] << 32) | digest[7]);
    }
    for (uint32_t i = 0; i < 8; i++)
        h = hash_add(h, digest[i]);
    return mix64(h);
}

EXPORT(full_n) uint32_t full_n(void) { return 600; }
EXPORT(smoke_n) uint32_t smoke_n(void) { return 2; }
