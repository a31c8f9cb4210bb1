/* Inline, branchless single-precision exp for the engine's hot loops.
 *
 * A call to libm's (or libmvec's) expf inside a vectorised loop forces the
 * compiler to spill every live vector register around the call; inlined, the
 * loops stay in registers.  Cody-Waite range reduction and polynomials:
 * relative error ~2e-7 over the clamped range (exp; expm1 as well, near 0
 * included).
 */
#ifndef EMU_FASTMATH_H
#define EMU_FASTMATH_H
#include <math.h>
#include <stdint.h>

/* The range reduction of exp: r = x - n ln 2 in [-ln2/2, ln2/2] (Cody-Waite,
 * x clamped to [-88, 88]) and *scale = 2^n.  Below x ~ -87.68 (exp(x) <
 * 8.3e-39, below the smallest normal float) n = -127 and the scale's bits
 * are those of 0: exp is 0 and expm1 -1, as they are where the engine
 * flushes subnormals (_fpmode.h).  (A clamp at -87 left ~1.6e-38, and a
 * product of it with a small factor came out 0 or not depending on how the
 * compiler ordered the products.) */
static inline float emu_exp_reduce(float x, float *scale)
{
    union { int32_t i; float f; } bits;
    float n, r;
    x = x < -88.0f ? -88.0f : x;
    x = x > 88.0f ? 88.0f : x;
    n = floorf(x * 1.44269504088896341f + 0.5f);
    r = x - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    bits.i = ((int32_t)n + 127) << 23;
    *scale = bits.f;
    return r;
}

/* exp: 1 + r + r^2 P(r) with P of degree 3, minimax for the relative error
 * of exp on the reduced range (1.1e-7 in exact arithmetic; Cephes' degree 5
 * is more than float32 holds) in two levels of Estrin's scheme: the hot
 * loops are bound by their multiply-adds (the kernel's exps sit on one
 * dependency chain per neuron, and its length limits how many neurons
 * overlap in flight) */
static inline float emu_expf(float x)
{
    float scale, r = emu_exp_reduce(x, &scale), r2 = r * r;
    float p = (1.6667114198e-1f * r + 4.9999231100e-1f)
              + r2 * (8.3125252277e-3f * r + 4.1890114546e-2f);
    float q = p * r2 + r;
    return q * scale + scale;
}

/* exp(x) - 1 without the cancellation of 1 - exp(x) near 0: Cephes'
 * polynomial (r + r^2 P(r), P of degree 5: its relative error holds for
 * small results), ~1e-7 relative over the range */
static inline float emu_expm1f(float x)
{
    float scale, r = emu_exp_reduce(x, &scale), r2 = r * r, r4 = r2 * r2;
    float p = (1.6666665459e-1f * r + 5.0000001201e-1f)
              + r2 * (8.3334519073e-3f * r + 4.1665795894e-2f)
              + r4 * (1.9875691500e-4f * r + 1.3981999507e-3f);
    float q = p * r2 + r;
    /* -ffast-math would regroup q * scale + (scale - 1) into
     * (q * scale + scale) - 1 and bring the cancellation back: a fused
     * multiply-add where the target has one (one instruction), else q itself
     * where n = 0 (elsewhere |exp(x) - 1| > 0.29 and the regrouping harmless) */
#if defined(__FMA__) || defined(__aarch64__)
    return fmaf(q, scale, scale - 1.0f);
#else
    return scale == 1.0f ? q : q * scale + (scale - 1.0f);
#endif
}

/* Natural logarithm of a positive, normal x: the exponent from the bits, the
 * mantissa m in [sqrt(1/2), sqrt(2)) through the Cephes polynomial of m - 1;
 * relative error ~1e-7. */
static inline float emu_logf(float x)
{
    union { int32_t i; float f; } bits;
    float e, f, z, y;
    int32_t big;
    bits.f = x;
    e = (float)((bits.i >> 23) - 127);
    bits.i = (bits.i & 0x007fffff) | 0x3f800000;          /* m in [1, 2) */
    big = bits.f > 1.41421356f;
    f = big ? 0.5f * bits.f - 1.0f : bits.f - 1.0f;
    e = big ? e + 1.0f : e;
    z = f * f;
    y = 7.0376836292e-2f;
    y = y * f - 1.1514610310e-1f;
    y = y * f + 1.1676998740e-1f;
    y = y * f - 1.2420140846e-1f;
    y = y * f + 1.4249322787e-1f;
    y = y * f - 1.6668057665e-1f;
    y = y * f + 2.0000714765e-1f;
    y = y * f - 2.4999993993e-1f;
    y = y * f + 3.3333331174e-1f;
    y = y * f * z;
    y += -2.12194440e-4f * e;
    y += -0.5f * z;
    return f + y + 0.693359375f * e;
}

/* sin and cos of x in [0, 2 pi] (Box-Muller's angles): one reduction to
 * [-pi/4, pi/4] around the nearest multiple of pi/2 and the Cephes
 * polynomials; absolute error ~1e-7.  Inline, so that both stay in a
 * vectorised loop's registers. */
static inline void emu_sincosf(float x, float *sine, float *cosine)
{
    float n = floorf(x * 0.63661977236758134f + 0.5f);    /* x / (pi / 2) */
    float r = x - n * 1.5703125f;
    float r2, s, c, swap_s, swap_c;
    int32_t q = (int32_t)n;
    r = r - n * 4.8375129699707031e-4f;
    r = r - n * 7.5497899548918821e-8f;
    r2 = r * r;
    s = -1.9515295891e-4f;
    s = s * r2 + 8.3321608736e-3f;
    s = s * r2 - 1.6666654611e-1f;
    s = s * r2 * r + r;
    c = 2.443315711809948e-5f;
    c = c * r2 - 1.388731625493765e-3f;
    c = c * r2 + 4.166664568298827e-2f;
    c = c * r2 * r2 - 0.5f * r2 + 1.0f;
    swap_s = (q & 1) ? c : s;
    swap_c = (q & 1) ? s : c;
    *sine = (q & 2) ? -swap_s : swap_s;
    *cosine = ((q + 1) & 2) ? -swap_c : swap_c;
}

#endif
