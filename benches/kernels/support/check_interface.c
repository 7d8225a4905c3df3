/*
 * Checks that each wasm module given on the command line has exactly the
 * interface the bench harness expects: one import, env.memory (a memory),
 * and exactly the function exports run, full_n and smoke_n.  Prints what is
 * wrong and exits 1 otherwise.  Built and run by build.sh, so that a module
 * the harness cannot load fails the build, not the benchmark.
 *
 * Usage: check_interface FILE.wasm...
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct reader {
    const unsigned char *p, *end;
    const char *file;
};

static void fail(const struct reader *r, const char *what)
{
    fprintf(stderr, "%s: %s\n", r->file, what);
    exit(1);
}

static unsigned char byte(struct reader *r)
{
    if (r->p >= r->end)
        fail(r, "truncated module");
    return *r->p++;
}

static uint64_t leb(struct reader *r)
{
    uint64_t value = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        unsigned char b = byte(r);
        value |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return value;
    }
    fail(r, "bad LEB128");
    return 0;
}

/* A name, compared with `want` (NULL: skipped).  Returns 1 on a match. */
static int name_is(struct reader *r, const char *want)
{
    uint64_t len = leb(r);
    if (len > (uint64_t)(r->end - r->p))
        fail(r, "truncated name");
    int same = want && strlen(want) == len && memcmp(r->p, want, len) == 0;
    r->p += len;
    return same;
}

static void limits(struct reader *r)
{
    unsigned char flags = byte(r);
    leb(r);
    if (flags & 1)
        leb(r);
}

static void check(const char *file, const unsigned char *bytes, size_t len)
{
    struct reader r = {bytes, bytes + len, file};
    static const unsigned char header[8] = {0, 'a', 's', 'm', 1, 0, 0, 0};
    if (len < 8 || memcmp(bytes, header, 8) != 0)
        fail(&r, "not a wasm module");
    r.p += 8;
    static const char *const want[] = {"run", "full_n", "smoke_n"};
    int imports = 0, memory_import = 0, exported[3] = {0, 0, 0}, exports = 0;
    while (r.p < r.end) {
        unsigned char id = byte(&r);
        uint64_t size = leb(&r);
        if (size > (uint64_t)(r.end - r.p))
            fail(&r, "truncated section");
        struct reader s = {r.p, r.p + size, file};
        r.p += size;
        if (id == 2) { /* imports */
            for (uint64_t n = leb(&s); n > 0; n--) {
                int env = name_is(&s, "env");
                int memory = name_is(&s, "memory");
                unsigned char kind = byte(&s);
                switch (kind) {
                case 0: leb(&s); break;               /* function: type index */
                case 1: byte(&s); limits(&s); break;  /* table */
                case 2: limits(&s); break;            /* memory */
                case 3: byte(&s); byte(&s); break;    /* global */
                default: fail(&s, "unknown import kind");
                }
                imports++;
                if (env && memory && kind == 2)
                    memory_import = 1;
            }
        } else if (id == 7) { /* exports */
            for (uint64_t n = leb(&s); n > 0; n--) {
                const unsigned char *name = s.p;
                int which = -1;
                for (int i = 0; i < 3 && which < 0; i++) {
                    s.p = name;
                    if (name_is(&s, want[i]))
                        which = i;
                }
                if (which < 0) {
                    s.p = name;
                    name_is(&s, NULL);
                }
                unsigned char kind = byte(&s);
                leb(&s);
                exports++;
                if (which >= 0 && kind == 0)
                    exported[which]++;
            }
        }
    }
    if (!memory_import)
        fail(&r, "does not import env.memory (the harness supplies it)");
    if (imports != 1)
        fail(&r, "imports more than env.memory");
    for (int i = 0; i < 3; i++) {
        if (exported[i] != 1) {
            fprintf(stderr, "%s: does not export the function %s\n", file, want[i]);
            exit(1);
        }
    }
    if (exports != 3)
        fail(&r, "exports more than run, full_n and smoke_n");
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        if (!f) {
            perror(argv[i]);
            return 1;
        }
        size_t cap = 1 << 16, len = 0;
        unsigned char *bytes = malloc(cap);
        size_t got;
        while (bytes && (got = fread(bytes + len, 1, cap - len, f)) > 0) {
            len += got;
            if (len == cap)
                bytes = realloc(bytes, cap *= 2);
        }
        if (!bytes || ferror(f)) {
            fprintf(stderr, "%s: cannot read\n", argv[i]);
            return 1;
        }
        fclose(f);
        check(argv[i], bytes, len);
        free(bytes);
    }
    return 0;
}
