/*
 * kernel.h - shared definitions for the wasmjit benchmark kernels.
 *
 * Every kernel is one freestanding C file (no libc, no malloc) that is
 * compiled twice by build.sh: to a wasm32 module that imports its memory as
 * `env.memory`, and to a native shared object.  Both builds must produce
 * bit-identical checksums, so kernels only use fixed-width integer types,
 * IEEE float/double arithmetic without fast-math, and the helpers below.
 *
 * Every kernel exports the same three functions:
 *
 *   uint64_t run(uint32_t n)   does the work for size n, returns a checksum
 *   uint32_t full_n(void)      size for a real benchmark run
 *   uint32_t smoke_n(void)     tiny size for CI smoke runs
 *
 * run() re-initialises all of its state, so it can be called repeatedly in
 * the same instance and returns the same checksum for the same n.  Sizes
 * larger than the static arrays allow are clamped (documented per kernel).
 * If a kernel's built-in self-check fails, run() returns KERNEL_FAIL(code).
 */
#ifndef WASMJIT_BENCH_KERNEL_H
#define WASMJIT_BENCH_KERNEL_H

#include <stddef.h>
#include <stdint.h>

#if defined(__wasm__)
#define EXPORT(name) __attribute__((export_name(#name)))
#else
#define EXPORT(name) __attribute__((visibility("default")))
#endif

/* Declares the three exports; each kernel defines them. */
EXPORT(run) uint64_t run(uint32_t n);
EXPORT(full_n) uint32_t full_n(void);
EXPORT(smoke_n) uint32_t smoke_n(void);

/* Checksum returned when a self-check fails; `code` says which one. */
#define KERNEL_FAIL(code) (UINT64_C(0xBADC0DE000000000) | (uint64_t)(code))

/* ---- hashing ---------------------------------------------------------- */

/* splitmix64 finaliser: a cheap bijective 64-bit mixer. */
static inline uint64_t mix64(uint64_t x) {
    x ^= x >> 30;
    x *= UINT64_C(0xbf58476d1ce4e5b9);
    x ^= x >> 27;
    x *= UINT64_C(0x94d049bb133111eb);
    x ^= x >> 31;
    return x;
}

/* Order-dependent checksum accumulation (FNV-1a style, on whole words). */
static inline uint64_t hash_add(uint64_t h, uint64_t v) {
    return (h ^ v) * UINT64_C(0x100000001b3);
}

#define HASH_INIT UINT64_C(0xcbf29ce484222325)

/* Bit patterns of floating-point values (union punning is defined in C). */
static inline uint64_t f64_bits(double d) {
    union { double d; uint64_t u; } v = { .d = d };
    return v.u;
}

static inline uint32_t f32_bits(float f) {
    union { float f; uint32_t u; } v = { .f = f };
    return v.u;
}

/* ---- pseudo-random numbers -------------------------------------------- */

/* xorshift64* generator: small, fast and identical on every target. */
typedef struct {
    uint64_t s;
} rng_t;

static inline rng_t rng_new(uint64_t seed) {
    rng_t r = { mix64(seed) | 1 }; /* the state must never be zero */
    return r;
}

static inline uint64_t rng_u64(rng_t *r) {
    uint64_t x = r->s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    r->s = x;
    return x * UINT64_C(0x2545f4914f6cdd1d);
}

static inline uint32_t rng_u32(rng_t *r) {
    return (uint32_t)(rng_u64(r) >> 32);
}

/* Uniform-ish integer in [0, bound) (multiply-shift, bound < 2^32). */
static inline uint32_t rng_below(rng_t *r, uint32_t bound) {
    return (uint32_t)(((uint64_t)rng_u32(r) * bound) >> 32);
}

/* Double in [0, 1) with 53 random bits. */
static inline double rng_f64(rng_t *r) {
    return (double)(rng_u64(r) >> 11) * 0x1p-53;
}

/* ---- misc ------------------------------------------------------------- */

static inline uint32_t clamp_u32(uint32_t v, uint32_t lo, uint32_t hi) {
    return v < lo ? lo : (v > hi ? hi : v);
}

#endif /* WASMJIT_BENCH_KERNEL_H */
