/* Escapes from the preopened folder `/sandbox`, each of which must fail, and what a guest
 * can see of descriptors. The test lays out, inside the folder: `inside.txt`; `sub/`;
 * `out` -> `../outside` (a link leaving the folder); `chain` -> `sub/up` with
 * `sub/up` -> `../../outside`; `abs` -> an absolute path of a host file; `ok` -> `sub`
 * (a link that stays inside); and next to the folder, `outside/secret.txt`. */
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <wasi/api.h>
#include "common.h"

static void try_open(const char *label, const char *path, int flags) {
    errno = 0;
    int fd = open(path, flags, 0644);
    printf("%s: %s\n", label, fd < 0 ? errname(errno) : "OPENED");
    if (fd >= 0)
        close(fd);
}

int main(void) {
    struct stat st;
    try_open("inside", "/sandbox/inside.txt", O_RDONLY);
    try_open("dot-dot", "/sandbox/../outside/secret.txt", O_RDONLY);
    try_open("dot-dot deep", "/sandbox/sub/../../outside/secret.txt", O_RDONLY);
    try_open("dot-dot create", "/sandbox/../evil.txt", O_CREAT | O_WRONLY);
    try_open("host absolute", "/etc/passwd", O_RDONLY);
    try_open("link out", "/sandbox/out/secret.txt", O_RDONLY);
    try_open("chained link out", "/sandbox/chain/secret.txt", O_RDONLY);
    try_open("absolute link", "/sandbox/abs", O_RDONLY);
    try_open("link inside", "/sandbox/ok/../inside.txt", O_RDONLY);
    try_open("create through link out", "/sandbox/out/new.txt", O_CREAT | O_WRONLY);
    TRY("stat through link out", stat("/sandbox/out/secret.txt", &st));
    TRY("lstat the link itself", lstat("/sandbox/out", &st));
    TRY("mkdir outside", mkdir("/sandbox/../evil", 0755));
    TRY("rename out", rename("/sandbox/inside.txt", "/sandbox/../stolen.txt"));
    TRY("rename in from outside", rename("/sandbox/../outside/secret.txt", "/sandbox/got.txt"));
    TRY("rename through link out", rename("/sandbox/inside.txt", "/sandbox/out/stolen.txt"));
    TRY("hard link to outside file", link("/sandbox/out/secret.txt", "/sandbox/linked.txt"));
    TRY("hard link out", link("/sandbox/inside.txt", "/sandbox/../linked.txt"));
    TRY("unlink outside", unlink("/sandbox/../outside/secret.txt"));
    TRY("symlink placed outside", symlink("inside.txt", "/sandbox/../evil-link"));
    TRY("symlink to outside then open", symlink("../outside/secret.txt", "/sandbox/sneaky"));
    try_open("open sneaky", "/sandbox/sneaky", O_RDONLY);
    TRY("utimes outside", utimensat(AT_FDCWD, "/sandbox/../outside/secret.txt", NULL, 0));

    /* Only the standard streams and the preopen are open: no host descriptor shows. */
    int open_fds = 0;
    for (int fd = 0; fd < 256; fd++) {
        __wasi_fdstat_t stat;
        if (__wasi_fd_fdstat_get(fd, &stat) == 0) {
            printf("fd %d is open\n", fd);
            open_fds++;
        }
    }
    printf("%d descriptors open\n", open_fds);
    return 0;
}
