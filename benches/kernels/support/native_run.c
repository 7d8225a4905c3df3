/*
 * native_run.c - runs one natively built kernel (.so from build.sh): the
 * native counterpart of benches/node/driver.mjs, used by check.sh.
 *
 * Usage: native_run <kernel.so> <n|full|smoke> <runs>
 *
 * dlopens the kernel, calls run(n) once as warm-up and then `runs` times,
 * fails if the kernel's self-check failed or a run's checksum differs from
 * the warm-up's, and prints one line of JSON:
 *   {"n": .., "run_ns": [..], "checksum": ".."}
 *
 * This is a host tool (it uses libc); it is not itself a kernel, which is
 * why it lives in support/ rather than next to the kernels.
 *
 * Build: cc -O2 -o native_run native_run.c -ldl
 */
#define _POSIX_C_SOURCE 200809L
#include <dlfcn.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef uint64_t (*run_fn)(uint32_t);
typedef uint32_t (*size_fn)(void);

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void *need_symbol(void *lib, const char *name) {
    void *sym = dlsym(lib, name);
    if (!sym) {
        fprintf(stderr, "native_run: missing symbol %s\n", name);
        exit(1);
    }
    return sym;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr,
                "usage: native_run <kernel.so> <n|full|smoke> <runs>\n");
        return 2;
    }
    void *lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        fprintf(stderr, "native_run: %s\n", dlerror());
        return 1;
    }
    run_fn run = (run_fn)need_symbol(lib, "run");

    uint32_t n;
    if (strcmp(argv[2], "full") == 0)
        n = ((size_fn)need_symbol(lib, "full_n"))();
    else if (strcmp(argv[2], "smoke") == 0)
        n = ((size_fn)need_symbol(lib, "smoke_n"))();
    else
        n = (uint32_t)strtoul(argv[2], NULL, 0);

    long runs = strtol(argv[3], NULL, 10);
    if (runs < 1) {
        fprintf(stderr, "native_run: bad runs: %s\n", argv[3]);
        return 2;
    }

    uint64_t checksum = run(n); /* warm-up */
    if ((checksum >> 36) == (UINT64_C(0xBADC0DE000000000) >> 36)) {
        /* KERNEL_FAIL(code) from kernel.h */
        fprintf(stderr, "native_run: kernel self-check %" PRIu64 " failed\n",
                checksum & UINT64_C(0xfffffffff));
        return 1;
    }
    printf("{\"n\": %" PRIu32 ", \"run_ns\": [", n);
    for (long i = 0; i < runs; i++) {
        uint64_t t0 = now_ns();
        uint64_t result = run(n);
        uint64_t t1 = now_ns();
        if (result != checksum) {
            fprintf(stderr, "native_run: run %ld returned %" PRIu64
                    ", warm-up returned %" PRIu64 "\n", i, result, checksum);
            return 1;
        }
        printf("%s%" PRIu64, i ? ", " : "", t1 - t0);
    }
    printf("], \"checksum\": \"%" PRIu64 "\"}\n", checksum);
    return 0;
}
