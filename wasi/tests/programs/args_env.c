/* args_get, args_sizes_get, environ_get, environ_sizes_get, proc_exit. */
#include <stdlib.h>
#include "common.h"

extern char **environ;

int main(int argc, char **argv) {
    printf("argc=%d\n", argc);
    for (int i = 1; i < argc; i++)
        printf("argv[%d]=%s\n", i, argv[i]);
    int count = 0;
    for (char **e = environ; *e; e++)
        count++;
    printf("environ has %d entries\n", count);
    const char *greeting = getenv("GREETING");
    printf("GREETING=%s\n", greeting ? greeting : "(unset)");
    printf("MISSING=%s\n", getenv("MISSING") ? "set" : "(unset)");
    fflush(stdout);
    /* The exit status is the number of arguments after the program's name. */
    exit(argc - 1);
}
