/*
 * fib.c - naive doubly-recursive Fibonacci.
 *
 * Measures the cost of calls and returns: about 2*fib(n) calls, each doing
 * almost nothing else.  This exposes the JIT's prologue/epilogue, stack
 * check, argument passing and return-value handling.  `noinline` keeps the
 * function a real call, and `disable_tail_calls` stops LLVM's
 * tail-recursion elimination from turning the second call (accumulator
 * recursion over `+`) into a loop, so both recursive calls stay calls.
 *
 * Size n: Fibonacci index, clamped to [0, 50].
 * Self-check: result equals the iteratively computed fib(n).
 */
#include "kernel.h"

#define MAX_FIB 50u

__attribute__((noinline, disable_tail_calls))
static uint64_t fib(uint32_t n) {
    if (n < 2)
        return n;
    return fib(n - 1) + fib(n - 2);
}

static uint64_t fib_iter(uint32_t n) {
    uint64_t a = 0, b = 1;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t t = a + b;
        a = b;
        b = t;
    }
    return a;
}

EXPORT(run) uint64_t run(uint32_t n) {
    n = clamp_u32(n, 0, MAX_FIB);
    uint64_t r = fib(n);
    if (r != fib_iter(n))
        return KERNEL_FAIL(1);
    return mix64(r ^ ((uint64_t)n << 56));
}

EXPORT(full_n) uint32_t full_n(void) { return 39; }
EXPORT(smoke_n) uint32_t smoke_n(void) { return 18; }
