# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""The time loop: events in, neuron steps, spikes out, readout sampled.

`Engine` owns the state arrays (numpy, contiguous) and runs a number of fixed
steps without the GIL.  Python-level concerns (validation, configuration,
readout conversion, PPU programs) live in chip.py.
"""
import numpy as np
cimport numpy as cnp
from libc.stdlib cimport malloc, realloc, free
from libc.string cimport memcpy, memset
from libc.math cimport floor

from ._types cimport NeuronParams, NeuronState, SynapseArrays
from ._neurons cimport neuron_step
from ._synapses cimport deliver_row, correlate_pre, correlate_post

cnp.import_array()

DEF NEURONS = 512
DEF COLUMNS = 256
DEF ADDRESS_BITS = 6
DEF ADDRESS_MASK = 63
DEF ROW_EXCITATORY = 1
DEF NEVER = -1e30

NEURON_PARAM_NAMES = (
    "g_leak", "e_leak", "inv_c", "e_reset", "v_thresh", "thresh_on", "t_ref",
    "gm_e", "gm_i", "uoff_e", "uoff_i", "decay_e", "decay_i", "mean_e", "mean_i",
    "inv_tau_e", "inv_tau_i", "jump_e", "jump_i", "k_coba_e", "k_coba_i",
    "cuba_e", "cuba_i", "e_rev_e", "e_rev_i", "i_offset", "a", "b", "e_adapt",
    "decay_w", "i_t", "v_t", "inv_d_t", "noise")

STATE_NAMES = ("v", "u_e", "u_i", "w", "refr", "acc_q_e", "acc_qd_e", "acc_q_i",
               "acc_qd_i", "spike_offset")

# MADC observables: membrane, synaptic lines, adaptation node
cpdef enum Observable:
    OBSERVE_V = 0
    OBSERVE_EXC = 1
    OBSERVE_INH = 2
    OBSERVE_ADAPTATION = 3


cdef float* _fptr(cnp.ndarray arr):
    return <float*>cnp.PyArray_DATA(arr)


cdef float _observe(NeuronState* s, int n, int what, float synin_base, float adapt_base,
                    float adapt_gain) noexcept nogil:
    if what == OBSERVE_V:
        return s.v[n]
    if what == OBSERVE_EXC:
        return synin_base + s.u_e[n]
    if what == OBSERVE_INH:
        return synin_base + s.u_i[n]
    return adapt_base + adapt_gain * s.w[n]


cdef class Engine:
    """State and kernels of one chip; all arrays are owned as numpy arrays."""

    cdef public dict params        # per-neuron float32 physical parameters
    cdef public dict state         # per-neuron float32 dynamic state
    cdef public cnp.ndarray rng
    cdef public cnp.ndarray synapse_step, synapse_label, synapse_label_t
    cdef public cnp.ndarray amp_causal, inv_tau_causal, amp_acausal, inv_tau_acausal
    cdef public cnp.ndarray causal, acausal, t_last_pre, t_last_post, saturation
    cdef public cnp.ndarray route_start, route_hemisphere, route_row, route_mode
    cdef public cnp.ndarray recurrent_label, spike_counter
    cdef public bint correlation_enable
    cdef public double time
    cdef NeuronParams p
    cdef NeuronState s
    cdef SynapseArrays syn
    # recurrent events waiting for the next step
    cdef int* pending_label
    cdef int pending_count
    cdef int* route_start_p
    cdef int* route_hemisphere_p
    cdef int* route_row_p
    cdef int* route_mode_p

    def __cinit__(self):
        self.pending_label = <int*>malloc(NEURONS * sizeof(int))
        self.pending_count = 0

    def __dealloc__(self):
        free(self.pending_label)

    def __init__(self):
        self.params = {name: np.zeros(NEURONS, np.float32) for name in NEURON_PARAM_NAMES}
        self.state = {name: np.zeros(NEURONS, np.float32) for name in STATE_NAMES}
        self.rng = np.ones(NEURONS, np.uint32)
        shape = (2, 256, 256)
        self.synapse_step = np.zeros(shape, np.float32)
        self.synapse_label = np.zeros(shape, np.uint8)
        self.synapse_label_t = np.zeros(shape, np.uint8)   # column-major copy
        self.amp_causal = np.zeros(shape, np.float32)
        self.inv_tau_causal = np.ones(shape, np.float32)
        self.amp_acausal = np.zeros(shape, np.float32)
        self.inv_tau_acausal = np.ones(shape, np.float32)
        self.causal = np.zeros(shape, np.float32)
        self.acausal = np.zeros(shape, np.float32)
        self.t_last_pre = np.full((2, 256, 64), NEVER, np.float64)
        self.t_last_post = np.full(NEURONS, NEVER, np.float64)
        self.saturation = np.ones(NEURONS, np.float32)
        self.route_start = np.zeros(257, np.int32)
        self.route_hemisphere = np.zeros(0, np.int32)
        self.route_row = np.zeros(0, np.int32)
        self.route_mode = np.zeros(0, np.int32)
        self.recurrent_label = np.full(NEURONS, -1, np.int32)
        self.spike_counter = np.zeros(NEURONS, np.uint32)
        self.correlation_enable = True
        self.time = 0.0
        self.bind()

    def set_params(self, dict values):
        """Copy physical per-neuron parameters (name -> array of 512) in place."""
        for name, arr in values.items():
            self.params[name][...] = arr

    def set_labels(self, labels):
        """Load synapse labels [2, rows, columns] (both layouts)."""
        self.synapse_label[...] = labels
        self.synapse_label_t[...] = np.transpose(labels, (0, 2, 1))

    def reset_correlation(self, int hemisphere, rows=None):
        """Reset the correlation accumulators of the given rows (default all)."""
        sl = slice(None) if rows is None else rows
        self.causal[hemisphere][:, sl] = 0.0
        self.acausal[hemisphere, sl] = 0.0

    def correlation(self, int hemisphere):
        """Accumulated causal and acausal voltage drops, each [rows, columns] (mV)."""
        return self.causal[hemisphere].T.copy(), self.acausal[hemisphere].copy()

    def bind(self):
        """Point the C structs at the numpy buffers (after arrays were replaced)."""
        p = self.params
        self.p.g_leak = _fptr(p["g_leak"]); self.p.e_leak = _fptr(p["e_leak"])
        self.p.inv_c = _fptr(p["inv_c"]); self.p.e_reset = _fptr(p["e_reset"])
        self.p.v_thresh = _fptr(p["v_thresh"]); self.p.thresh_on = _fptr(p["thresh_on"])
        self.p.t_ref = _fptr(p["t_ref"])
        self.p.gm_e = _fptr(p["gm_e"]); self.p.gm_i = _fptr(p["gm_i"])
        self.p.uoff_e = _fptr(p["uoff_e"]); self.p.uoff_i = _fptr(p["uoff_i"])
        self.p.decay_e = _fptr(p["decay_e"]); self.p.decay_i = _fptr(p["decay_i"])
        self.p.mean_e = _fptr(p["mean_e"]); self.p.mean_i = _fptr(p["mean_i"])
        self.p.inv_tau_e = _fptr(p["inv_tau_e"]); self.p.inv_tau_i = _fptr(p["inv_tau_i"])
        self.p.jump_e = _fptr(p["jump_e"]); self.p.jump_i = _fptr(p["jump_i"])
        self.p.k_coba_e = _fptr(p["k_coba_e"]); self.p.k_coba_i = _fptr(p["k_coba_i"])
        self.p.cuba_e = _fptr(p["cuba_e"]); self.p.cuba_i = _fptr(p["cuba_i"])
        self.p.e_rev_e = _fptr(p["e_rev_e"]); self.p.e_rev_i = _fptr(p["e_rev_i"])
        self.p.i_offset = _fptr(p["i_offset"]); self.p.a = _fptr(p["a"])
        self.p.b = _fptr(p["b"]); self.p.e_adapt = _fptr(p["e_adapt"])
        self.p.decay_w = _fptr(p["decay_w"]); self.p.i_t = _fptr(p["i_t"])
        self.p.v_t = _fptr(p["v_t"]); self.p.inv_d_t = _fptr(p["inv_d_t"])
        self.p.noise = _fptr(p["noise"])
        st = self.state
        self.s.v = _fptr(st["v"]); self.s.u_e = _fptr(st["u_e"]); self.s.u_i = _fptr(st["u_i"])
        self.s.w = _fptr(st["w"]); self.s.refr = _fptr(st["refr"])
        self.s.rng = <unsigned int*>cnp.PyArray_DATA(self.rng)
        self.s.acc_q_e = _fptr(st["acc_q_e"]); self.s.acc_qd_e = _fptr(st["acc_qd_e"])
        self.s.acc_q_i = _fptr(st["acc_q_i"]); self.s.acc_qd_i = _fptr(st["acc_qd_i"])
        self.s.spike_offset = _fptr(st["spike_offset"])
        self.syn.step = _fptr(self.synapse_step)
        self.syn.label = <unsigned char*>cnp.PyArray_DATA(self.synapse_label)
        self.syn.label_t = <unsigned char*>cnp.PyArray_DATA(self.synapse_label_t)
        self.syn.amp_causal = _fptr(self.amp_causal)
        self.syn.inv_tau_causal = _fptr(self.inv_tau_causal)
        self.syn.amp_acausal = _fptr(self.amp_acausal)
        self.syn.inv_tau_acausal = _fptr(self.inv_tau_acausal)
        self.syn.causal = _fptr(self.causal)
        self.syn.acausal = _fptr(self.acausal)
        self.syn.t_last_pre = <double*>cnp.PyArray_DATA(self.t_last_pre)
        self.syn.t_last_post = <double*>cnp.PyArray_DATA(self.t_last_post)
        self.syn.saturation = _fptr(self.saturation)
        for arr in (self.route_start, self.route_hemisphere, self.route_row, self.route_mode,
                    self.recurrent_label):
            if arr.dtype != np.int32 or not arr.flags.c_contiguous:
                raise TypeError("routing arrays must be contiguous int32")
        self.route_start_p = <int*>cnp.PyArray_DATA(self.route_start)
        self.route_hemisphere_p = <int*>cnp.PyArray_DATA(self.route_hemisphere)
        self.route_row_p = <int*>cnp.PyArray_DATA(self.route_row)
        self.route_mode_p = <int*>cnp.PyArray_DATA(self.route_mode)

    cdef inline void _deliver(self, int label, double t_event, double t_end) noexcept nogil:
        cdef int row_select = label >> ADDRESS_BITS
        cdef int address = label & ADDRESS_MASK
        cdef int j, h, r
        cdef int* start = self.route_start_p
        cdef int* hem = self.route_hemisphere_p
        cdef int* row = self.route_row_p
        cdef int* mode = self.route_mode_p
        cdef float to_end = <float>(t_end - t_event)
        for j in range(start[row_select], start[row_select + 1]):
            h = hem[j]
            r = row[j]
            if mode[j] == ROW_EXCITATORY:
                deliver_row(&self.syn, h, r, address, to_end, self.s.acc_q_e, self.s.acc_qd_e)
            else:
                deliver_row(&self.syn, h, r, address, to_end, self.s.acc_q_i, self.s.acc_qd_i)
            if self.correlation_enable:
                correlate_pre(&self.syn, h, r, address, t_event)

    def run(self, long n_steps, double dt,
            const double[::1] event_time, const int[::1] event_label,
            const double[::1] schedule_time, const int[::1] schedule_neuron,
            const float[::1] schedule_value,
            const int[::1] madc_neurons, const int[::1] madc_observe, double madc_t0,
            double madc_interval, float[:, ::1] madc_out, long madc_next,
            const int[::1] cadc_neurons, double cadc_t0, double cadc_interval,
            float[:, ::1] cadc_out, long cadc_next,
            float synin_base, float adapt_base, float adapt_gain):
        """Advance `n_steps` of `dt` us from self.time.

        Events (sorted by time, all inside this segment) and offset-current
        changes are consumed in order.  MADC samples i >= madc_next with time
        madc_t0 + i * madc_interval inside this segment are written to
        madc_out[i]; CADC samples likewise at step ends.  Returns
        (spike_times, spike_neurons, madc_next, cadc_next).
        """
        cdef double t0 = self.time
        cdef double t_start, t_end, t_spike, t_sample, frac
        cdef long k, ev = 0, sc = 0, n_ev = event_time.shape[0], n_sc = schedule_time.shape[0]
        cdef long n_madc_rows = madc_out.shape[0], n_cadc_rows = cadc_out.shape[0]
        cdef int n_madc = madc_neurons.shape[0], n_cadc = cadc_neurons.shape[0]
        cdef int i, j, n, nspikes, n_pending, label
        cdef int* pending_now = <int*>malloc(NEURONS * sizeof(int))
        cdef float* v_prev = <float*>malloc(NEURONS * sizeof(float))
        cdef float* obs_prev = <float*>malloc(NEURONS * sizeof(float))
        cdef float value, off
        cdef size_t cap = 1024, count = 0
        cdef double* sp_t = <double*>malloc(cap * sizeof(double))
        cdef int* sp_n = <int*>malloc(cap * sizeof(int))
        cdef int* rec_label = <int*>cnp.PyArray_DATA(self.recurrent_label)
        cdef unsigned int* counter = <unsigned int*>cnp.PyArray_DATA(self.spike_counter)
        if not (pending_now and v_prev and obs_prev and sp_t and sp_n):
            free(pending_now); free(v_prev); free(obs_prev); free(sp_t); free(sp_n)
            raise MemoryError()

        with nogil:
            for k in range(n_steps):
                t_start = t0 + k * dt
                t_end = t0 + (k + 1) * dt
                while sc < n_sc and schedule_time[sc] < t_end:
                    self.p.i_offset[schedule_neuron[sc]] = schedule_value[sc]
                    sc += 1
                # recurrent spikes of the previous step arrive at its end
                n_pending = self.pending_count
                memcpy(pending_now, self.pending_label, n_pending * sizeof(int))
                self.pending_count = 0
                for j in range(n_pending):
                    self._deliver(pending_now[j], t_start, t_end)
                while ev < n_ev and event_time[ev] < t_end:
                    self._deliver(event_label[ev], event_time[ev], t_end)
                    ev += 1
                if n_madc:
                    for j in range(n_madc):
                        obs_prev[j] = _observe(&self.s, madc_neurons[j], madc_observe[j],
                                               synin_base, adapt_base, adapt_gain)
                nspikes = neuron_step(&self.p, &self.s, NEURONS, <float>dt)
                if nspikes:
                    for n in range(NEURONS):
                        off = self.s.spike_offset[n]
                        if off < 0.0:
                            continue
                        t_spike = t_start + off
                        if count == cap:
                            cap *= 2
                            sp_t = <double*>realloc(sp_t, cap * sizeof(double))
                            sp_n = <int*>realloc(sp_n, cap * sizeof(int))
                        sp_t[count] = t_spike
                        sp_n[count] = n
                        count += 1
                        counter[n] += 1
                        if self.correlation_enable:
                            correlate_post(&self.syn, n, t_spike)
                        if rec_label[n] >= 0:
                            self.pending_label[self.pending_count] = rec_label[n]
                            self.pending_count += 1
                if n_madc:
                    while madc_next < n_madc_rows:
                        t_sample = madc_t0 + madc_next * madc_interval
                        if t_sample > t_end:
                            break
                        frac = (t_sample - t_start) / dt
                        for j in range(n_madc):
                            n = madc_neurons[j]
                            value = _observe(&self.s, n, madc_observe[j], synin_base,
                                             adapt_base, adapt_gain)
                            off = self.s.spike_offset[n]
                            if madc_observe[j] == OBSERVE_V and off >= 0.0:
                                # the trace rises to threshold, then sits at reset
                                if t_sample - t_start < off:
                                    value = obs_prev[j] + (self.p.v_thresh[n] - obs_prev[j]) * (
                                        (t_sample - t_start) / off)
                                else:
                                    value = self.p.e_reset[n]
                            else:
                                value = obs_prev[j] + (value - obs_prev[j]) * frac
                            madc_out[madc_next, j] = value
                        madc_next += 1
                if n_cadc:
                    while cadc_next < n_cadc_rows:
                        t_sample = cadc_t0 + cadc_next * cadc_interval
                        if t_sample > t_end + 1e-9:
                            break
                        for j in range(n_cadc):
                            cadc_out[cadc_next, j] = self.s.v[cadc_neurons[j]]
                        cadc_next += 1
            self.time = t0 + n_steps * dt

        times = np.empty(count, np.float64)
        neurons = np.empty(count, np.int32)
        if count:
            memcpy(cnp.PyArray_DATA(times), sp_t, count * sizeof(double))
            memcpy(cnp.PyArray_DATA(neurons), sp_n, count * sizeof(int))
        free(pending_now); free(v_prev); free(obs_prev); free(sp_t); free(sp_n)
        return times, neurons, madc_next, cadc_next
