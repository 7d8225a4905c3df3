/*
 * quicksort.c - sorts n pseudo-random uint32 values in place.
 *
 * Quicksort with median-of-three pivots and Hoare partitioning, insertion
 * sort for short ranges, recursion on the smaller side only (O(log n)
 * stack).  Measures data-dependent, hard-to-predict branches, compare/swap
 * sequences on memory, and ordinary recursive calls.
 *
 * Size n: number of elements, clamped to [1, MAX_N].
 * Self-check: the output is non-decreasing and holds the same multiset
 * fingerprint (sum and xor) as the input.
 */
#include "kernel.h"

#define MAX_N (8u << 20)
#define INSERTION_CUTOFF 16

static uint32_t data[MAX_N];

static void insertion_sort(uint32_t *a, uint32_t len) {
    for (uint32_t i = 1; i < len; i++) {
        uint32_t v = a[i], j = i;
        while (j > 0 && a[j - 1] > v) {
            a[j] = a[j - 1];
            j--;
        }
        a[j] = v;
    }
}

static inline void swap(uint32_t *a, uint32_t *b) {
    uint32_t t = *a;
    *a = *b;
    *b = t;
}

static void quicksort(uint32_t *a, uint32_t len) {
    while (len > INSERTION_CUTOFF) {
        /* Median of three: orders a[0] <= a[mid] <= a[len-1]. */
        uint32_t mid = len / 2;
        if (a[mid] < a[0])
            swap(&a[mid], &a[0]);
        if (a[len - 1] < a[0])
            swap(&a[len - 1], &a[0]);
        if (a[len - 1] < a[mid])
            swap(&a[len - 1], &a[mid]);
        uint32_t pivot = a[mid];

        /* Hoare partition: a[0..j] <= pivot <= a[j+1..len). */
        uint32_t i = 0, j = len - 1;
        for (;;) {
            while (a[i] < pivot)
                i++;
            while (a[j] > pivot)
                j--;
            if (i >= j)
                break;
            swap(&a[i], &a[j]);
            i++;
            j--;
        }
        uint32_t left = j + 1, right = len - left;

        /* Recurse into the smaller half, loop on the larger one. */
        if (left < right) {
            quicksort(a, left);
            a += left;
            len = right;
        } else {
            quicksort(a + left, right);
            len = left;
        }
    }
    insertion_sort(a, len);
}

EXPORT(run) uint64_t run(uint32_t n) {
    n = clamp_u32(n, 1, MAX_N);
    rng_t rng = rng_new(0x716b736f7274ULL);
    uint64_t in_sum = 0;
    uint32_t in_xor = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t v = rng_u32(&rng);
        data[i] = v;
        in_sum += v;
        in_xor ^= v;
    }

    quicksort(data, n);

    uint64_t sum = 0, h = HASH_INIT;
    uint32_t x = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (i > 0 && data[i - 1] > data[i])
            return KERNEL_FAIL(1);
        sum += data[i];
        x ^= data[i];
        h = hash_add(h, data[i]);
    }
    if (sum != in_sum || x != in_xor)
        return KERNEL_FAIL(2);
    return mix64(h);
}

EXPORT(full_n) uint32_t full_n(void) { return 3670016; } /* 3.5 Mi */
EXPORT(smoke_n) uint32_t smoke_n(void) { return 20000; }
