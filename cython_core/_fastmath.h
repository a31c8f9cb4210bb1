/* Inline, branchless single-precision exp for the engine's hot loops.
 *
 * A call to libm's (or libmvec's) expf inside a vectorised loop forces the
 * compiler to spill every live vector register around the call; inlined, the
 * loops stay in registers.  Cody-Waite range reduction and the Cephes
 * polynomial: relative error ~2e-7 over the clamped range.
 */
#ifndef EMU_FASTMATH_H
#define EMU_FASTMATH_H
#include <math.h>
#include <stdint.h>

static inline float emu_expf(float x)
{
    union { int32_t i; float f; } scale;
    float n, r, p;
    x = x < -87.0f ? -87.0f : x;   /* exp(-87) ~ 1.6e-38: smallest normal */
    x = x > 88.0f ? 88.0f : x;
    n = floorf(x * 1.44269504088896341f + 0.5f);
    r = x - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    scale.i = ((int32_t)n + 127) << 23;
    return p * scale.f;
}

#endif
