# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Row-wise event delivery and the per-synapse correlation sensors.

An event on a synapse row reaches every column whose 6-bit synapse label
equals the event's address.  Delivery accumulates, per neuron, the line-voltage
step and the step times its time to the end of the integration step; the
neuron kernel turns these into the exact end-of-step state to first order in
(time to step end) / tau_syn, and into the step-mean current.

Correlation sensors (nearest-neighbour pairing): a pre spike on a synapse
stores its time; a post spike adds amp * exp(-(t_post - t_last_pre) / tau) to
the causal accumulator of every synapse in its column, and a pre spike adds
amp * exp(-(t_pre - t_last_post) / tau) to the acausal one.  The accumulators
are capacitor voltages that saturate: an increment is scaled by the remaining
headroom (1 - value / saturation).
"""
cdef extern from "_fastmath.h":
    float expf "emu_expf"(float x) noexcept nogil

from ._types cimport SynapseArrays, rfloat, crfloat

cdef extern from *:
    ctypedef const unsigned char* cruchar "const unsigned char * __restrict__"
    ctypedef const unsigned short* crushort "const unsigned short * __restrict__"
    ctypedef const double* crdouble "const double * __restrict__"

DEF COLUMNS = 256
DEF ROWS = 256
DEF ADDRESSES = 64


cdef inline float pair_increment(float amplitude, float elapsed, float rate, float value,
                                 float inv_saturation) noexcept nogil:
    # a pair's increment of a sensor at `value`: the kernel scaled by the
    # headroom left; emu_expf is 0 below ~-87.68, so pairs with "never"
    # (-1e30) give 0
    return amplitude * expf(-elapsed * rate) * (1.0 - value * inv_saturation)


cdef void deliver_row(const SynapseArrays* syn, int hemisphere, int row, int address,
                      float time_to_step_end, float* acc_q_out, float* acc_qd_out,
                      float efficacy) noexcept nogil:
    cdef Py_ssize_t base = (<Py_ssize_t>hemisphere * ROWS + row) * COLUMNS
    cdef crfloat step = syn.step + base
    cdef cruchar label = syn.label + base
    cdef rfloat acc_q = acc_q_out + hemisphere * COLUMNS
    cdef rfloat acc_qd = acc_qd_out + hemisphere * COLUMNS
    cdef unsigned char addr = <unsigned char>address
    cdef int c
    cdef float q
    for c in range(COLUMNS):
        q = step[c] * efficacy if label[c] == addr else 0.0
        acc_q[c] += q
        acc_qd[c] += q * time_to_step_end


cdef void correlate_pre(SynapseArrays* syn, int hemisphere, int row, int address,
                        double t) noexcept nogil:
    cdef Py_ssize_t base = (<Py_ssize_t>hemisphere * ROWS + row) * COLUMNS
    cdef cruchar label = syn.label + base
    cdef crushort amp_gain = syn.amp_gain_acausal + base
    cdef crushort rate_gain = syn.rate_gain_acausal + base
    cdef float amp_step = syn.gain_step[2]
    cdef float rate_step = syn.gain_step[3]
    cdef rfloat acausal = syn.acausal + base
    cdef crfloat t_last_post = syn.t_last_post_offset + hemisphere * COLUMNS
    cdef float now = <float>(t - syn.time_origin[hemisphere])
    cdef crfloat inv_saturation = syn.inv_saturation + hemisphere * COLUMNS
    cdef crfloat amplitude = syn.amplitude + hemisphere * COLUMNS
    cdef crfloat rate = syn.rate + hemisphere * COLUMNS
    cdef unsigned char addr = <unsigned char>address
    cdef int c
    cdef float increment
    if syn.row_address[hemisphere * ROWS + row] == address:
        # every synapse of the row carries the address: no mask, whose bytes
        # made the vectoriser take 64 columns at a time and spill registers
        for c in range(COLUMNS):
            acausal[c] += pair_increment(
                amplitude[c] * (amp_step * <float>amp_gain[c]), now - t_last_post[c],
                rate[c] * (rate_step * <float>rate_gain[c]), acausal[c], inv_saturation[c])
    else:
        for c in range(COLUMNS):
            increment = pair_increment(
                amplitude[c] * (amp_step * <float>amp_gain[c]), now - t_last_post[c],
                rate[c] * (rate_step * <float>rate_gain[c]), acausal[c], inv_saturation[c])
            acausal[c] += increment if label[c] == addr else 0.0
    note_pre_spike(syn, hemisphere, row, address, t)


cdef void note_pre_spike(SynapseArrays* syn, int hemisphere, int row, int address,
                         double t) noexcept nogil:
    """A pre spike of `address` reached the row (whether or not a synapse of
    it listens): the time the sensors pair post spikes with."""
    syn.t_last_pre[(<Py_ssize_t>hemisphere * ADDRESSES + address) * ROWS + row] = t
    if syn.row_address[hemisphere * ROWS + row] == address:
        syn.t_row_pre[hemisphere * ROWS + row] = t
        syn.t_row_pre_offset[hemisphere * ROWS + row] = <float>(t - syn.time_origin[hemisphere])


cdef void rebase_sensor_times(SynapseArrays* syn, int hemisphere, double origin) noexcept nogil:
    """Offsets of a hemisphere's last pre spike per row and last post spike
    per column from `origin` (us): the sensors' updates pair in float32, within
    a few hundred us of the origin (the engine rebases every LoopArgs.rebase_steps)."""
    cdef int i
    syn.time_origin[hemisphere] = origin
    for i in range(hemisphere * ROWS, (hemisphere + 1) * ROWS):
        syn.t_row_pre_offset[i] = <float>(syn.t_row_pre[i] - origin)
    for i in range(hemisphere * COLUMNS, (hemisphere + 1) * COLUMNS):
        syn.t_last_post_offset[i] = <float>(syn.t_last_post[i] - origin)


cdef void correlate_post(SynapseArrays* syn, int neuron, double t) noexcept nogil:
    cdef int hemisphere = neuron // COLUMNS
    cdef Py_ssize_t base = <Py_ssize_t>neuron * ROWS   # column-major: [2][256][256]
    cdef cruchar label = syn.label_t + base
    cdef crushort amp_gain = syn.amp_gain_causal + base
    cdef crushort rate_gain = syn.rate_gain_causal + base
    cdef rfloat causal = syn.causal + base
    # the steps are powers of two: these products are exact
    cdef float amplitude = syn.amplitude[neuron] * syn.gain_step[0]
    cdef float rate = syn.rate[neuron] * syn.gain_step[1]
    cdef crdouble t_last_pre = syn.t_last_pre + <Py_ssize_t>hemisphere * ADDRESSES * ROWS
    cdef crfloat t_row_pre = syn.t_row_pre_offset + hemisphere * ROWS
    cdef float now = <float>(t - syn.time_origin[hemisphere])
    cdef float inv_saturation = syn.inv_saturation[neuron]
    cdef int r
    if syn.uniform_rows[hemisphere]:
        # each row's one address: its last pre spikes lie contiguous
        for r in range(ROWS):
            causal[r] += pair_increment(amplitude * <float>amp_gain[r], now - t_row_pre[r],
                                        rate * <float>rate_gain[r], causal[r], inv_saturation)
    else:
        for r in range(ROWS):
            causal[r] += pair_increment(
                amplitude * <float>amp_gain[r], <float>(t - t_last_pre[label[r] * ROWS + r]),
                rate * <float>rate_gain[r], causal[r], inv_saturation)
    syn.t_last_post[neuron] = t
    syn.t_last_post_offset[neuron] = now
