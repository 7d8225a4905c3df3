/*
 * apsp.c - all-pairs shortest paths with Floyd-Warshall on int32 weights.
 *
 * The O(n^3) triple loop  d[i][j] = min(d[i][j], d[i][k] + d[k][j])  over a
 * dense n x n matrix: a vectorisable inner loop of loads, adds, signed
 * min and stores (i32x4.min_s / pminsd), with a loop-invariant d[i][k]
 * and a runtime aliasing check between rows i and k.  Measures integer
 * SIMD throughput and loop-nest code quality.
 *
 * The graph: a ring 0 -> 1 -> ... -> n-1 -> 0 (so every pair is
 * connected) plus random edges with probability 1/8, weights 1..1000.
 *
 * Size n: number of nodes, clamped to [2, MAX_NODES].
 * Self-check: two rows of the result are recomputed with Dijkstra's
 * algorithm on the original weights.
 */
#include "kernel.h"

#define MAX_NODES 1536u
#define INF (1 << 29) /* INF + INF still fits in int32 */

static int32_t weight[MAX_NODES * MAX_NODES];
static int32_t dist[MAX_NODES * MAX_NODES];

/* Dijkstra scratch space. */
static int32_t sp_dist[MAX_NODES];
static uint8_t sp_done[MAX_NODES];

static void make_graph(uint32_t n) {
    rng_t rng = rng_new(0x61707370ULL);
    for (uint32_t i = 0; i < n; i++) {
        for (uint32_t j = 0; j < n; j++) {
            int32_t w = INF;
            if (i == j)
                w = 0;
            else if (j == (i + 1) % n || (rng_u32(&rng) & 7) == 0)
                w = 1 + (int32_t)rng_below(&rng, 1000);
            weight[i * n + j] = w;
        }
    }
}

static void floyd_warshall(uint32_t n) {
    for (uint32_t k = 0; k < n; k++) {
        const int32_t *row_k = &dist[k * n];
        for (uint32_t i = 0; i < n; i++) {
            int32_t *row_i = &dist[i * n];
            int32_t dik = row_i[k];
            for (uint32_t j = 0; j < n; j++) {
                int32_t via = dik + row_k[j];
                row_i[j] = via < row_i[j] ? via : row_i[j];
            }
        }
    }
}

/* Single-source shortest paths from src (O(n^2) Dijkstra, dense graph). */
static void dijkstra(uint32_t n, uint32_t src) {
    for (uint32_t i = 0; i < n; i++) {
        sp_dist[i] = INF;
        sp_done[i] = 0;
    }
    sp_dist[src] = 0;
    for (uint32_t round = 0; round < n; round++) {
        uint32_t u = n;
        for (uint32_t i = 0; i < n; i++)
            if (!sp_done[i] && (u == n || sp_dist[i] < sp_dist[u]))
                u = i;
        sp_done[u] = 1;
        for (uint32_t v = 0; v < n; v++) {
            int32_t w = weight[u * n + v];
            if (w < INF && sp_dist[u] + w < sp_dist[v])
                sp_dist[v] = sp_dist[u] + w;
        }
    }
}

EXPORT(run) uint64_t run(uint32_t n) {
    n = clamp_u32(n, 2, MAX_NODES);
    make_graph(n);
    for (uint32_t i = 0; i < n * n; i++)
        dist[i] = weight[i];

    floyd_warshall(n);

    uint32_t checks[2] = { 0, n / 2 + 1 < n ? n / 2 + 1 : n - 1 };
    for (uint32_t c = 0; c < 2; c++) {
        dijkstra(n, checks[c]);
        for (uint32_t j = 0; j < n; j++)
            if (sp_dist[j] != dist[checks[c] * n + j])
                return KERNEL_FAIL(1);
    }

    uint64_t h = HASH_INIT, sum = 0;
    for (uint32_t i = 0; i < n * n; i++) {
        sum += (uint32_t)dist[i];
        h = hash_add(h, (uint32_t)dist[i]);
    }
    return mix64(h ^ sum);
}

EXPORT(full_n) uint32_t full_n(void) { return 1200; }
EXPORT(smoke_n) uint32_t smoke_n(void) { return 40; }
