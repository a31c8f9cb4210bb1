# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""A PPU program's arithmetic for pair-based STDP on correlation sensor reads.

The program reads the sensors through the CADC (PPUAccess.read_correlation)
and hands the codes here: one pass over the plastic synapses turns the drops
from the reset level into weighted pair sums, applies the weight dependence
and writes the new weights (sums over each synapse's parallel rows).  Nothing
here knows PyNN: the arrays are the chip's and the rule's.
"""
from libc.math cimport floor, ceil, pow


cdef inline double soft_bound(double distance, double mu) noexcept nogil:
    if mu == 0.0:
        return 1.0
    if mu == 1.0:
        return distance
    return pow(distance, mu)


def pair_stdp_update(const double[::1] causal, const double[::1] acausal,
                     const long[:, ::1] read_index, const long[:, ::1] synapse_index,
                     double[::1] weights,
                     const double[::1] causal_base, const double[::1] acausal_base,
                     const double[::1] causal_scale, const double[::1] acausal_scale,
                     const double[::1] a_plus, const double[::1] a_minus,
                     const double[::1] w_min, const double[::1] w_max,
                     const double[::1] mu_plus, const double[::1] mu_minus,
                     const double[::1] uniform, bint integer):
    """Update the weights of n synapses in place.

    causal, acausal: CADC codes of the rows read, flattened [rows * 256];
    read_index[i, k]: where synapse i's k-th parallel row sits in them;
    synapse_index[i, k]: its place in the hemisphere's flattened weights.
    Pair sums: (base - mean code over the parallel rows) * scale (1 / amplitude
    per pair, times the delay correction).  Weight change:
    (w_max - w_min) (a+ (1 - x)^mu+ causal - a- x^mu- acausal), x the weight
    normalised to [w_min, w_max]; the result is clipped to the bounds and, with
    `integer`, rounded stochastically with `uniform` (one number per synapse)
    and spread over the parallel rows as integers differing by at most one.
    """
    cdef Py_ssize_t n = read_index.shape[0], parts = read_index.shape[1]
    cdef Py_ssize_t i, k
    cdef double c, a, w, span, x, new, low, high, base, rest
    cdef double inv_parts = 1.0 / parts
    if synapse_index.shape[0] != n or synapse_index.shape[1] != parts:
        raise ValueError("read_index and synapse_index differ in shape")
    lengths = (causal_base.shape[0], acausal_base.shape[0], causal_scale.shape[0],
               acausal_scale.shape[0], a_plus.shape[0], a_minus.shape[0], w_min.shape[0],
               w_max.shape[0], mu_plus.shape[0], mu_minus.shape[0])
    if any(length != n for length in lengths):
        raise ValueError("per-synapse arrays must have one value per synapse")
    if integer and uniform.shape[0] != n:
        raise ValueError("stochastic rounding needs one uniform number per synapse")
    with nogil:
        for i in range(n):
            c = 0.0
            a = 0.0
            w = 0.0
            for k in range(parts):
                c += causal[read_index[i, k]]
                a += acausal[read_index[i, k]]
                w += weights[synapse_index[i, k]]
            c = (causal_base[i] - c * inv_parts) * causal_scale[i]
            a = (acausal_base[i] - a * inv_parts) * acausal_scale[i]
            span = w_max[i] - w_min[i]
            x = (w - w_min[i]) / span if span > 0.0 else 0.0
            x = 0.0 if x < 0.0 else (1.0 if x > 1.0 else x)
            new = w + span * (a_plus[i] * soft_bound(1.0 - x, mu_plus[i]) * c
                              - a_minus[i] * soft_bound(x, mu_minus[i]) * a)
            new = w_min[i] if new < w_min[i] else (w_max[i] if new > w_max[i] else new)
            if integer:
                new = floor(new + uniform[i])
                low = ceil(w_min[i] - 1e-9)
                high = floor(w_max[i] + 1e-9)
                new = low if new < low else (high if new > high else new)
                base = floor(new * inv_parts + 1e-9)
                rest = new - base * parts
                for k in range(parts):
                    weights[synapse_index[i, k]] = base + (1.0 if k < rest else 0.0)
            else:
                for k in range(parts):
                    weights[synapse_index[i, k]] = new * inv_parts
