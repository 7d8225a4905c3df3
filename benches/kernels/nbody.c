/*
 * nbody.c - gravitational n-body simulation (symplectic Euler, doubles).
 *
 * A heavy central body with NBODIES-1 light bodies on perturbed circular
 * orbits.  Each step evaluates all pairwise forces (one sqrt and one divide
 * per pair) and then advances positions.  Measures scalar f64 arithmetic,
 * sqrt/div latency and register allocation of a loop body with many live
 * doubles; the arrays are tiny, so memory plays no role.
 *
 * Size n: number of time steps.
 * Self-check: total energy must be finite and drift by less than 1%.
 */
#include "kernel.h"

#define NBODIES 16
#define DT 0.001

static double px[NBODIES], py[NBODIES], pz[NBODIES];
static double vx[NBODIES], vy[NBODIES], vz[NBODIES];
static double mass[NBODIES];

static void init_bodies(void) {
    rng_t rng = rng_new(0x6e626f6479ULL);
    const double central = 1000.0;
    mass[0] = central;
    px[0] = py[0] = pz[0] = 0.0;
    vx[0] = vy[0] = vz[0] = 0.0;
    for (uint32_t i = 1; i < NBODIES; i++) {
        /* Radius grows with i so orbits stay well separated. */
        double r = 2.0 + 1.5 * i + 0.5 * rng_f64(&rng);
        double v = __builtin_sqrt(central / r) * (0.95 + 0.1 * rng_f64(&rng));
        /* Start on one of four axis directions, orbiting counter-clockwise. */
        double sx = (i & 1) ? 1.0 : 0.0, sy = (i & 1) ? 0.0 : 1.0;
        if (i & 2) {
            sx = -sx;
            sy = -sy;
        }
        mass[i] = 0.001 + 0.01 * rng_f64(&rng);
        px[i] = r * sx;
        py[i] = r * sy;
        pz[i] = 0.05 * r * (rng_f64(&rng) - 0.5);
        vx[i] = -v * sy;
        vy[i] = v * sx;
        vz[i] = 0.0;
    }
    /* Give the central body the momentum that makes the total zero. */
    double mx = 0.0, my = 0.0, mz = 0.0;
    for (uint32_t i = 1; i < NBODIES; i++) {
        mx += mass[i] * vx[i];
        my += mass[i] * vy[i];
        mz += mass[i] * vz[i];
    }
    vx[0] = -mx / central;
    vy[0] = -my / central;
    vz[0] = -mz / central;
}

static void advance(void) {
    for (uint32_t i = 0; i < NBODIES; i++) {
        double xi = px[i], yi = py[i], zi = pz[i], mi = mass[i];
        double vxi = vx[i], vyi = vy[i], vzi = vz[i];
        for (uint32_t j = i + 1; j < NBODIES; j++) {
            double dx = xi - px[j], dy = yi - py[j], dz = zi - pz[j];
            double d2 = dx * dx + dy * dy + dz * dz;
            double mag = DT / (d2 * __builtin_sqrt(d2));
            double mj = mass[j] * mag, mim = mi * mag;
            vxi -= dx * mj;
            vyi -= dy * mj;
            vzi -= dz * mj;
            vx[j] += dx * mim;
            vy[j] += dy * mim;
            vz[j] += dz * mim;
        }
        vx[i] = vxi;
        vy[i] = vyi;
        vz[i] = vzi;
    }
    for (uint32_t i = 0; i < NBODIES; i++) {
        px[i] += DT * vx[i];
        py[i] += DT * vy[i];
        pz[i] += DT * vz[i];
    }
}

static double energy(void) {
    double e = 0.0;
    for (uint32_t i = 0; i < NBODIES; i++) {
        e += 0.5 * mass[i] * (vx[i] * vx[i] + vy[i] * vy[i] + vz[i] * vz[i]);
        for (uint32_t j = i + 1; j < NBODIES; j++) {
            double dx = px[i] - px[j], dy = py[i] - py[j], dz = pz[i] - pz[j];
            double r = __builtin_sqrt(dx * dx + dy * dy + dz * dz);
            e -= mass[i] * mass[j] / r;
        }
    }
    return e;
}

EXPORT(run) uint64_t run(uint32_t n) {
    init_bodies();
    double e0 = energy();
    for (uint32_t step = 0; step < n; step++)
        advance();
    double e1 = energy();

    double drift = (e1 - e0) / e0;
    if (!(drift > -0.01 && drift < 0.01)) /* also rejects NaN */
        return KERNEL_FAIL(1);

    uint64_t h = hash_add(hash_add(HASH_INIT, f64_bits(e0)), f64_bits(e1));
    for (uint32_t i = 0; i < NBODIES; i++) {
        h = hash_add(h, f64_bits(px[i]));
        h = hash_add(h, f64_bits(py[i]));
        h = hash_add(h, f64_bits(pz[i]));
    }
    return mix64(h);
}

EXPORT(full_n) uint32_t full_n(void) { return 400000; }
EXPORT(smoke_n) uint32_t smoke_n(void) { return 500; }
