/* Clocks, randomness, sleeping and polling, sched_yield, and the socket calls on
 * descriptors that are not sockets. */
#include <poll.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <wasi/api.h>
#include "common.h"

int main(void) {
    struct timespec a, b, res;
    TRY("realtime", clock_gettime(CLOCK_REALTIME, &a));
    printf("after 2020: %d\n", a.tv_sec > 1577836800);
    TRY("monotonic", clock_gettime(CLOCK_MONOTONIC, &a));
    TRY("resolution", clock_getres(CLOCK_MONOTONIC, &res));
    printf("resolution positive: %d\n", res.tv_sec > 0 || res.tv_nsec > 0);
    TRY("sleep 20ms", nanosleep(&(struct timespec){0, 20000000}, NULL));
    clock_gettime(CLOCK_MONOTONIC, &b);
    long long elapsed = (b.tv_sec - a.tv_sec) * 1000000000LL + (b.tv_nsec - a.tv_nsec);
    printf("slept at least 20ms: %d\n", elapsed >= 20000000);
    clock_gettime(CLOCK_MONOTONIC, &a);
    printf("monotonic: %d\n", a.tv_sec > b.tv_sec || (a.tv_sec == b.tv_sec && a.tv_nsec >= b.tv_nsec));

    unsigned char r1[32] = {0}, r2[32] = {0};
    TRY("random", getentropy(r1, sizeof r1));
    getentropy(r2, sizeof r2);
    printf("random differs: %d\n", memcmp(r1, r2, sizeof r1) != 0);
    TRY("sched_yield", sched_yield());

    /* stdout is always writable; a poll with a timeout on nothing ready times out. */
    struct pollfd fds[1] = {{.fd = 1, .events = POLLOUT}};
    printf("poll stdout: %d revents %d\n", poll(fds, 1, 1000), (fds[0].revents & POLLOUT) != 0);
    TRY("poll with only a timeout", poll(NULL, 0, 10));
    WASI("poll nothing", __wasi_poll_oneoff(NULL, NULL, 0, &(__wasi_size_t){0}));

    /* Sockets calls on a non-socket. */
    __wasi_size_t n;
    __wasi_roflags_t flags;
    char buf[4];
    __wasi_iovec_t iov = {(uint8_t *)buf, sizeof buf};
    WASI("sock_recv on stdout", __wasi_sock_recv(1, &iov, 1, 0, &n, &flags));
    WASI("sock_shutdown on stdout", __wasi_sock_shutdown(1, __WASI_SDFLAGS_WR));
    WASI("sock_accept on stdout", __wasi_sock_accept(1, 0, &(__wasi_fd_t){0}));
    printf("done\n");
    return 0;
}
