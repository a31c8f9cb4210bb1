/* Which neurons of a block crossed their threshold in a step: bit i of the
 * mask is set where offsets[i] >= 0 (the kernel's spike offset; -1 where
 * none), for count <= 32 neurons.
 *
 * With AVX-512 or AVX2 the mask comes from vector compares (2 or 4 per
 * block); the engine then checks every block of a step with spikes at once.
 * gcc compiled the plain loop into scalar code that assembled the bits one
 * by one, and a vectorised maximum over each block first (to pass over the
 * blocks without a crossing) reduced horizontally: together ~0.5 ms of the
 * 10,000 steps of a full chip.  Elsewhere: that maximum, then the loop.
 */
#ifndef EMU_SPIKEMASK_H
#define EMU_SPIKEMASK_H
#include <stdint.h>
#if defined(__AVX512F__) || defined(__AVX2__)
#include <immintrin.h>
#endif

static inline uint32_t emu_crossed_scalar(const float *offsets, int count)
{
    float latest = -1.0f;
    uint32_t mask = 0;
    int i;
    for (i = 0; i < count; i++)
        latest = offsets[i] > latest ? offsets[i] : latest;
    if (latest < 0.0f)
        return 0;
    for (i = 0; i < count; i++)
        mask |= (uint32_t)(offsets[i] >= 0.0f) << i;
    return mask;
}

static inline uint32_t emu_crossed(const float *offsets, int count)
{
#if defined(__AVX512F__)
    if (count == 32) {
        __m512 zero = _mm512_setzero_ps();
        uint32_t low = _mm512_cmp_ps_mask(_mm512_loadu_ps(offsets), zero, _CMP_GE_OQ);
        uint32_t high = _mm512_cmp_ps_mask(_mm512_loadu_ps(offsets + 16), zero, _CMP_GE_OQ);
        return low | (high << 16);
    }
#elif defined(__AVX2__)
    if (count == 32) {
        __m256 zero = _mm256_setzero_ps();
        uint32_t mask = 0;
        int k;
        for (k = 0; k < 4; k++)
            mask |= (uint32_t)_mm256_movemask_ps(
                _mm256_cmp_ps(_mm256_loadu_ps(offsets + 8 * k), zero, _CMP_GE_OQ)) << (8 * k);
        return mask;
    }
#endif
    return emu_crossed_scalar(offsets, count);
}

#endif
