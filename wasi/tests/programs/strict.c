/* Where the preview1 spec is stricter than wasmtime, so this program is checked against its
 * expected output only: rights (fd_fdstat_set_rights) can only shrink, and an operation a
 * descriptor has no right for fails with ENOTCAPABLE (wasmtime ignores rights and says
 * ENOTSUP to fd_fdstat_set_rights); fd_allocate works (wasmtime: ENOTSUP); an invalid
 * enum value is EINVAL (wasmtime traps); polling a closed descriptor reports it with
 * POLLNVAL as POSIX poll does (wasmtime fails the whole poll_oneoff with EBADF). */
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>
#include <sys/stat.h>
#include <wasi/api.h>
#include "common.h"

int main(void) {
    int fd = open("/sandbox/r.txt", O_CREAT | O_RDWR, 0644);
    TRY("create", fd);
    /* Rights can only shrink. */
    __wasi_fdstat_t fdstat;
    WASI("fdstat", __wasi_fd_fdstat_get(fd, &fdstat));
    printf("filetype %d\n", fdstat.fs_filetype);
    WASI("drop write right", __wasi_fd_fdstat_set_rights(fd, fdstat.fs_rights_base & ~__WASI_RIGHTS_FD_WRITE, 0));
    TRY("write without the right", write(fd, "x", 1));
    WASI("regain write right", __wasi_fd_fdstat_set_rights(fd, fdstat.fs_rights_base, 0));
    WASI("drop seek right", __wasi_fd_fdstat_set_rights(fd, fdstat.fs_rights_base & ~(__WASI_RIGHTS_FD_SEEK | __WASI_RIGHTS_FD_WRITE), 0));
    WASI("raw seek without the right", __wasi_fd_seek(fd, 0, __WASI_WHENCE_SET, &(__wasi_filesize_t){0}));
    WASI("raw write without the right", __wasi_fd_write(fd, &(__wasi_ciovec_t){(const uint8_t *)"x", 1}, 1, &(__wasi_size_t){0}));
    fd = open("/sandbox/r.txt", O_RDONLY);
    TRY("ftruncate read-only fd", ftruncate(fd, 0));
    WASI("raw ftruncate read-only fd", __wasi_fd_filestat_set_size(fd, 0));
    WASI("raw fallocate", __wasi_fd_allocate(fd, 0, 100));
    fd = open("/sandbox/r.txt", O_RDWR);
    WASI("raw fallocate writable", __wasi_fd_allocate(fd, 0, 100));
    struct stat st;
    fstat(fd, &st);
    printf("size after fallocate %lld\n", (long long)st.st_size);
    WASI("fdstat of preopen", __wasi_fd_fdstat_get(3, &fdstat));
    printf("preopen can create files %d\n", (fdstat.fs_rights_base & __WASI_RIGHTS_PATH_CREATE_FILE) != 0);
    printf("files under it can be written %d\n", (fdstat.fs_rights_inheriting & __WASI_RIGHTS_FD_WRITE) != 0);
    WASI("advise bad advice", __wasi_fd_advise(fd, 0, 5, 99));
    WASI("bad clock", __wasi_clock_time_get(99, 1, &(__wasi_timestamp_t){0}));
    WASI("bad whence", __wasi_fd_seek(fd, 0, 7, &(__wasi_filesize_t){0}));
    struct pollfd bad[1] = {{.fd = 77, .events = POLLIN}};
    printf("poll bad fd: %d revents nval %d\n", poll(bad, 1, 0), (bad[0].revents & POLLNVAL) != 0);
    return 0;
}
