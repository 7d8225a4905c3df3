/*
 * stencil.c - 2-D 5-point Jacobi relaxation on an n x n grid of doubles.
 *
 * Each sweep sets every interior cell of the new grid to the average of
 * the old cell and its four neighbours, then swaps the grids (ITERS
 * sweeps).  The top edge is held at 1.0, the other edges at 0.0.  Measures
 * streaming, vectorisable f64 code with three input rows live at once:
 * memory bandwidth once the grids exceed the caches, plus the JIT's
 * handling of several base pointers and unit-stride loads.
 *
 * Size n: grid side (including the boundary), clamped to [3, MAX_SIDE].
 * Self-check: by the maximum principle every value stays within [0, 1].
 */
#include "kernel.h"

#define MAX_SIDE 2048u
#define ITERS 100

static double grid_a[MAX_SIDE * MAX_SIDE];
static double grid_b[MAX_SIDE * MAX_SIDE];

static void init_grid(double *g, uint32_t n, rng_t *rng) {
    for (uint32_t i = 0; i < n; i++) {
        for (uint32_t j = 0; j < n; j++) {
            int edge = i == 0 || j == 0 || i == n - 1 || j == n - 1;
            g[i * n + j] = edge ? (i == 0 ? 1.0 : 0.0) : rng_f64(rng);
        }
    }
}

/* One Jacobi sweep from src to dst (the boundary is left untouched). */
static void sweep(double *restrict dst, const double *restrict src,
                  uint32_t n) {
    for (uint32_t i = 1; i < n - 1; i++) {
        const double *up = &src[(i - 1) * n];
        const double *mid = &src[i * n];
        const double *down = &src[(i + 1) * n];
        double *out = &dst[i * n];
        for (uint32_t j = 1; j < n - 1; j++)
            out[j] = 0.2 * (mid[j] + up[j] + down[j] + mid[j - 1] + mid[j + 1]);
    }
}

EXPORT(run) uint64_t run(uint32_t n) {
    n = clamp_u32(n, 3, MAX_SIDE);
    rng_t rng = rng_new(0x7374656e63696cULL);
    init_grid(grid_a, n, &rng);
    /* Copy so the boundary of the second grid matches. */
    for (uint32_t i = 0; i < n * n; i++)
        grid_b[i] = grid_a[i];

    double *src = grid_a, *dst = grid_b;
    for (uint32_t it = 0; it < ITERS; it++) {
        sweep(dst, src, n);
        double *t = src;
        src = dst;
        dst = t;
    }

    uint64_t h = HASH_INIT;
    for (uint32_t i = 0; i < n * n; i++) {
        double v = src[i];
        if (!(v >= 0.0 && v <= 1.0))
            return KERNEL_FAIL(1);
        h = hash_add(h, f64_bits(v));
    }
    return mix64(h);
}

EXPORT(full_n) uint32_t full_n(void) { return 1472; }
EXPORT(smoke_n) uint32_t smoke_n(void) { return 48; }
