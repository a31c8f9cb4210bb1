# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""A PPU program's arithmetic for pair-based STDP on correlation sensor reads.

The program reads the sensors through the CADC (PPUAccess.read_correlation)
and hands the codes here: one pass over the plastic synapses turns the drops
from the reset level into weighted pair sums, applies the weight dependence
and writes the new weights (sums over each synapse's parallel rows).  Nothing
here knows PyNN: the arrays are the chip's and the rule's.
"""
from libc.math cimport floor, ceil, pow
from libc.stdint cimport uint32_t, uint64_t
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy, memset

from cython.parallel cimport prange

from ._readout cimport _fill_normal, _fill_uniform
from ._types cimport crfloat, rfloat

cdef extern from *:
    ctypedef const double* crdouble "const double * __restrict__"

cdef extern from "_openmp.h":
    int EMU_OPENMP

DEF COLUMNS = 256
# the column-major causal sensors are read in tiles of TILE x TILE (as the CADC
# conversion of _readout does)
DEF TILE = 8


cdef inline double soft_bound(double distance, double mu) noexcept nogil:
    if mu == 0.0:
        return 1.0
    if mu == 1.0:
        return distance
    return pow(distance, mu)


def pair_stdp_update(const double[::1] causal, const double[::1] acausal,
                     const long[:, ::1] read_index, const long[:, ::1] synapse_index,
                     double[::1] weights,
                     const double[:, ::1] reset_code, const double[:, ::1] pairs_per_code,
                     const double[::1] causal_scale, const double[::1] acausal_scale,
                     const double[::1] a_plus, const double[::1] a_minus,
                     const double[::1] w_min, const double[::1] w_max,
                     const double[::1] mu_plus, const double[::1] mu_minus,
                     const double[::1] uniform, bint integer):
    """Update the weights of n synapses in place.

    causal, acausal: CADC codes of the rows read, flattened [rows * 256];
    read_index[i, k]: where synapse i's k-th parallel row sits in them;
    synapse_index[i, k]: its place in the hemisphere's flattened weights [256
    rows * 256 columns], which also gives its column.
    reset_code, pairs_per_code: per [branch (causal, acausal), column], the
    sensors' reset level (code) and the pairs one code of drop stands for.
    Pair sums: (reset - mean code over the parallel rows) * pairs_per_code *
    scale (the per-synapse delay correction).  Weight change:
    (w_max - w_min) (a+ (1 - x)^mu+ causal - a- x^mu- acausal), x the weight
    normalised to [w_min, w_max]; the result is clipped to the bounds and, with
    `integer`, rounded stochastically with `uniform` (one number per synapse)
    and spread over the parallel rows as integers differing by at most one.
    The per-synapse parameters (scales, a_plus ... mu_minus) hold one value
    per synapse or one for all.
    """
    cdef Py_ssize_t n = read_index.shape[0], parts = read_index.shape[1]
    cdef Py_ssize_t i, k, column
    cdef double c, a, w, span, x, new, low, high, base, rest, lo, hi
    cdef double inv_parts = 1.0 / parts
    # strides: 1 for a value per synapse, 0 for one value for all
    cdef Py_ssize_t s_cs = _stride(causal_scale, n, "causal_scale")
    cdef Py_ssize_t s_as = _stride(acausal_scale, n, "acausal_scale")
    cdef Py_ssize_t s_ap = _stride(a_plus, n, "a_plus")
    cdef Py_ssize_t s_am = _stride(a_minus, n, "a_minus")
    cdef Py_ssize_t s_lo = _stride(w_min, n, "w_min")
    cdef Py_ssize_t s_hi = _stride(w_max, n, "w_max")
    cdef Py_ssize_t s_mp = _stride(mu_plus, n, "mu_plus")
    cdef Py_ssize_t s_mm = _stride(mu_minus, n, "mu_minus")
    if synapse_index.shape[0] != n or synapse_index.shape[1] != parts:
        raise ValueError("read_index and synapse_index differ in shape")
    _check_tables(reset_code, pairs_per_code, uniform, n, integer)
    if (parts == 1 and s_cs + s_as + s_ap + s_am + s_lo + s_hi + s_mp + s_mm == 0
            and mu_plus[0] == 0.0 and mu_minus[0] == 0.0):
        # the common case (additive, one row per synapse, one rule): its loop
        # without per-synapse branches or divisions
        with nogil:
            _additive_single_rows(causal, acausal, read_index, synapse_index, weights,
                                  reset_code, pairs_per_code, causal_scale[0],
                                  acausal_scale[0], a_plus[0], a_minus[0], w_min[0],
                                  w_max[0], uniform, integer)
        return
    with nogil:
        for i in range(n):
            c = 0.0
            a = 0.0
            w = 0.0
            for k in range(parts):
                c += causal[read_index[i, k]]
                a += acausal[read_index[i, k]]
                w += weights[synapse_index[i, k]]
            column = synapse_index[i, 0] % COLUMNS
            c = ((reset_code[0, column] - c * inv_parts) * pairs_per_code[0, column]
                 * causal_scale[i * s_cs])
            a = ((reset_code[1, column] - a * inv_parts) * pairs_per_code[1, column]
                 * acausal_scale[i * s_as])
            lo = w_min[i * s_lo]
            hi = w_max[i * s_hi]
            span = hi - lo
            x = (w - lo) / span if span > 0.0 else 0.0
            x = 0.0 if x < 0.0 else (1.0 if x > 1.0 else x)
            new = w + span * (a_plus[i * s_ap] * soft_bound(1.0 - x, mu_plus[i * s_mp]) * c
                              - a_minus[i * s_am] * soft_bound(x, mu_minus[i * s_mm]) * a)
            new = lo if new < lo else (hi if new > hi else new)
            if integer:
                new = floor(new + uniform[i])
                low = ceil(lo - 1e-9)
                high = floor(hi + 1e-9)
                new = low if new < low else (high if new > high else new)
                base = floor(new * inv_parts + 1e-9)
                rest = new - base * parts
                for k in range(parts):
                    weights[synapse_index[i, k]] = base + (1.0 if k < rest else 0.0)
            else:
                for k in range(parts):
                    weights[synapse_index[i, k]] = new * inv_parts


cdef void _additive_single_rows(const double[::1] causal, const double[::1] acausal,
                                const long[:, ::1] read_index,
                                const long[:, ::1] synapse_index, double[::1] weights,
                                const double[:, ::1] reset_code,
                                const double[:, ::1] pairs_per_code,
                                double causal_scale, double acausal_scale, double a_plus,
                                double a_minus, double lo, double hi,
                                const double[::1] uniform, bint integer) noexcept nogil:
    """pair_stdp_update for one row per synapse and one additive rule."""
    cdef Py_ssize_t n = read_index.shape[0], i, j, column
    cdef double span = hi - lo
    cdef double potentiation = span * a_plus * causal_scale
    cdef double depression = span * a_minus * acausal_scale
    cdef double low = ceil(lo - 1e-9), high = floor(hi + 1e-9)
    cdef double new
    for i in range(n):
        j = read_index[i, 0]
        column = synapse_index[i, 0] % COLUMNS
        new = _additive(weights[synapse_index[i, 0]], causal[j], acausal[j],
                        reset_code[0, column], reset_code[1, column], pairs_per_code[0, column],
                        pairs_per_code[1, column], potentiation, depression, lo, hi)
        if integer:
            new = _rounded(new, uniform[i], low, high)
        weights[synapse_index[i, 0]] = new


cdef inline double _additive(double weight, double code_causal, double code_acausal,
                             double reset_causal, double reset_acausal, double pairs_causal,
                             double pairs_acausal, double potentiation, double depression,
                             double w_min, double w_max) noexcept nogil:
    # the additive rule on the drops of both branches from their reset codes
    cdef double new = (weight + potentiation * (reset_causal - code_causal) * pairs_causal
                       - depression * (reset_acausal - code_acausal) * pairs_acausal)
    return w_min if new < w_min else (w_max if new > w_max else new)


cdef inline double _rounded(double weight, double uniform, double low, double high) noexcept nogil:
    # stochastic rounding to an integer weight within [low, high]
    cdef double rounded = floor(weight + uniform)
    return low if rounded < low else (high if rounded > high else rounded)


cdef int _check_hemisphere(const float[:, ::1] values) except -1:
    # a hemisphere's per-synapse array (weights, their copies, steps, sensors)
    if values.shape[0] != COLUMNS or values.shape[1] != COLUMNS:
        raise ValueError(f"a hemisphere's arrays are {COLUMNS} x {COLUMNS}")
    return 0


cdef int _check_chip(const float[:, :, ::1] values) except -1:
    # a chip's per-synapse array, [2 hemispheres, 256 rows, 256 columns]
    if values.shape[0] != 2 or values.shape[1] != COLUMNS or values.shape[2] != COLUMNS:
        raise ValueError(f"a chip's synapse arrays are 2 x {COLUMNS} x {COLUMNS}")
    return 0


cdef int _check_tables(const double[:, ::1] reset_code, const double[:, ::1] pairs_per_code,
                       const double[::1] uniform, Py_ssize_t n, bint integer) except -1:
    if (reset_code.shape[0] != 2 or reset_code.shape[1] != COLUMNS
            or pairs_per_code.shape[0] != 2 or pairs_per_code.shape[1] != COLUMNS):
        raise ValueError("reset_code and pairs_per_code: one value per [branch, column], "
                         f"shape (2, {COLUMNS})")
    if integer and uniform.shape[0] != n:
        raise ValueError("stochastic rounding needs one uniform number per synapse")
    return 0


cdef Py_ssize_t _stride(const double[::1] values, Py_ssize_t n, str name) except -1:
    if values.shape[0] == n:
        return 1
    if values.shape[0] == 1:
        return 0
    raise ValueError(f"{name}: {values.shape[0]} values for {n} synapses; give one per "
                     f"synapse or one for all")


def store_weight_rows(const double[:, ::1] weights, const long[::1] rows, bint integer,
                      float[:, ::1] configured, float[:, ::1] kept,
                      const float[:, ::1] step_per_weight, float[:, ::1] step):
    """A PPU weight write to one hemisphere: weights[i] into row rows[i] of its
    configured weights, of their copy `kept` and of the engine's line steps
    (weight times step_per_weight).  The weights must lie in range already;
    with `integer`, returns False and writes nothing if one is not an integer.
    One pass to check and one to write, where numpy took ten over
    temporaries: the STDP program writes every plastic weight each period."""
    cdef Py_ssize_t n = weights.shape[0], i, c, r
    cdef float w
    cdef int fractional = 0
    if weights.shape[1] != COLUMNS or rows.shape[0] != n:
        raise ValueError(f"weights: one row of {COLUMNS} per row index")
    _check_hemisphere(configured)
    _check_hemisphere(kept)
    _check_hemisphere(step_per_weight)
    _check_hemisphere(step)
    for i in range(n):
        if not 0 <= rows[i] < COLUMNS:
            raise ValueError(f"rows: value {rows[i]} is out of range; allowed range is "
                             f"0..{COLUMNS - 1}")
    with nogil:
        if integer:
            for i in range(n):
                for c in range(COLUMNS):
                    fractional |= weights[i, c] != floor(weights[i, c])
    if fractional:
        return False
    with nogil:
        for i in range(n):
            r = rows[i]
            for c in range(COLUMNS):
                w = <float>weights[i, c]
                configured[r, c] = w
                kept[r, c] = w
                step[r, c] = w * step_per_weight[r, c]
    return True


def load_weights(const float[:, :, ::1] weights, float high, bint integer,
                 float[:, :, ::1] kept, const float[:, :, ::1] step_per_weight,
                 float[:, :, ::1] step):
    """A configuration's weights into their copy `kept` and the engine's line
    steps (weight times step_per_weight), all [2, 256, 256], if every one lies
    in 0..high (and with `integer` is an integer); else False, with nothing
    written (the caller's range check names the value).  One pass to check and
    one to write, where the range check, the copy and the product took five
    over a full chip's weights."""
    cdef Py_ssize_t n = 2 * COLUMNS * COLUMNS, i
    cdef const float* w
    cdef const uint32_t* bits
    cdef float* k
    cdef float* out
    cdef const float* f
    cdef uint32_t high_bits
    cdef int bad = 0
    memcpy(&high_bits, &high, sizeof(float))
    # on the bits, as the weights below: NaN and negative values (but -0) lie
    # above those of +inf
    if high_bits > 0x7F800000u and high_bits != 0x80000000u:
        raise ValueError(f"high: value {high} is out of range; allowed range is 0 and above")
    high_bits = high_bits & 0x7FFFFFFFu        # -0 as 0
    _check_chip(weights)
    _check_chip(kept)
    _check_chip(step_per_weight)
    _check_chip(step)
    w, k, f, out = &weights[0, 0, 0], &kept[0, 0, 0], &step_per_weight[0, 0, 0], &step[0, 0, 0]
    bits = <const uint32_t*>w
    with nogil:
        for i in range(n):
            # on the bits: -ffast-math may drop comparisons with NaN.  A
            # non-negative float's bits grow with it; negative ones (but -0)
            # and NaN lie above those of `high`
            bad |= (bits[i] > high_bits) & (bits[i] != 0x80000000u)
        if integer and not bad:
            for i in range(n):
                bad |= w[i] != floor(w[i])
    if bad:
        return False
    with nogil:
        for i in range(n):
            k[i] = w[i]
            out[i] = w[i] * f[i]
    return True


cdef struct AdditiveArgs:
    # one hemisphere's fused update (AdditiveSTDPUpdate), as raw pointers
    float* causal
    float* acausal
    Py_ssize_t n_rows
    const double* code_scale
    const double* code_shift
    double noise_sd
    uint64_t causal_key
    uint64_t acausal_key
    bint floor_codes
    double code_max
    const double* reset_code
    const double* pairs_per_code
    double potentiation
    double depression
    double w_min
    double w_max
    double low
    double high
    bint integer
    uint64_t uniform_key
    float* configured
    float* kept
    const float* step_per_weight
    float* step
    bint reset_sensors
    int failed


cdef class AdditiveSTDPUpdate:
    """The additive pair-STDP update of the leading `n_rows` rows of one
    hemisphere as the PPU does it row by row: the CADC reads of both sensor
    branches (code = drop * code_scale + code_shift per [branch, column], plus
    Gaussian noise of sd `noise_sd`, rounded down with `floor_codes`, within
    0..code_max), the additive update of pair_stdp_update, the weight
    write (configured weights, their kept copy and the engine's line steps) and
    the sensors' reset (none without `reset_sensors`: a preview of the update
    into copies of the weights).  `causal` is the engine's column-major causal branch
    [column, row], `acausal` its row-major acausal one.  The noise and the
    rounding's uniforms come from the keys as channel_codes and uniform draw
    them, so that the result equals those steps done one after another.
    Checked here; run_updates runs it."""
    cdef AdditiveArgs args
    cdef object arrays          # the arrays behind the pointers, kept alive

    def __cinit__(self, float[:, ::1] causal, float[:, ::1] acausal, Py_ssize_t n_rows,
                  const double[:, ::1] code_scale, const double[:, ::1] code_shift,
                  double noise_sd, uint64_t causal_key, uint64_t acausal_key,
                  bint floor_codes, double code_max,
                  const double[:, ::1] reset_code,
                  const double[:, ::1] pairs_per_code, double causal_scale,
                  double acausal_scale, double a_plus, double a_minus,
                  double w_min, double w_max, bint integer, uint64_t uniform_key,
                  float[:, ::1] configured, float[:, ::1] kept,
                  const float[:, ::1] step_per_weight, float[:, ::1] step,
                  bint reset_sensors=True):
        cdef double span = w_max - w_min
        if not 0 <= n_rows <= COLUMNS:
            raise ValueError(f"n_rows: value {n_rows} is out of range; allowed range is "
                             f"0..{COLUMNS}")
        _check_hemisphere(causal)
        _check_hemisphere(acausal)
        _check_hemisphere(configured)
        _check_hemisphere(kept)
        _check_hemisphere(step_per_weight)
        _check_hemisphere(step)
        if code_scale.shape[0] != 2 or code_shift.shape[0] != 2 \
                or code_scale.shape[1] != COLUMNS or code_shift.shape[1] != COLUMNS:
            raise ValueError(f"code_scale, code_shift: one value per [branch, column], "
                             f"shape (2, {COLUMNS})")
        _check_tables(reset_code, pairs_per_code, None, n_rows * COLUMNS, False)
        self.arrays = (causal, acausal, code_scale, code_shift, reset_code, pairs_per_code,
                       configured, kept, step_per_weight, step)
        self.args = AdditiveArgs(
            causal=&causal[0, 0], acausal=&acausal[0, 0], n_rows=n_rows,
            code_scale=&code_scale[0, 0], code_shift=&code_shift[0, 0], noise_sd=noise_sd,
            causal_key=causal_key, acausal_key=acausal_key, floor_codes=floor_codes,
            code_max=code_max, reset_code=&reset_code[0, 0],
            pairs_per_code=&pairs_per_code[0, 0],
            potentiation=span * a_plus * causal_scale,
            depression=span * a_minus * acausal_scale, w_min=w_min, w_max=w_max,
            low=ceil(w_min - 1e-9), high=floor(w_max + 1e-9), integer=integer,
            uniform_key=uniform_key, configured=&configured[0, 0], kept=&kept[0, 0],
            step_per_weight=&step_per_weight[0, 0], step=&step[0, 0],
            reset_sensors=reset_sensors, failed=0)


def run_updates(list updates, int threads):
    """Run AdditiveSTDPUpdates, with up to `threads` at once (OpenMP); those
    running at once must be of different hemispheres."""
    cdef Py_ssize_t n = len(updates), i
    cdef AdditiveArgs* args = <AdditiveArgs*>malloc(max(n, 1) * sizeof(AdditiveArgs))
    cdef int failed = 0
    if args == NULL:
        raise MemoryError()
    try:
        for i in range(n):
            args[i] = (<AdditiveSTDPUpdate?>updates[i]).args
        if threads > 1 and n > 1 and EMU_OPENMP:
            for i in prange(n, nogil=True, num_threads=threads, schedule="static", chunksize=1):
                _run_update(&args[i])
        else:
            with nogil:
                for i in range(n):
                    _run_update(&args[i])
        for i in range(n):
            failed = failed or args[i].failed
        if failed:
            raise MemoryError("out of memory for a PPU update's reads")
    finally:
        free(args)


cdef void _run_update(AdditiveArgs* a) noexcept nogil:
    cdef Py_ssize_t n = a.n_rows * COLUMNS, r, c, i, r0, r1, c0
    cdef float* noise_c
    cdef float* noise_a
    cdef float* drop_c
    cdef double* uniform
    if n == 0:
        return
    noise_c = <float*>malloc(n * sizeof(float))
    noise_a = <float*>malloc(n * sizeof(float))
    uniform = <double*>malloc(n * sizeof(double))
    drop_c = <float*>malloc(n * sizeof(float))
    if noise_c != NULL and noise_a != NULL and uniform != NULL and drop_c != NULL:
        # the causal drops in row order, read along the engine's columns
        for r0 in range(0, a.n_rows, TILE):
            r1 = r0 + TILE if r0 + TILE < a.n_rows else a.n_rows
            for c0 in range(0, COLUMNS, TILE):
                for c in range(c0, c0 + TILE):
                    for r in range(r0, r1):
                        drop_c[r * COLUMNS + c] = a.causal[c * COLUMNS + r]
        if a.noise_sd > 0.0:
            _fill_normal(noise_c, n, a.causal_key)
            _fill_normal(noise_a, n, a.acausal_key)
        else:
            memset(noise_c, 0, n * sizeof(float))
            memset(noise_a, 0, n * sizeof(float))
        if a.integer:
            _fill_uniform(uniform, n, a.uniform_key)
        else:
            memset(uniform, 0, n * sizeof(double))
        for r in range(a.n_rows):
            i = r * COLUMNS
            _additive_row(drop_c + i, a.acausal + i, noise_c + i, noise_a + i, uniform + i,
                          a.code_scale, a.code_shift, a.reset_code, a.pairs_per_code,
                          a.noise_sd, a.floor_codes, a.code_max, a.potentiation,
                          a.depression, a.w_min, a.w_max, a.integer, a.low, a.high,
                          a.configured + i, a.kept + i, a.step_per_weight + i, a.step + i)
        if a.reset_sensors:
            # the rows' runs of each causal column, and the acausal rows in one block
            for c in range(COLUMNS):
                memset(a.causal + c * COLUMNS, 0, a.n_rows * sizeof(float))
            memset(a.acausal, 0, n * sizeof(float))
    else:
        a.failed = 1
    free(drop_c)
    free(noise_c)
    free(noise_a)
    free(uniform)


cdef void _additive_row(crfloat drop_c, crfloat drop_a, crfloat noise_c, crfloat noise_a,
                        crdouble uniform, crdouble code_scale, crdouble code_shift,
                        crdouble reset_code, crdouble pairs_per_code, double noise_sd,
                        bint floor_codes, double code_max, double potentiation,
                        double depression, double w_min, double w_max, bint integer,
                        double low, double high, rfloat configured, rfloat kept,
                        crfloat step_per_weight, rfloat step) noexcept nogil:
    """One row of an AdditiveSTDPUpdate (the per-[branch, column] tables
    [2][256] flat), on pointers that do not alias, so that it vectorises."""
    cdef Py_ssize_t c
    cdef double code_c, code_a, new, rounded
    cdef float w
    for c in range(COLUMNS):
        # as channel_codes: the line, then the noise, then the rounding and range
        code_c = drop_c[c] * code_scale[c] + code_shift[c]
        code_a = drop_a[c] * code_scale[COLUMNS + c] + code_shift[COLUMNS + c]
        # every load unconditional (zeros where unused): conditional loads
        # stop gcc from vectorising
        code_c += noise_sd * noise_c[c]
        code_a += noise_sd * noise_a[c]
        code_c = floor(code_c) if floor_codes else code_c
        code_a = floor(code_a) if floor_codes else code_a
        code_c = 0.0 if code_c < 0.0 else (code_max if code_c > code_max else code_c)
        code_a = 0.0 if code_a < 0.0 else (code_max if code_a > code_max else code_a)
        new = _additive(configured[c], code_c, code_a, reset_code[c], reset_code[COLUMNS + c],
                        pairs_per_code[c], pairs_per_code[COLUMNS + c], potentiation,
                        depression, w_min, w_max)
        rounded = _rounded(new, uniform[c], low, high)
        w = <float>(rounded if integer else new)
        configured[c] = w
        kept[c] = w
        step[c] = w * step_per_weight[c]
