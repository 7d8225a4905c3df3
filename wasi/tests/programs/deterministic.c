/* Prints the clocks and random bytes, for the test that injects a fixed clock and a seeded
 * random source. */
#include <stdint.h>
#include <wasi/api.h>
#include "common.h"

int main(void) {
    __wasi_timestamp_t t;
    WASI("realtime", __wasi_clock_time_get(__WASI_CLOCKID_REALTIME, 1, &t));
    printf("realtime %llu\n", (unsigned long long)t);
    WASI("monotonic", __wasi_clock_time_get(__WASI_CLOCKID_MONOTONIC, 1, &t));
    printf("monotonic %llu\n", (unsigned long long)t);
    WASI("resolution", __wasi_clock_res_get(__WASI_CLOCKID_REALTIME, &t));
    printf("resolution %llu\n", (unsigned long long)t);
    uint8_t bytes[8];
    WASI("random", __wasi_random_get(bytes, sizeof bytes));
    printf("random");
    for (int i = 0; i < 8; i++)
        printf(" %02x", bytes[i]);
    printf("\n");
    return 0;
}
