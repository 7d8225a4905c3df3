/* Shared by the WASI test programs: print each step's outcome by errno name, so that the
 * output is the same under every runtime that gets the semantics right. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

static inline const char *errname(int e) {
    switch (e) {
    case ENOENT: return "ENOENT";
    case EEXIST: return "EEXIST";
    case ENOTDIR: return "ENOTDIR";
    case EISDIR: return "EISDIR";
    case ENOTEMPTY: return "ENOTEMPTY";
    case EBADF: return "EBADF";
    case EINVAL: return "EINVAL";
    case EPERM: return "EPERM";
    case EACCES: return "EACCES";
    case ENOTCAPABLE: return "ENOTCAPABLE";
    case ELOOP: return "ELOOP";
    case EXDEV: return "EXDEV";
    case ESPIPE: return "ESPIPE";
    case ENOTSUP: return "ENOTSUP";
    case ENOTSOCK: return "ENOTSOCK";
    case ENAMETOOLONG: return "ENAMETOOLONG";
    case EFAULT: return "EFAULT";
    default: {
        static char buf[32];
        snprintf(buf, sizeof buf, "errno %d", e);
        return buf;
    }
    }
}

/* Runs EXPR (a call returning a negative number on failure) and prints LABEL: ok or the
 * errno's name. */
#define TRY(label, expr)                                                                  \
    do {                                                                                  \
        errno = 0;                                                                        \
        long r_ = (long)(expr);                                                           \
        printf("%s: %s\n", label, r_ < 0 ? errname(errno) : "ok");                        \
    } while (0)

/* As TRY, for the raw __wasi_* calls, which return the errno. */
#define WASI(label, expr)                                                                 \
    do {                                                                                  \
        int e_ = (int)(expr);                                                             \
        printf("%s: %s\n", label, e_ ? errname(e_) : "ok");                               \
    } while (0)
