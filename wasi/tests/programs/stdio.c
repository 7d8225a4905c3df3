/* fd_read on stdin, fd_write on stdout and stderr, fd_fdstat_get of the streams. */
#include <ctype.h>
#include <unistd.h>
#include "common.h"

int main(void) {
    char buf[256];
    long total = 0;
    ssize_t n;
    while ((n = read(0, buf, sizeof buf)) > 0) {
        for (ssize_t i = 0; i < n; i++)
            buf[i] = toupper((unsigned char)buf[i]);
        write(1, buf, n);
        total += n;
    }
    fprintf(stderr, "read %ld bytes\n", total);
    TRY("read from stdout", read(1, buf, 1) < 0 ? -1 : 0);
    TRY("seek stdin", lseek(0, 0, SEEK_SET));
    return 0;
}
