/* Files and folders inside the preopened folder `/sandbox` (the test gives it): path_open,
 * fd_read/write, fd_pread/pwrite, fd_seek/tell, fd_filestat_get/set_size/set_times,
 * fd_fdstat_get/set_flags, fd_sync/datasync, fd_advise, fd_readdir, fd_close,
 * fd_renumber, path_create_directory, path_remove_directory, path_filestat_get,
 * path_filestat_set_times, path_rename, path_link, path_symlink, path_readlink,
 * path_unlink_file, fd_prestat_get/dir_name, with the errno of each misuse. */
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <wasi/api.h>
#include "common.h"

static int cmp(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Prints the sorted names in `path` (with `.` and `..`). */
static void list(const char *path) {
    DIR *d = opendir(path);
    if (!d) {
        printf("opendir %s: %s\n", path, errname(errno));
        return;
    }
    char *names[64];
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 64)
        names[n++] = strdup(e->d_name);
    closedir(d);
    qsort(names, n, sizeof *names, cmp);
    printf("%s:", path);
    for (int i = 0; i < n; i++) {
        printf(" %s", names[i]);
        free(names[i]);
    }
    printf("\n");
}

int main(void) {
    char buf[64];
    struct stat st;

    /* The preopen. */
    __wasi_prestat_t prestat;
    WASI("prestat 3", __wasi_fd_prestat_get(3, &prestat));
    printf("preopen name length %u\n", (unsigned)prestat.u.dir.pr_name_len);
    char name[32] = {0};
    WASI("prestat name", __wasi_fd_prestat_dir_name(3, (uint8_t *)name, prestat.u.dir.pr_name_len));
    printf("preopen %s\n", name);
    WASI("prestat name too short", __wasi_fd_prestat_dir_name(3, (uint8_t *)name, 1));
    WASI("prestat of stdout", __wasi_fd_prestat_get(1, &prestat));

    /* Create, write, read back. */
    int fd = open("/sandbox/a.txt", O_CREAT | O_RDWR | O_TRUNC, 0644);
    TRY("create a.txt", fd);
    TRY("write", write(fd, "hello, world\n", 13));
    TRY("fstat", fstat(fd, &st));
    printf("size %lld, regular %d\n", (long long)st.st_size, S_ISREG(st.st_mode));
    printf("tell %lld\n", (long long)lseek(fd, 0, SEEK_CUR));
    TRY("seek to 7", lseek(fd, 7, SEEK_SET));
    memset(buf, 0, sizeof buf);
    TRY("read", read(fd, buf, 5));
    printf("read '%s'\n", buf);
    TRY("seek before start", lseek(fd, -100, SEEK_CUR));
    printf("seek from end %lld\n", (long long)lseek(fd, -1, SEEK_END));
    TRY("pwrite", pwrite(fd, "HELLO", 5, 0));
    memset(buf, 0, sizeof buf);
    TRY("pread", pread(fd, buf, 12, 0));
    printf("pread '%s'\n", buf);
    printf("tell after pread %lld\n", (long long)lseek(fd, 0, SEEK_CUR));
    TRY("ftruncate 5", ftruncate(fd, 5));
    fstat(fd, &st);
    printf("size after truncate %lld\n", (long long)st.st_size);
    TRY("fsync", fsync(fd));
    TRY("fdatasync", fdatasync(fd));
    TRY("fadvise", posix_fadvise(fd, 0, 5, POSIX_FADV_SEQUENTIAL) ? -1 : 0);
    TRY("futimens", futimens(fd, (struct timespec[]){{1000000000, 5}, {1500000000, 7}}));
    fstat(fd, &st);
    printf("times %lld.%ld %lld.%ld\n", (long long)st.st_atim.tv_sec, st.st_atim.tv_nsec,
           (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
    TRY("close", close(fd));
    TRY("close again", close(fd));
    TRY("read closed", read(fd, buf, 1));

    /* Append mode and fd flags. */
    fd = open("/sandbox/a.txt", O_WRONLY | O_APPEND);
    TRY("open append", fd);
    printf("append flag %d\n", (fcntl(fd, F_GETFL) & O_APPEND) != 0);
    TRY("append", write(fd, "+tail", 5));
    TRY("clear append", fcntl(fd, F_SETFL, 0));
    printf("append flag %d\n", (fcntl(fd, F_GETFL) & O_APPEND) != 0);
    close(fd);
    fd = open("/sandbox/a.txt", O_RDONLY);
    memset(buf, 0, sizeof buf);
    read(fd, buf, sizeof buf - 1);
    printf("contents '%s'\n", buf);
    TRY("write to read-only fd", write(fd, "x", 1));

    /* Renumber: the file moves onto another descriptor, closing that one. */
    int other = open("/sandbox/b.txt", O_CREAT | O_WRONLY, 0644);
    TRY("create b.txt", other);
    write(other, "bee", 3);
    WASI("renumber", __wasi_fd_renumber(fd, other));
    TRY("old number closed", lseek(fd, 0, SEEK_SET));
    TRY("seek renumbered", lseek(other, 0, SEEK_SET));
    memset(buf, 0, sizeof buf);
    read(other, buf, 5);
    printf("renumbered reads '%s'\n", buf);
    WASI("renumber to closed", __wasi_fd_renumber(other, 40));
    close(other);

    /* Folders. */
    TRY("mkdir d", mkdir("/sandbox/d", 0755));
    TRY("mkdir d again", mkdir("/sandbox/d", 0755));
    TRY("create d/inner", close(open("/sandbox/d/inner", O_CREAT | O_WRONLY, 0644)));
    TRY("rmdir non-empty", rmdir("/sandbox/d"));
    TRY("open file as folder", open("/sandbox/a.txt", O_RDONLY | O_DIRECTORY));
    TRY("open missing", open("/sandbox/missing", O_RDONLY));
    TRY("create existing exclusively", open("/sandbox/a.txt", O_CREAT | O_EXCL | O_WRONLY, 0644));
    TRY("write a folder", open("/sandbox/d", O_WRONLY));
    TRY("unlink a folder", unlink("/sandbox/d"));
    TRY("rmdir a file", rmdir("/sandbox/a.txt"));
    TRY("stat missing", stat("/sandbox/nope", &st));
    TRY("stat d", stat("/sandbox/d", &st));
    printf("d is dir %d\n", S_ISDIR(st.st_mode));
    list("/sandbox");
    list("/sandbox/d");

    /* Links. */
    TRY("rename a -> d/a", rename("/sandbox/a.txt", "/sandbox/d/a.txt"));
    TRY("rename missing", rename("/sandbox/a.txt", "/sandbox/c.txt"));
    TRY("hard link", link("/sandbox/d/a.txt", "/sandbox/hard.txt"));
    TRY("stat hard link", stat("/sandbox/hard.txt", &st));
    printf("nlink %d size %lld\n", (int)st.st_nlink, (long long)st.st_size);
    TRY("symlink", symlink("d/a.txt", "/sandbox/soft"));
    memset(buf, 0, sizeof buf);
    TRY("readlink", readlink("/sandbox/soft", buf, sizeof buf - 1));
    printf("soft -> %s\n", buf);
    memset(buf, 0, sizeof buf);
    TRY("readlink short buffer", readlink("/sandbox/soft", buf, 3));
    printf("cut to '%s'\n", buf);
    TRY("readlink a file", readlink("/sandbox/hard.txt", buf, sizeof buf));
    TRY("lstat soft", lstat("/sandbox/soft", &st));
    printf("soft is link %d\n", S_ISLNK(st.st_mode));
    TRY("stat through soft", stat("/sandbox/soft", &st));
    printf("target size %lld\n", (long long)st.st_size);
    fd = open("/sandbox/soft", O_RDONLY);
    TRY("open through soft", fd);
    memset(buf, 0, sizeof buf);
    read(fd, buf, 5);
    printf("through soft '%s'\n", buf);
    close(fd);
    TRY("open soft nofollow", open("/sandbox/soft", O_RDONLY | O_NOFOLLOW));
    TRY("utimensat", utimensat(AT_FDCWD, "/sandbox/hard.txt", (struct timespec[]){{2000000000, 0}, {2100000000, 0}}, 0));
    stat("/sandbox/hard.txt", &st);
    printf("times %lld %lld\n", (long long)st.st_atim.tv_sec, (long long)st.st_mtim.tv_sec);
    TRY("utimensat now", utimensat(AT_FDCWD, "/sandbox/hard.txt", (struct timespec[]){{0, UTIME_NOW}, {0, UTIME_OMIT}}, 0));
    TRY("unlink soft", unlink("/sandbox/soft"));
    TRY("unlink hard", unlink("/sandbox/hard.txt"));
    TRY("unlink again", unlink("/sandbox/hard.txt"));
    TRY("unlink d/inner", unlink("/sandbox/d/inner"));
    list("/sandbox");
    list("/sandbox/d");

    /* A folder with more entries than one fd_readdir buffer holds. */
    mkdir("/sandbox/many", 0755);
    for (int i = 0; i < 100; i++) {
        char path[64];
        snprintf(path, sizeof path, "/sandbox/many/entry-with-a-long-name-%02d", i);
        close(open(path, O_CREAT | O_WRONLY, 0644));
    }
    int count = 0;
    DIR *d = opendir("/sandbox/many");
    while (readdir(d))
        count++;
    closedir(d);
    printf("many has %d entries\n", count);
    return 0;
}
