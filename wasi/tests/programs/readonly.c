/* A folder preopened read-only as `/ro` (holding `file.txt` and `sub/`): everything that
 * would change it fails; reading works. */
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include "common.h"

int main(void) {
    char buf[32] = {0};
    int fd = open("/ro/file.txt", O_RDONLY);
    TRY("open to read", fd);
    TRY("read", read(fd, buf, sizeof buf - 1));
    printf("read '%s'\n", buf);
    TRY("write to it", write(fd, "x", 1));
    close(fd);
    fd = open("/ro/file.txt", O_WRONLY);
    if (fd >= 0) {
        TRY("write through O_WRONLY", write(fd, "x", 1));
        TRY("truncate through O_WRONLY", ftruncate(fd, 0));
        close(fd);
    } else {
        printf("open for writing: %s\n", errname(errno));
    }
    TRY("create", open("/ro/new.txt", O_CREAT | O_WRONLY, 0644));
    TRY("truncate on open", open("/ro/file.txt", O_WRONLY | O_TRUNC));
    TRY("mkdir", mkdir("/ro/newdir", 0755));
    TRY("rmdir", rmdir("/ro/sub"));
    TRY("unlink", unlink("/ro/file.txt"));
    TRY("rename", rename("/ro/file.txt", "/ro/moved.txt"));
    TRY("link", link("/ro/file.txt", "/ro/linked.txt"));
    TRY("symlink", symlink("file.txt", "/ro/link"));
    TRY("utimes", utimensat(AT_FDCWD, "/ro/file.txt", NULL, 0));
    struct stat st;
    TRY("stat", stat("/ro/file.txt", &st));
    printf("size %lld\n", (long long)st.st_size);
    return 0;
}
