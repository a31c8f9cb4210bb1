/* The engine's loop runs with subnormal floats flushed to zero.
 *
 * Quantities that decay geometrically without input (synaptic lines,
 * adaptation) pass through the subnormal range (below 1.2e-38) for some 800
 * steps on their way to zero, and a sensor pairing with a spike long past
 * multiplies a tiny exp by its amplitude; each such operation took a
 * microcode assist here.  A full chip whose input stops after a tenth of the
 * run (engine_full_chip.py) took 12.0 / 10.2 ms in the engine against 8.0 /
 * 8.4 ms flushed.  Values that small (mV, nA) are no signal; without SSE or
 * AArch64 the mode stays as it is.
 */
#ifndef EMU_FPMODE_H
#define EMU_FPMODE_H

#if defined(__SSE__) || defined(__x86_64__)
#include <xmmintrin.h>
/* flush-to-zero (bit 15) and denormals-are-zero (bit 6) of MXCSR */
#define EMU_FLUSH_BITS 0x8040u
static inline unsigned long emu_flush_subnormals(void)
{
    unsigned int previous = _mm_getcsr();
    _mm_setcsr(previous | EMU_FLUSH_BITS);
    return previous;
}
static inline void emu_restore_fp_mode(unsigned long previous)
{
    _mm_setcsr((unsigned int)previous);
}
#elif defined(__aarch64__)
/* FZ, bit 24 of FPCR */
static inline unsigned long emu_flush_subnormals(void)
{
    unsigned long previous;
    __asm__ __volatile__("mrs %0, fpcr" : "=r"(previous));
    __asm__ __volatile__("msr fpcr, %0" : : "r"(previous | (1ul << 24)));
    return previous;
}
static inline void emu_restore_fp_mode(unsigned long previous)
{
    __asm__ __volatile__("msr fpcr, %0" : : "r"(previous));
}
#else
static inline unsigned long emu_flush_subnormals(void) { return 0; }
static inline void emu_restore_fp_mode(unsigned long previous) { (void)previous; }
#endif

#endif
