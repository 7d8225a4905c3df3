/*
 * simd.c - explicit 128-bit SIMD through clang vector extensions.
 *
 * Per iteration, over L1-resident arrays of 4-lane vectors:
 *   - a saxpy-style update  Y = a*X + 0.5*Y  (f32x4 mul/add),
 *   - a dot product X.Y with a vector accumulator and a fixed-order
 *     horizontal sum,
 *   - integer lane work on H: shifts, 32-bit lane multiply, a lane rotate
 *     (shuffle), a float->int conversion and a compare + select min.
 * Compiled with -msimd128 these map onto wasm v128 instructions (clang 14
 * emits f32x4.mul/add, i32x4.mul/shl/shr_u/add, i8x16.shuffle,
 * i32x4.trunc_sat_f32x4_s and folds the compare + select into i32x4.min_s),
 * natively onto SSE4.1.  Measures the JIT's SIMD instruction selection and
 * v128 register allocation.
 *
 * Size n: number of iterations over the arrays.
 * Values stay in [-1, 1] (|a| <= 0.5), so the float->int conversion is
 * always in range and both targets agree bit for bit.
 */
#include "kernel.h"

typedef float v4f __attribute__((vector_size(16)));
typedef int32_t v4i __attribute__((vector_size(16)));
typedef uint32_t v4u __attribute__((vector_size(16)));

#define VLEN 512u /* vectors per array: 3 arrays x 8 KiB */

static v4f X[VLEN], Y[VLEN];
static v4u H[VLEN];

static inline v4f splat_f(float f) { return (v4f){ f, f, f, f }; }
static inline v4u splat_u(uint32_t u) { return (v4u){ u, u, u, u }; }

/* Y = a*X + 0.5*Y, returns X.Y (after the update). */
static float saxpy_dot(float a) {
    v4f va = splat_f(a), half = splat_f(0.5f), acc = splat_f(0.0f);
    for (uint32_t i = 0; i < VLEN; i++) {
        v4f y = va * X[i] + half * Y[i];
        Y[i] = y;
        acc += X[i] * y;
    }
    return (acc[0] + acc[1]) + (acc[2] + acc[3]);
}

/* Integer lane mixing of H, seeded from Y. */
static void lane_ops(void) {
    const v4u golden = splat_u(0x9e3779b1u);
    for (uint32_t i = 0; i < VLEN; i++) {
        v4u x = H[i];
        x ^= x >> 15;
        x *= golden;
        x += __builtin_shufflevector(x, x, 1, 2, 3, 0);
        x += (v4u)__builtin_convertvector(Y[i] * splat_f(1024.0f), v4i);
        /* Signed lane-wise min with the next vector, via compare + select. */
        v4i s = (v4i)x, t = (v4i)H[(i + 1) & (VLEN - 1)];
        v4i lt = s < t; /* all-ones lanes where s < t */
        v4i lo = (lt & s) | (~lt & t);
        H[i] = x ^ ((v4u)lo << 7);
    }
}

EXPORT(run) uint64_t run(uint32_t n) {
    rng_t rng = rng_new(0x73696d64ULL);
    for (uint32_t i = 0; i < VLEN; i++) {
        for (uint32_t l = 0; l < 4; l++) {
            X[i][l] = (float)(rng_f64(&rng) * 2.0 - 1.0);
            Y[i][l] = (float)(rng_f64(&rng) * 2.0 - 1.0);
            H[i][l] = rng_u32(&rng);
        }
    }

    uint64_t h = HASH_INIT;
    for (uint32_t it = 0; it < n; it++) {
        float a = (float)(it & 15) * 0.0625f - 0.5f;
        h = hash_add(h, f32_bits(saxpy_dot(a)));
        lane_ops();
    }

    for (uint32_t i = 0; i < VLEN; i++)
        for (uint32_t l = 0; l < 4; l++)
            h = hash_add(h, ((uint64_t)f32_bits(Y[i][l]) << 32) | H[i][l]);
    return mix64(h);
}

EXPORT(full_n) uint32_t full_n(void) { return 250000; }
EXPORT(smoke_n) uint32_t smoke_n(void) { return 50; }
