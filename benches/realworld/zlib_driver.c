/* zlib: compresses and decompresses a generated text in memory at three levels, then writes
 * it as a gzip file `out.gz` in the current folder (the host's gzip must read it back) and
 * reads that file back with gzread. Prints sizes and CRC-32s; the same under wasm and
 * native. Argument: the text size in KiB (default 4096). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "zlib.h"

static unsigned char *make_text(size_t len) {
    static const char *words[] = {"lorem", "ipsum", "dolor", "sit", "amet", "wasm", "zlib",
                                  "deflate", "inflate", "window", "huffman", "stream"};
    unsigned char *text = malloc(len);
    unsigned seed = 12345;
    size_t i = 0;
    while (i < len) {
        seed = seed * 1103515245u + 12345u;
        const char *w = words[(seed >> 16) % 12];
        for (const char *c = w; *c && i < len; c++)
            text[i++] = *c;
        if (i < len)
            text[i++] = (seed >> 8) % 17 == 0 ? '\n' : ' ';
    }
    return text;
}

int main(int argc, char **argv) {
    size_t len = (size_t)(argc > 1 ? atoi(argv[1]) : 4096) * 1024;
    unsigned char *text = make_text(len);
    printf("input %zu bytes, crc32 %08lx\n", len, crc32(0, text, (uInt)len));
    uLongf bound = compressBound(len);
    unsigned char *packed = malloc(bound), *unpacked = malloc(len);
    for (int level = 1; level <= 9; level += 4) {
        uLongf packed_len = bound, unpacked_len = len;
        if (compress2(packed, &packed_len, text, len, level) != Z_OK) {
            printf("compress2 failed\n");
            return 1;
        }
        if (uncompress(unpacked, &unpacked_len, packed, packed_len) != Z_OK ||
            unpacked_len != len || memcmp(unpacked, text, len) != 0) {
            printf("round trip failed at level %d\n", level);
            return 1;
        }
        printf("level %d: %lu bytes, crc32 %08lx\n", level, (unsigned long)packed_len,
               crc32(0, packed, (uInt)packed_len));
    }
    gzFile out = gzopen("out.gz", "wb6");
    if (!out || gzwrite(out, text, (unsigned)len) != (int)len || gzclose(out) != Z_OK) {
        printf("gzip write failed\n");
        return 1;
    }
    gzFile in = gzopen("out.gz", "rb");
    size_t got = 0;
    int n;
    while ((n = gzread(in, unpacked + got, (unsigned)(len - got))) > 0)
        got += (size_t)n;
    gzclose(in);
    printf("gzip file read back: %zu bytes, %s\n", got,
           got == len && memcmp(unpacked, text, len) == 0 ? "same" : "DIFFERENT");
    return 0;
}
