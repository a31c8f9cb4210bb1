# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Temporal noise of the readout and the CADC's per-channel conversion, compiled.

Random numbers come from a counter-based generator: word i of a draw is a
32-bit integer hash of (i, key), so every element is independent of the
others and the loop vectorises (no generator state is carried from element to
element).  A uniform takes one word; Box-Muller turns pairs of words into
pairs of normals.  The key comes from the run's seeded numpy generator, so
results stay reproducible.
"""
from libc.math cimport floor, sqrtf
from libc.stdlib cimport free, malloc
from libc.stdint cimport uint32_t, uint64_t

cdef extern from "_fastmath.h":
    float emu_logf(float x) nogil
    void emu_sincosf(float x, float* sine, float* cosine) nogil

DEF TWO_PI = 6.283185307179586
DEF INV_2_24 = 5.9604644775390625e-08      # 2**-24: uniforms from the top 24 bits
DEF INV_2_32 = 2.3283064365386963e-10      # 2**-32: uniforms from a whole word
DEF TILE = 8


cdef inline uint32_t _hash(uint32_t x) noexcept nogil:
    # "lowbias32" (C. Wellons, hash-prospector): a bijective integer hash with
    # near-ideal avalanche
    x ^= x >> 16
    x *= 0x7feb352du
    x ^= x >> 15
    x *= 0x846ca68bu
    x ^= x >> 16
    return x


cdef inline void _key_words(uint64_t key, uint32_t* low, uint32_t* high) noexcept nogil:
    # both words of the key enter both rounds: keys that differ in one bit
    # (2026, 2027) must not give shifted copies of one stream
    low[0] = _hash(<uint32_t>key ^ _hash(<uint32_t>(key >> 32) ^ 0x9e3779b9u))
    high[0] = _hash(<uint32_t>(key >> 32) ^ _hash(<uint32_t>key ^ 0x85ebca6bu))


cdef inline uint32_t _word(uint32_t j, uint32_t low, uint32_t high) noexcept nogil:
    # random word j of the stream keyed by (low, high)
    return _hash(_hash(j ^ low) ^ high)


cdef void _fill_uniform(double* out, Py_ssize_t n, uint64_t key) noexcept nogil:
    """n uniform numbers in [0, 1) with 32 random bits: element i from word i."""
    cdef uint32_t low, high
    cdef Py_ssize_t i
    _key_words(key, &low, &high)
    for i in range(n):
        out[i] = <double>_word(<uint32_t>i, low, high) * INV_2_32


cdef void _fill_normal(float* out, Py_ssize_t n, uint64_t key) noexcept nogil:
    """n standard normals: pair k (Box-Muller on words 2k and 2k + 1) gives
    out[k] and out[half + k], so that both stores are contiguous."""
    cdef uint32_t low, high
    cdef Py_ssize_t half = (n + 1) // 2, k
    cdef float sine, cosine
    _key_words(key, &low, &high)
    for k in range(n // 2):
        _normal_pair(_word(2 * <uint32_t>k, low, high), _word(2 * <uint32_t>k + 1, low, high),
                     &out[k], &out[half + k])
    if n % 2:
        k = n // 2
        _normal_pair(_word(2 * <uint32_t>k, low, high), _word(2 * <uint32_t>k + 1, low, high),
                     &out[k], &sine)


cdef inline void _normal_pair(uint32_t a, uint32_t b, float* first,
                              float* second) noexcept nogil:
    # the logarithm, sine and cosine inline (_fastmath.h): libmvec's vector
    # calls made the loop spill its registers three times per pair
    # u1 in (0, 1): never 0, so the logarithm stays finite (|z| <= 5.9)
    cdef float u1 = (<float>(a >> 8) + 0.5) * INV_2_24
    cdef float radius = sqrtf(-2.0 * emu_logf(u1))
    cdef float sine, cosine
    emu_sincosf(<float>(b >> 8) * INV_2_24 * TWO_PI, &sine, &cosine)
    first[0] = radius * cosine
    second[0] = radius * sine


cdef inline void _check_count(Py_ssize_t n) except *:
    if n >= 0xFFFFFFFF:
        raise ValueError(f"{n} normal numbers in one draw; at most {0xFFFFFFFE}")


def uniform(double[::1] out, uint64_t key):
    """Fill `out` with uniform numbers in [0, 1) drawn with `key`."""
    _check_count(2 * out.shape[0])
    if out.shape[0]:
        with nogil:
            _fill_uniform(&out[0], out.shape[0], key)


def standard_normal(float[::1] out, uint64_t key):
    """Fill `out` with standard normal numbers drawn with `key` (float32)."""
    _check_count(out.shape[0])
    if out.shape[0]:
        with nogil:
            _fill_normal(&out[0], out.shape[0], key)


ctypedef fused real:
    float
    double


def channel_codes(const real[:, :] values, const double[::1] scale, const double[::1] shift,
                  double noise_sd, uint64_t key, bint floor_codes, double code_max,
                  double[:, ::1] out):
    """out[r, c] = clip(values[r, c] * scale[c] + shift[c] + noise, 0, code_max),
    rounded down with `floor_codes`; noise ~ N(0, noise_sd) per element (none
    for noise_sd 0).  `values` may be strided (e.g. a transposed array)."""
    cdef Py_ssize_t rows = values.shape[0], columns = values.shape[1], r, c, i, r0, r1, c0, c1
    cdef Py_ssize_t n = rows * columns
    cdef double code
    cdef double* flat
    cdef float* noise
    if scale.shape[0] != columns or shift.shape[0] != columns:
        raise ValueError("scale and shift need one value per column")
    if out.shape[0] != rows or out.shape[1] != columns:
        raise ValueError("out must have the shape of values")
    _check_count(n)
    if n == 0:
        return
    flat = &out[0, 0]
    with nogil:
        if values.strides[0] < values.strides[1]:
            # column-major values (a transposed view, as the engine keeps the
            # causal sensors): tiles of TILE x TILE, read along the columns,
            # keep both the reads and the writes within a few cache lines
            for r0 in range(0, rows, TILE):
                r1 = r0 + TILE if r0 + TILE < rows else rows
                for c0 in range(0, columns, TILE):
                    c1 = c0 + TILE if c0 + TILE < columns else columns
                    for c in range(c0, c1):
                        for r in range(r0, r1):
                            out[r, c] = values[r, c] * scale[c] + shift[c]
        else:
            for r in range(rows):
                for c in range(columns):
                    out[r, c] = values[r, c] * scale[c] + shift[c]
        if noise_sd > 0.0:
            noise = <float*>malloc(n * sizeof(float))
            if noise == NULL:
                with gil:
                    raise MemoryError()
            _fill_normal(noise, n, key)
            for i in range(n):
                flat[i] += noise_sd * noise[i]
            free(noise)
        for i in range(n):
            code = floor(flat[i]) if floor_codes else flat[i]
            flat[i] = 0.0 if code < 0.0 else (code_max if code > code_max else code)
