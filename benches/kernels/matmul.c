/*
 * matmul.c - dense double-precision matrix multiply, C = A * B (n x n).
 *
 * Measures floating-point throughput of a tight, vectorisable inner loop.
 * The loops run in i-k-j order, so the innermost loop streams a row of B
 * and a row of C with unit stride: clang turns it into f64x2 SIMD code for
 * wasm (-msimd128) and SSE2 code natively.  It stresses loop-invariant code
 * motion, 2-D address arithmetic and SIMD float codegen in the JIT.
 *
 * Size n: matrix dimension, clamped to [1, MAX_DIM].
 * Self-check: a few entries of C are recomputed as plain dot products
 * (same summation order, so the result must be bit-identical).
 */
#include "kernel.h"

#define MAX_DIM 1024u

static double A[MAX_DIM * MAX_DIM];
static double B[MAX_DIM * MAX_DIM];
static double C[MAX_DIM * MAX_DIM];

/* Row-major n x n matrices, packed with stride n. */
static void multiply(uint32_t n) {
    for (uint32_t i = 0; i < n; i++) {
        double *c = &C[i * n];
        for (uint32_t j = 0; j < n; j++)
            c[j] = 0.0;
        for (uint32_t k = 0; k < n; k++) {
            double a = A[i * n + k];
            const double *b = &B[k * n];
            for (uint32_t j = 0; j < n; j++)
                c[j] += a * b[j];
        }
    }
}

static double dot_entry(uint32_t n, uint32_t i, uint32_t j) {
    double s = 0.0;
    for (uint32_t k = 0; k < n; k++)
        s += A[i * n + k] * B[k * n + j];
    return s;
}

EXPORT(run) uint64_t run(uint32_t n) {
    n = clamp_u32(n, 1, MAX_DIM);
    rng_t rng = rng_new(0x6d61746d756cULL);
    for (uint32_t i = 0; i < n * n; i++) {
        A[i] = rng_f64(&rng) - 0.5;
        B[i] = rng_f64(&rng) - 0.5;
    }

    multiply(n);

    /* Spot-check some entries against an independent dot product. */
    for (uint32_t t = 0; t < 8; t++) {
        uint32_t i = rng_below(&rng, n), j = rng_below(&rng, n);
        if (f64_bits(dot_entry(n, i, j)) != f64_bits(C[i * n + j]))
            return KERNEL_FAIL(1);
    }

    uint64_t h = HASH_INIT;
    for (uint32_t i = 0; i < n * n; i++)
        h = hash_add(h, f64_bits(C[i]));
    return mix64(h);
}

EXPORT(full_n) uint32_t full_n(void) { return 1024; }
EXPORT(smoke_n) uint32_t smoke_n(void) { return 48; }
