/*
 * interp.c - a small register-machine bytecode interpreter.
 *
 * A `switch` over 14 dense opcodes inside a dispatch loop: the classic
 * shape of an interpreter, which clang compiles to a wasm `br_table` (and
 * to a jump table natively).  The generated program is a loop that runs an
 * LCG, scatters values into a 1024-word memory and mixes them into an
 * accumulator.  Measures indirect-branch dispatch, the JIT's br_table
 * lowering, and loads/stores of a register file held in memory.
 *
 * Size n: loop iterations of the generated program (17 instructions each).
 * Self-check: 1000 iterations of the program are checked against the same
 * computation written directly in C.
 */
#include "kernel.h"

enum opcode {
    OP_HALT,  /*                      stop                            */
    OP_LI,    /* a, imm               r[a] = imm                      */
    OP_MOV,   /* a, b                 r[a] = r[b]                     */
    OP_ADD,   /* a, b                 r[a] += r[b]                    */
    OP_SUB,   /* a, b                 r[a] -= r[b]                    */
    OP_MUL,   /* a, b                 r[a] *= r[b]                    */
    OP_XOR,   /* a, b                 r[a] ^= r[b]                    */
    OP_AND,   /* a, b                 r[a] &= r[b]                    */
    OP_SHL,   /* a, imm               r[a] <<= imm                    */
    OP_SHR,   /* a, imm               r[a] >>= imm                    */
    OP_LOAD,  /* a, b                 r[a] = mem[r[b] & MEM_MASK]     */
    OP_STORE, /* a, b                 mem[r[b] & MEM_MASK] = r[a]     */
    OP_DEC,   /* a                    r[a] -= 1                       */
    OP_JNZ,   /* a, imm               if (r[a] != 0) pc = imm         */
};

typedef struct {
    uint8_t op, a, b;
    uint32_t imm;
} insn_t;

#define NREGS 8
#define MEM_WORDS 1024u
#define MEM_MASK (MEM_WORDS - 1)
#define MAX_CODE 64
#define SEED 0x12345678u

static insn_t code[MAX_CODE];
static uint32_t code_len;
static uint32_t mem[MEM_WORDS];
static uint32_t ref_mem[MEM_WORDS];

static void emit(uint8_t op, uint8_t a, uint8_t b, uint32_t imm) {
    code[code_len++] = (insn_t){ op, a, b, imm };
}

/* Generates the benchmark program for `iters` loop iterations. */
static void generate(uint32_t iters) {
    code_len = 0;
    emit(OP_LI, 0, 0, iters);       /* r0: loop counter */
    emit(OP_LI, 1, 0, SEED);        /* r1: LCG state */
    emit(OP_LI, 2, 0, 0);           /* r2: accumulator */
    emit(OP_LI, 3, 0, 1664525u);    /* r3: LCG multiplier */
    emit(OP_LI, 4, 0, 1013904223u); /* r4: LCG increment */
    emit(OP_LI, 7, 0, 0);           /* r7: running difference */
    uint32_t loop = code_len;
    emit(OP_MUL, 1, 3, 0);          /* r1 = r1 * a + c */
    emit(OP_ADD, 1, 4, 0);
    emit(OP_MOV, 5, 1, 0);          /* r5 = r1 >> 20: memory index */
    emit(OP_SHR, 5, 0, 20);
    emit(OP_LOAD, 6, 5, 0);         /* r6 = mem[r5] + r1 */
    emit(OP_ADD, 6, 1, 0);
    emit(OP_STORE, 6, 5, 0);        /* mem[r5] = r6 */
    emit(OP_XOR, 2, 6, 0);          /* r2 = (r2 ^ r6) * 33 */
    emit(OP_MOV, 5, 2, 0);
    emit(OP_SHL, 5, 0, 5);
    emit(OP_ADD, 2, 5, 0);
    emit(OP_SUB, 7, 6, 0);          /* r7 -= r6; r7 ^= r7 & r2 */
    emit(OP_MOV, 5, 2, 0);
    emit(OP_AND, 5, 7, 0);
    emit(OP_XOR, 7, 5, 0);
    emit(OP_DEC, 0, 0, 0);
    emit(OP_JNZ, 0, 0, loop);
    emit(OP_HALT, 0, 0, 0);
}

/* Runs `code` on registers r; returns the number of instructions executed
 * or 0 on an invalid opcode. */
static uint64_t interpret(uint32_t *r) {
    uint64_t executed = 0;
    uint32_t pc = 0;
    for (;;) {
        const insn_t *in = &code[pc++];
        executed++;
        switch (in->op) {
        case OP_HALT:  return executed;
        case OP_LI:    r[in->a] = in->imm; break;
        case OP_MOV:   r[in->a] = r[in->b]; break;
        case OP_ADD:   r[in->a] += r[in->b]; break;
        case OP_SUB:   r[in->a] -= r[in->b]; break;
        case OP_MUL:   r[in->a] *= r[in->b]; break;
        case OP_XOR:   r[in->a] ^= r[in->b]; break;
        case OP_AND:   r[in->a] &= r[in->b]; break;
        case OP_SHL:   r[in->a] <<= in->imm & 31; break;
        case OP_SHR:   r[in->a] >>= in->imm & 31; break;
        case OP_LOAD:  r[in->a] = mem[r[in->b] & MEM_MASK]; break;
        case OP_STORE: mem[r[in->b] & MEM_MASK] = r[in->a]; break;
        case OP_DEC:   r[in->a] -= 1; break;
        case OP_JNZ:   if (r[in->a] != 0) pc = in->imm; break;
        default:       return 0;
        }
    }
}

static void clear_mem(void) {
    for (uint32_t i = 0; i < MEM_WORDS; i++)
        mem[i] = ref_mem[i] = i;
}

/* The generated program's loop body written directly in C. */
static void reference(uint32_t iters, uint32_t *r) {
    uint32_t lcg = SEED, acc = 0, diff = 0;
    for (uint32_t i = 0; i < iters; i++) {
        lcg = lcg * 1664525u + 1013904223u;
        uint32_t idx = lcg >> 20;
        uint32_t v = ref_mem[idx & MEM_MASK] + lcg;
        ref_mem[idx & MEM_MASK] = v;
        acc ^= v;
        acc += acc << 5;
        diff -= v;
        diff ^= diff & acc;
    }
    r[1] = lcg;
    r[2] = acc;
    r[7] = diff;
}

EXPORT(run) uint64_t run(uint32_t n) {
    uint32_t r[NREGS] = {0}, want[NREGS] = {0};

    /* Self-check on a short run. */
    clear_mem();
    generate(1000);
    interpret(r);
    reference(1000, want);
    if (r[1] != want[1] || r[2] != want[2] || r[7] != want[7])
        return KERNEL_FAIL(1);
    for (uint32_t i = 0; i < MEM_WORDS; i++)
        if (mem[i] != ref_mem[i])
            return KERNEL_FAIL(2);

    /* The measured run. */
    clear_mem();
    generate(n ? n : 1);
    for (uint32_t i = 0; i < NREGS; i++)
        r[i] = 0;
    uint64_t executed = interpret(r);
    if (executed == 0)
        return KERNEL_FAIL(3);

    uint64_t h = hash_add(HASH_INIT, executed);
    for (uint32_t i = 0; i < NREGS; i++)
        h = hash_add(h, r[i]);
    for (uint32_t i = 0; i < MEM_WORDS; i++)
        h = hash_add(h, mem[i]);
    return mix64(h);
}

EXPORT(full_n) uint32_t full_n(void) { return 8000000; }
EXPORT(smoke_n) uint32_t smoke_n(void) { return 5000; }
