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
from libc.math cimport exp
from cython.parallel cimport parallel, threadid

cdef extern from "_openmp.h":
    int EMU_OPENMP

cdef extern from "_spikemask.h":
    unsigned int emu_crossed(const float* offsets, int count) noexcept nogil

cdef extern from "_fpmode.h":
    unsigned long emu_flush_subnormals() noexcept nogil
    void emu_restore_fp_mode(unsigned long previous) noexcept nogil

from ._types cimport *
from ._neurons cimport neuron_step, neuron_step_range, settle_spike
from ._synapses cimport (deliver_row, correlate_pre, correlate_post, note_pre_spike,
                         rebase_sensor_times)

cnp.import_array()

DEF NEURONS = 512
DEF COLUMNS = 256
DEF ADDRESS_BITS = 6
DEF ADDRESS_MASK = 63
DEF ROW_EXCITATORY = 1
DEF NEVER = -1e30

STATE_ROWS = {"v": S_V, "u_e": S_U_E, "u_i": S_U_I, "w": S_W, "refr": S_REFR,
              "acc_q_e": S_ACC_Q_E, "acc_qd_e": S_ACC_QD_E, "acc_q_i": S_ACC_Q_I,
              "acc_qd_i": S_ACC_QD_I, "spike_offset": S_SPIKE_OFFSET}
# the exponential term is off when its prefactor is 0: exp(-1e4) = 0
EXP_OFF_SHIFT = -1.0e4
THRESHOLD_OFF = 1.0e30
SENSOR_GAINS = ("amp_causal", "rate_causal", "amp_acausal", "rate_acausal")


def kernel_rows(dict phys):
    """The kernel's parameter block [NUM_PARAMS][512] from physical parameters
    (see mismatch.neuron_parameters)."""
    rows = np.zeros((NUM_PARAMS, NEURONS), np.float64)
    for receptor in "ei":
        k = phys[f"k_coba_{receptor}"].astype(np.float64)
        sign = 1.0 if receptor == "e" else -1.0
        gm = phys[f"gm_{receptor}"].astype(np.float64)
        rows[P_GM_MEAN_E if receptor == "e" else P_GM_MEAN_I] = gm * phys[f"mean_{receptor}"]
        rows[P_GM_JUMP_E if receptor == "e" else P_GM_JUMP_I] = (
            gm * phys[f"jump_{receptor}"] / phys["dt"])
        rows[P_GMOFF_E if receptor == "e" else P_GMOFF_I] = gm * phys[f"uoff_{receptor}"]
        rows[P_DECAY_E if receptor == "e" else P_DECAY_I] = phys[f"decay_{receptor}"]
        rows[P_INV_TAU_E if receptor == "e" else P_INV_TAU_I] = phys[f"inv_tau_{receptor}"]
        rows[P_JUMP_E if receptor == "e" else P_JUMP_I] = phys[f"jump_{receptor}"]
        rows[P_K_COBA_E if receptor == "e" else P_K_COBA_I] = k
        rows[P_DRIVE_E if receptor == "e" else P_DRIVE_I] = (
            sign * phys[f"cuba_{receptor}"] + k * phys[f"e_rev_{receptor}"])
    rows[P_G_LEAK] = phys["g_leak"]
    rows[P_E_LEAK] = phys["e_leak"]
    rows[P_INV_C] = phys["inv_c"]
    rows[P_NEG_DT_INV_C] = -phys["dt"].astype(np.float64) * phys["inv_c"]
    rows[P_E_RESET] = phys["e_reset"]
    # the kernel compares the membrane before its clamp to the rails: a
    # threshold at or below the lower rail is always reached (as the clamped
    # membrane would compare), one beyond the upper never (the kernel tests)
    v_thresh = np.asarray(phys["v_thresh"], np.float32)     # as the kernel compares
    rows[P_V_THRESH] = np.where(phys["thresh_on"] > 0, np.where(
        v_thresh <= RAIL_LOW_MV, -THRESHOLD_OFF, v_thresh), THRESHOLD_OFF)
    rows[P_T_REF] = phys["t_ref"]
    rows[P_I_OFFSET] = phys["i_offset"]
    relax = 1.0 - phys["decay_w"].astype(np.float64)
    rows[P_A_RELAX] = phys["a"] * relax
    rows[P_A_E_RELAX] = phys["a"].astype(np.float64) * phys["e_adapt"] * relax
    rows[P_DECAY_W] = phys["decay_w"]
    rows[P_B] = phys["b"]
    rows[P_GROWTH_M_LEAK] = -np.expm1(-phys["dt"].astype(np.float64) * phys["g_leak"]
                                      * phys["inv_c"])
    rows[P_EXP_SLOPE] = phys["inv_d_t"]
    with np.errstate(divide="ignore"):
        rows[P_EXP_SHIFT] = np.where(
            phys["i_t"] > 0, np.log(phys["i_t"]) - phys["v_t"].astype(np.float64) * phys["inv_d_t"],
            EXP_OFF_SHIFT)
    return rows.astype(np.float32)


# MADC observables: membrane, synaptic lines, adaptation node
cpdef enum Observable:
    OBSERVE_V = 0
    OBSERVE_EXC = 1
    OBSERVE_INH = 2
    OBSERVE_ADAPTATION = 3


def aligned_zeros(shape, dtype):
    """Zeros on a 64-byte boundary: each hemisphere's half of a per-neuron row
    then fills whole cache lines, and two threads never write the same line."""
    dtype = np.dtype(dtype)
    count = int(np.prod(shape))
    raw = np.zeros(count * dtype.itemsize + 64, np.uint8)
    start = (-raw.ctypes.data) % 64
    return raw[start:start + count * dtype.itemsize].view(dtype).reshape(shape)


# neurons whose spike offsets the scan after a step with spikes checks at once
DEF SCAN_BLOCK = 32


cdef extern from *:
    int __builtin_ctz(unsigned int x) nogil


cdef float* _fptr(cnp.ndarray arr):
    return <float*>cnp.PyArray_DATA(arr)


def _madc_tables(neurons, observe, node_base, node_gain):
    """The engine's MADC channel tables: the channels reordered by hemisphere
    (stably), each with its column in the output, the state element it reads
    (row * NEURON_STRIDE + neuron) and its node (base + gain * state, from
    node_base / node_gain per Observable); and how many belong to hemisphere
    0.  Never empty (the engine takes addresses)."""
    if len(neurons) == 0:
        return (np.zeros(1, np.int32), np.zeros(1, np.int32), np.zeros(1, np.float32),
                np.ones(1, np.float32), 0)
    neurons = neurons.astype(np.int64)
    order = np.argsort(neurons >= COLUMNS, kind="stable")
    rows = np.array([S_V, S_U_E, S_U_I, S_W], np.int64)[observe]
    base = np.asarray(node_base, np.float64)[observe]
    gain = np.asarray(node_gain, np.float64)[observe]
    return (order.astype(np.int32),
            (rows * NEURON_STRIDE + neurons)[order].astype(np.int32),
            base[order].astype(np.float32), gain[order].astype(np.float32),
            int(np.count_nonzero(neurons < COLUMNS)))


cdef struct EventHeap:
    # binary min-heap of (time, label): events in flight through the FPGA
    double* time
    int* label
    Py_ssize_t size
    Py_ssize_t capacity


cdef int heap_push(EventHeap* h, double t, int label) noexcept nogil:
    cdef Py_ssize_t i, parent
    cdef double* nt
    cdef int* nl
    if h.size == h.capacity:
        nt = <double*>realloc(h.time, 2 * h.capacity * sizeof(double))
        if nt == NULL:
            return -1
        h.time = nt
        nl = <int*>realloc(h.label, 2 * h.capacity * sizeof(int))
        if nl == NULL:
            return -1
        h.label = nl
        h.capacity *= 2
    i = h.size
    h.size += 1
    while i > 0:
        parent = (i - 1) // 2
        if h.time[parent] <= t:
            break
        h.time[i] = h.time[parent]
        h.label[i] = h.label[parent]
        i = parent
    h.time[i] = t
    h.label[i] = label
    return 0


cdef void heap_pop(EventHeap* h) noexcept nogil:
    cdef Py_ssize_t i = 0, child
    cdef double t
    cdef int label
    h.size -= 1
    if h.size == 0:
        return
    t = h.time[h.size]
    label = h.label[h.size]
    while True:
        child = 2 * i + 1
        if child >= h.size:
            break
        if child + 1 < h.size and h.time[child + 1] < h.time[child]:
            child += 1
        if h.time[child] >= t:
            break
        h.time[i] = h.time[child]
        h.label[i] = h.label[child]
        i = child
    h.time[i] = t
    h.label[i] = label


cdef struct LoopArgs:
    # one run's inputs and outputs, as raw pointers for the nogil time loop
    long n_steps
    double dt
    double t0
    const double* event_time
    const int* event_label
    long n_ev
    const double* schedule_time
    const int* schedule_neuron
    const float* schedule_value
    long n_sc
    int n_madc
    double madc_t0
    double madc_interval
    float* madc_out
    long n_madc_rows
    # MADC channels in hemisphere order (those of hemisphere 0 first, madc_split
    # of them), each read as base + gain * state[offset]; column: its place in
    # madc_out; prev: its value at the step's start
    const int* madc_column
    const int* madc_offset
    const float* madc_base
    const float* madc_gain
    int madc_split
    float* madc_prev
    const int* cadc_neurons
    int n_cadc
    double cadc_t0
    double cadc_interval
    float* cadc_out
    long n_cadc_rows
    int* rec_label
    int* loop_start
    int* loop_label
    double* loop_delay
    unsigned int* counter
    long rebase_steps          # steps between rebase_sensor_times


cdef struct LoopOut:
    # one thread's spikes (time, neuron, step) and readout positions
    double* sp_t
    int* sp_n
    long* sp_k
    size_t count
    size_t cap
    long madc_next
    long cadc_next
    int error
    # bypass spikes of the current step (neuron, time), emitted after its kernel spikes
    int* bp_n
    double* bp_t
    size_t bp_count
    size_t bp_cap
    char pad[64]           # the two threads' records never share a cache line


cdef int _resize(void** buffer, size_t size) noexcept nogil:
    """realloc in place of a pointer; -1 (and the buffer as it was) when out of memory."""
    cdef void* grown = realloc(buffer[0], size)
    if grown == NULL:
        return -1
    buffer[0] = grown
    return 0


cdef int _grow(LoopOut* out) noexcept nogil:
    cdef size_t cap = 2 * out.cap
    if (_resize(<void**>&out.sp_t, cap * sizeof(double)) or
            _resize(<void**>&out.sp_n, cap * sizeof(int)) or
            _resize(<void**>&out.sp_k, cap * sizeof(long))):
        return -1
    out.cap = cap
    return 0


cdef int _grow_bypass(LoopOut* out) noexcept nogil:
    cdef size_t cap = 2 * out.bp_cap if out.bp_cap else 256
    if (_resize(<void**>&out.bp_n, cap * sizeof(int)) or
            _resize(<void**>&out.bp_t, cap * sizeof(double))):
        return -1
    out.bp_cap = cap
    return 0


def openmp_available():
    """Whether this build can run the hemispheres in two threads."""
    return bool(EMU_OPENMP)


def _as_slice(rows):
    """Row indices as a slice where they are a contiguous ascending range (the
    accumulators are then views and fills), else as they are."""
    rows = np.asarray(rows)
    if rows.ndim == 1 and len(rows) and np.all(np.diff(rows) == 1):
        # no negative index: this module compiles with wraparound=False
        return slice(int(rows[0]), int(rows[0]) + len(rows))
    return rows


cdef class Engine:
    """State and kernels of one chip; all arrays are owned as numpy arrays."""

    cdef public dict physical      # per-neuron physical parameters (mismatch.neuron_parameters)
    cdef public cnp.ndarray param_block   # [NUM_PARAMS][512] float32, kernel_rows(physical)
    cdef public cnp.ndarray state_block   # [NUM_STATE][512] float32
    cdef public dict state         # name -> row view of state_block
    cdef public float noise        # temporal membrane noise amplitude, nA per unit uniform
    cdef public bint with_exp      # any neuron with its exponential term on
    cdef public bint with_coba     # any neuron with a COBA input
    cdef public cnp.ndarray rng
    cdef public cnp.ndarray synapse_step, synapse_label, synapse_label_t
    cdef public cnp.ndarray row_listens  # [2][256 rows][64 addresses]: any synapse with it
    cdef public cnp.ndarray sensor_amplitude, sensor_rate
    cdef readonly cnp.ndarray amp_gain_causal, rate_gain_causal, amp_gain_acausal, rate_gain_acausal
    cdef public cnp.ndarray causal, acausal, t_last_pre, t_last_post, saturation
    cdef cnp.ndarray inv_saturation
    cdef public cnp.ndarray row_address, t_row_pre
    cdef cnp.ndarray t_row_pre_offset, t_last_post_offset
    cdef public cnp.ndarray route_start, route_hemisphere, route_row, route_mode
    cdef public cnp.ndarray recurrent_label, spike_counter
    cdef public bint correlation_enable
    # bypass circuits [excitatory, inhibitory][512]: an event a synapse with a
    # nonzero weight passes to the neuron's input makes it spike at once
    cdef public cnp.ndarray bypass
    cdef public bint any_bypass
    # the neurons the kernel integrates: [active_first, active_last) (all by
    # default); the others are circuits no network uses, left at rest
    cdef public int active_first, active_last
    cdef public double time
    cdef float* P
    cdef float* S
    cdef unsigned int* rng_p
    # The second thread's neurons (hemisphere 1) run on copies of their state
    # and generators in blocks of their own (same indices, the other half
    # unused), copied in and out around each two-thread run.  In the shared
    # blocks the threads' halves of every row lie side by side, and the
    # hardware prefetchers stream across into the other's lines: two threads
    # took longer for the kernel than one (15-18 against 12 ms here).
    cdef public cnp.ndarray state_mirror, rng_mirror
    cdef float* S_mirror
    cdef unsigned int* rng_mirror_p
    cdef SynapseArrays syn
    # recurrent events waiting for the next step
    cdef int* pending_label
    cdef int pending_count
    # FPGA loopback: a neuron's spike re-enters as event(s) after a delay
    cdef public cnp.ndarray loop_start, loop_label, loop_delay
    cdef EventHeap in_flight
    cdef int* route_start_p
    cdef int* route_hemisphere_p
    cdef int* route_row_p
    cdef int* route_mode_p
    # short-term plasticity per synapse row (Tsodyks-Markram: resources x and
    # utilisation u, updated at each event of the row); [2][256]
    cdef public cnp.ndarray stp_enable, stp_U, stp_inv_rec, stp_inv_facil
    cdef public cnp.ndarray stp_x, stp_u, stp_t_last

    def __cinit__(self):
        self.pending_label = <int*>malloc(NEURONS * sizeof(int))
        self.pending_count = 0
        self.in_flight.capacity = 1024
        self.in_flight.size = 0
        self.in_flight.time = <double*>malloc(1024 * sizeof(double))
        self.in_flight.label = <int*>malloc(1024 * sizeof(int))
        if not (self.pending_label and self.in_flight.time and self.in_flight.label):
            raise MemoryError()

    def __dealloc__(self):
        free(self.pending_label)
        free(self.in_flight.time)
        free(self.in_flight.label)

    def clear_in_flight(self):
        """Drop events in flight (loopback and on-chip recurrent)."""
        self.in_flight.size = 0
        self.pending_count = 0

    @property
    def events_in_flight(self):
        return int(self.in_flight.size) + int(self.pending_count)

    @property
    def openmp(self):
        """Whether this build can run the hemispheres in two threads."""
        return openmp_available()

    def __init__(self):
        self.physical = {}
        self.param_block = aligned_zeros((NUM_PARAMS, NEURON_STRIDE), np.float32)
        self.state_block = aligned_zeros((NUM_STATE, NEURON_STRIDE), np.float32)
        self.state = {name: self.state_block[row, :NEURONS] for name, row in STATE_ROWS.items()}
        self.noise = 0.0
        self.with_exp = False
        self.with_coba = False
        self.rng = aligned_zeros(NEURONS, np.uint32)
        self.state_mirror = aligned_zeros((NUM_STATE, NEURON_STRIDE), np.float32)
        self.rng_mirror = aligned_zeros(NEURONS, np.uint32)
        self.rng[...] = 1
        shape = (2, 256, 256)
        self.synapse_step = np.zeros(shape, np.float32)
        self.synapse_label = np.zeros(shape, np.uint8)
        self.synapse_label_t = np.zeros(shape, np.uint8)   # column-major copy
        self.row_listens = np.zeros((2, 256, 64), np.uint8)
        self.row_listens[:, :, 0] = 1                      # all labels 0
        self.sensor_amplitude = aligned_zeros(NEURONS, np.float32)
        self.sensor_rate = aligned_zeros(NEURONS, np.float32)
        self.sensor_rate[...] = 1.0
        self.set_sensor_gains(*(np.ones(shape) for _ in SENSOR_GAINS))
        self.causal = np.zeros(shape, np.float32)
        self.acausal = np.zeros(shape, np.float32)
        self.t_last_pre = np.full((2, 64, 256), NEVER, np.float64)   # [h][address][row]
        self.t_last_post = aligned_zeros(NEURONS, np.float64)
        self.t_last_post[...] = NEVER
        self.row_address = np.zeros((2, 256), np.int32)     # all labels 0
        self.t_row_pre = np.full((2, 256), NEVER, np.float64)
        self.t_row_pre_offset = np.zeros((2, 256), np.float32)
        self.t_last_post_offset = aligned_zeros(NEURONS, np.float32)
        self.syn.uniform_rows[0] = self.syn.uniform_rows[1] = 1
        self.saturation = aligned_zeros(NEURONS, np.float32)
        self.saturation[...] = 1.0
        self.inv_saturation = aligned_zeros(NEURONS, np.float32)
        self.route_start = np.zeros(257, np.int32)
        self.route_hemisphere = np.zeros(0, np.int32)
        self.route_row = np.zeros(0, np.int32)
        self.route_mode = np.zeros(0, np.int32)
        self.recurrent_label = np.full(NEURONS, -1, np.int32)
        self.stp_enable = np.zeros((2, 256), np.int32)
        self.stp_U = np.zeros((2, 256), np.float64)
        self.stp_inv_rec = np.zeros((2, 256), np.float64)
        self.stp_inv_facil = np.zeros((2, 256), np.float64)
        self.stp_x = np.ones((2, 256), np.float64)
        self.stp_u = np.zeros((2, 256), np.float64)
        self.stp_t_last = np.zeros((2, 256), np.float64)
        self.loop_start = np.zeros(NEURONS + 1, np.int32)
        self.loop_label = np.zeros(0, np.int32)
        self.loop_delay = np.zeros(0, np.float64)
        self.spike_counter = aligned_zeros(NEURONS, np.uint32)
        self.correlation_enable = True
        self.active_first = 0
        self.active_last = NEURONS
        self.bypass = np.zeros((2, NEURONS), np.uint8)
        self.any_bypass = False
        self.time = 0.0
        self.bind()

    def set_params(self, dict values):
        """Load physical per-neuron parameters (mismatch.neuron_parameters)."""
        self.physical = values
        self.param_block[:, :NEURONS] = kernel_rows(values)
        self.noise = float(np.max(values["noise"]))
        self.with_exp = bool(np.any(values["i_t"] > 0))
        self.with_coba = bool(np.any(values["k_coba_e"] != 0) or np.any(values["k_coba_i"] != 0))

    def set_sensor_gains(self, amp_causal, rate_causal, amp_acausal, rate_acausal):
        """Load each synapse sensor's fixed-pattern factors of its column's
        amplitude and rate, [2, rows, columns] (the causal ones column-major,
        [2, columns, rows]), each in 1e-6..1e6 and the smallest of an array at
        least 1/655 of its largest.  They are kept as 16-bit codes of a
        power-of-two step per array, each within half a step of its value, at
        most 1/65535 of the array's largest factor and so 1 % of its smallest
        (a factor of 1 is kept exactly)."""
        codes, steps = [], []
        for name, gains in zip(SENSOR_GAINS, (amp_causal, rate_causal, amp_acausal, rate_acausal)):
            gains = np.asarray(gains, np.float64)
            if gains.shape != (2, 256, 256):
                raise ValueError(f"{name}: shape {gains.shape}; expected (2, 256, 256)")
            low, high = float(gains.min()), float(gains.max())
            if not (1e-6 <= low and high <= 1e6):        # NaN fails both
                raise ValueError(f"{name}: factors {low:g}..{high:g} are out of range; "
                                 f"allowed range is 1e-06..1e+06")
            if low < high / 655.0:
                raise ValueError(f"{name}: factors {low:g}..{high:g} spread too far; the "
                                 f"smallest must be at least 1/655 of the largest, "
                                 f"{high / 655.0:g}")
            step = 2.0 ** np.ceil(np.log2(high / 65535.0))
            codes.append(np.rint(gains / step).astype(np.uint16))
            steps.append(step)
        (self.amp_gain_causal, self.rate_gain_causal,
         self.amp_gain_acausal, self.rate_gain_acausal) = codes
        for k in range(4):
            self.syn.gain_step[k] = <float>steps[k]
        self.syn.amp_gain_causal = <unsigned short*>cnp.PyArray_DATA(self.amp_gain_causal)
        self.syn.rate_gain_causal = <unsigned short*>cnp.PyArray_DATA(self.rate_gain_causal)
        self.syn.amp_gain_acausal = <unsigned short*>cnp.PyArray_DATA(self.amp_gain_acausal)
        self.syn.rate_gain_acausal = <unsigned short*>cnp.PyArray_DATA(self.rate_gain_acausal)

    def sensor_gains(self):
        """The factors as the sensors use them: {name: [2, 256, 256] float64}
        (names as set_sensor_gains' arguments)."""
        codes = (self.amp_gain_causal, self.rate_gain_causal,
                 self.amp_gain_acausal, self.rate_gain_acausal)
        return {name: code * float(self.syn.gain_step[k])
                for k, (name, code) in enumerate(zip(SENSOR_GAINS, codes))}

    def set_labels(self, labels):
        """Load synapse labels [2, rows, columns] (both layouts), and per row
        the addresses it listens to and whether it has only one."""
        cdef const cnp.int64_t[::1] src = np.ascontiguousarray(labels, dtype=np.int64).reshape(-1)
        cdef unsigned char[:, :, ::1] label = self.synapse_label
        cdef unsigned char[:, :, ::1] label_t = self.synapse_label_t
        cdef unsigned char[:, :, ::1] listens = self.row_listens
        cdef unsigned char* flat = &label[0, 0, 0]
        cdef int[:, ::1] row_address = self.row_address
        cdef Py_ssize_t h, r, c, r0, c0, i
        cdef cnp.int64_t a, lowest = 0, highest = 0
        cdef unsigned char first
        cdef unsigned char seen[ADDRESS_MASK + 1]
        cdef int mixed
        cdef bint all_one
        if tuple(labels.shape) != (2, 256, COLUMNS):
            raise ValueError(f"labels: shape {tuple(labels.shape)}, need (2, 256, {COLUMNS})")
        with nogil:
            for i in range(2 * 256 * COLUMNS):
                a = src[i]
                lowest = a if a < lowest else lowest
                highest = a if a > highest else highest
        if lowest < 0 or highest > ADDRESS_MASK:
            raise ValueError(f"labels: values {lowest}..{highest}; allowed range is "
                             f"0..{ADDRESS_MASK}")
        with nogil:
            # in passes the compiler vectorises (narrowing, then the uniform
            # test), a transpose in tiles that stay in cache, and the
            # addresses each row listens to
            for i in range(2 * 256 * COLUMNS):
                flat[i] = <unsigned char>src[i]
            for h in range(2):
                for r0 in range(0, 256, 16):
                    for c0 in range(0, COLUMNS, 16):
                        for c in range(c0, c0 + 16):
                            for r in range(r0, r0 + 16):
                                label_t[h, c, r] = label[h, r, c]
                all_one = True
                for r in range(256):
                    first = label[h, r, 0]
                    mixed = 0
                    for c in range(COLUMNS):
                        mixed |= label[h, r, c] != first
                    # marked on the stack: stores into `listens` made the
                    # loads of the labels wait (their addresses alias in the
                    # low 12 bits), ~0.06 ms of a full chip's 0.19
                    memset(seen, 0, ADDRESS_MASK + 1)
                    if mixed:
                        for c in range(COLUMNS):
                            seen[label[h, r, c]] = 1
                    else:
                        seen[first] = 1
                    for a in range(ADDRESS_MASK + 1):
                        listens[h, r, a] = seen[a]
                    row_address[h, r] = -1 if mixed else <int>first
                    all_one = all_one and not mixed
                self.syn.uniform_rows[h] = all_one
        self._gather_row_times()

    def forget_spike_times(self):
        """No pre or post spike seen yet: the sensors pair nothing until new ones."""
        self.t_last_pre[...] = NEVER
        self.t_last_post[...] = NEVER
        self._gather_row_times()

    def _gather_row_times(self):
        address = np.maximum(self.row_address, 0)
        self.t_row_pre[...] = np.take_along_axis(
            self.t_last_pre, address[:, None, :], axis=1)[:, 0, :]

    def reset_correlation(self, int hemisphere, rows=None):
        """Reset the correlation accumulators of the given rows (default all)."""
        sl = slice(None) if rows is None else _as_slice(rows)
        self.causal[hemisphere][:, sl] = 0.0
        self.acausal[hemisphere, sl] = 0.0

    def correlation_view(self, int hemisphere, rows=None):
        """As correlation(), but views of the accumulators where the rows are all
        or a contiguous range (no copy); read them before the engine runs on."""
        if rows is None:
            return self.causal[hemisphere].T, self.acausal[hemisphere]
        sl = _as_slice(rows)
        if isinstance(sl, slice):
            return self.causal[hemisphere][:, sl].T, self.acausal[hemisphere, sl]
        return self.correlation(hemisphere, rows)

    def correlation(self, int hemisphere, rows=None):
        """Accumulated causal and acausal voltage drops of the given rows (default
        all), each [rows, columns] (mV)."""
        if rows is None:
            return self.causal[hemisphere].T.copy(), self.acausal[hemisphere].copy()
        return self.causal[hemisphere][:, rows].T.copy(), self.acausal[hemisphere][rows]

    def bind(self):
        """Point the C structs at the numpy buffers (after arrays were replaced)."""
        self.P = _fptr(self.param_block)
        self.S = _fptr(self.state_block)
        self.rng_p = <unsigned int*>cnp.PyArray_DATA(self.rng)
        self.S_mirror = _fptr(self.state_mirror)
        self.rng_mirror_p = <unsigned int*>cnp.PyArray_DATA(self.rng_mirror)
        self.syn.step = _fptr(self.synapse_step)
        self.syn.label = <unsigned char*>cnp.PyArray_DATA(self.synapse_label)
        self.syn.label_t = <unsigned char*>cnp.PyArray_DATA(self.synapse_label_t)
        self.syn.amplitude = _fptr(self.sensor_amplitude)
        self.syn.rate = _fptr(self.sensor_rate)
        self.syn.causal = _fptr(self.causal)
        self.syn.acausal = _fptr(self.acausal)
        self.syn.t_last_pre = <double*>cnp.PyArray_DATA(self.t_last_pre)
        self.syn.t_last_post = <double*>cnp.PyArray_DATA(self.t_last_post)
        self.syn.row_address = <int*>cnp.PyArray_DATA(self.row_address)
        self.syn.t_row_pre = <double*>cnp.PyArray_DATA(self.t_row_pre)
        self.syn.t_row_pre_offset = _fptr(self.t_row_pre_offset)
        self.syn.t_last_post_offset = _fptr(self.t_last_post_offset)
        # the sensors' updates multiply by the saturation's inverse: a division
        # per synapse and spike took ~4 vector operations of ~35 in the
        # pre-spike update
        np.divide(1.0, self.saturation, out=self.inv_saturation)
        self.syn.inv_saturation = _fptr(self.inv_saturation)
        for arr in (self.route_start, self.route_hemisphere, self.route_row, self.route_mode,
                    self.recurrent_label):
            if arr.dtype != np.int32 or not arr.flags.c_contiguous:
                raise TypeError("routing arrays must be contiguous int32")
        self.route_start_p = <int*>cnp.PyArray_DATA(self.route_start)
        self.route_hemisphere_p = <int*>cnp.PyArray_DATA(self.route_hemisphere)
        self.route_row_p = <int*>cnp.PyArray_DATA(self.route_row)
        self.route_mode_p = <int*>cnp.PyArray_DATA(self.route_mode)

    cdef inline bint _deliver(self, int label, double t_event, double t_end,
                              int only, LoopOut* out) noexcept nogil:
        # returns whether the event reached a neuron's accumulators
        cdef bint delivered = False
        cdef int row_select = label >> ADDRESS_BITS
        cdef int address = label & ADDRESS_MASK
        cdef int j, h, r
        cdef int* start = self.route_start_p
        cdef int* hem = self.route_hemisphere_p
        cdef int* row = self.route_row_p
        cdef int* mode = self.route_mode_p
        cdef float to_end = <float>(t_end - t_event)
        cdef float efficacy
        cdef Py_ssize_t k
        cdef double elapsed, decay_u
        cdef int* stp_on = <int*>cnp.PyArray_DATA(self.stp_enable)
        cdef double* U = <double*>cnp.PyArray_DATA(self.stp_U)
        cdef double* inv_rec = <double*>cnp.PyArray_DATA(self.stp_inv_rec)
        cdef double* inv_facil = <double*>cnp.PyArray_DATA(self.stp_inv_facil)
        cdef double* x = <double*>cnp.PyArray_DATA(self.stp_x)
        cdef double* u = <double*>cnp.PyArray_DATA(self.stp_u)
        cdef double* t_last = <double*>cnp.PyArray_DATA(self.stp_t_last)
        cdef unsigned char* listens = <unsigned char*>cnp.PyArray_DATA(self.row_listens)
        cdef float* S = self.S_mirror if only == 1 else self.S
        for j in range(start[row_select], start[row_select + 1]):
            h = hem[j]
            if only >= 0 and h != only:
                continue
            r = row[j]
            efficacy = 1.0
            k = h * 256 + r
            if stp_on[k]:
                # Tsodyks-Markram (as NEST's tsodyks2_synapse): resources recover
                # with tau_rec, utilisation relaxes to U with tau_facil; the event
                # carries its weight times u x
                elapsed = t_event - t_last[k]
                x[k] = 1.0 + (x[k] - x[k] * u[k] - 1.0) * exp(-elapsed * inv_rec[k])
                decay_u = exp(-elapsed * inv_facil[k]) if inv_facil[k] > 0.0 else 0.0
                u[k] = U[k] + u[k] * (1.0 - U[k]) * decay_u
                t_last[k] = t_event
                efficacy = <float>(x[k] * u[k])
            if not listens[k * 64 + address]:
                # no synapse of the row has this address: nothing to deliver or
                # to correlate, but the row's last pre spike at it is kept
                if self.correlation_enable:
                    note_pre_spike(&self.syn, h, r, address, t_event)
                continue
            if mode[j] == ROW_EXCITATORY:
                deliver_row(&self.syn, h, r, address, to_end, S + S_ACC_Q_E * NEURON_STRIDE,
                            S + S_ACC_QD_E * NEURON_STRIDE, efficacy)
            else:
                deliver_row(&self.syn, h, r, address, to_end, S + S_ACC_Q_I * NEURON_STRIDE,
                            S + S_ACC_QD_I * NEURON_STRIDE, efficacy)
            delivered = True
            if self.correlation_enable:
                correlate_pre(&self.syn, h, r, address, t_event)
            if self.any_bypass:
                self._bypass(h, r, address, 0 if mode[j] == ROW_EXCITATORY else 1, t_event,
                             efficacy, out)
        return delivered

    cdef void _bypass(self, int h, int r, int address, int receptor, double t_event,
                      float efficacy, LoopOut* out) noexcept nogil:
        """Spikes of the bypassed neurons this row event reaches with a nonzero
        weight (kept in `out` until the step's kernel spikes are out)."""
        cdef unsigned char* on = <unsigned char*>cnp.PyArray_DATA(self.bypass)
        cdef Py_ssize_t base = (<Py_ssize_t>h * 256 + r) * 256
        cdef int c, n
        for c in range(COLUMNS):
            n = h * COLUMNS + c
            if (on[receptor * NEURONS + n] and self.syn.label[base + c] == address
                    and self.syn.step[base + c] * efficacy > 0.0):
                if out.bp_count == out.bp_cap and _grow_bypass(out) != 0:
                    out.error = 1
                    return
                out.bp_n[out.bp_count] = n
                out.bp_t[out.bp_count] = t_event
                out.bp_count += 1

    def run(self, long n_steps, double dt,
            const double[::1] event_time, const int[::1] event_label,
            const double[::1] schedule_time, const int[::1] schedule_neuron,
            const float[::1] schedule_value,
            const int[::1] madc_neurons, const int[::1] madc_observe, double madc_t0,
            double madc_interval, float[:, ::1] madc_out, long madc_next,
            const int[::1] cadc_neurons, double cadc_t0, double cadc_interval,
            float[:, ::1] cadc_out, long cadc_next,
            const double[::1] node_base, const double[::1] node_gain, int threads=1):
        """Advance `n_steps` of `dt` us from self.time.

        Events (sorted by time, all inside this segment) and offset-current
        changes are consumed in order.  MADC samples i >= madc_next with time
        madc_t0 + i * madc_interval inside this segment are written to
        madc_out[i]; CADC samples likewise at step ends.  Returns
        (spike_times, spike_neurons, madc_next, cadc_next).

        threads=2 runs the two hemispheres in two threads when nothing couples
        them (no neuron's spikes come back as events: no recurrent routing, no
        loopback, none in flight); the results are the same as with one, but
        for the order of a step's spikes where bypass spikes follow the
        kernel's (two threads give them by neuron).
        """
        if (self.loop_start.dtype != np.int32 or self.loop_label.dtype != np.int32
                or self.loop_delay.dtype != np.float64 or len(self.loop_start) != NEURONS + 1):
            raise TypeError("loopback routes: start int32[513], label int32, delay float64")
        cdef LoopArgs a
        a.n_steps = n_steps
        a.dt = dt
        a.t0 = self.time
        a.event_time = &event_time[0] if event_time.shape[0] else NULL
        a.event_label = &event_label[0] if event_label.shape[0] else NULL
        a.n_ev = event_time.shape[0]
        a.schedule_time = &schedule_time[0] if schedule_time.shape[0] else NULL
        a.schedule_neuron = &schedule_neuron[0] if schedule_neuron.shape[0] else NULL
        a.schedule_value = &schedule_value[0] if schedule_value.shape[0] else NULL
        a.n_sc = schedule_time.shape[0]
        a.n_madc = madc_neurons.shape[0]
        a.madc_t0 = madc_t0
        a.madc_interval = madc_interval
        a.madc_out = &madc_out[0, 0] if madc_out.shape[0] and madc_out.shape[1] else NULL
        # one entry per channel (a neuron may be on several, with different
        # observables); the hemisphere threads use disjoint entries
        column, offset, base, gain, split = _madc_tables(
            np.asarray(madc_neurons), np.asarray(madc_observe), node_base, node_gain)
        a.madc_column = <int*>cnp.PyArray_DATA(column)
        a.madc_offset = <int*>cnp.PyArray_DATA(offset)
        a.madc_base = <float*>cnp.PyArray_DATA(base)
        a.madc_gain = <float*>cnp.PyArray_DATA(gain)
        a.madc_split = split
        madc_prev = np.zeros(max(madc_neurons.shape[0], 1), np.float32)
        a.madc_prev = <float*>cnp.PyArray_DATA(madc_prev)
        a.n_madc_rows = madc_out.shape[0]
        a.cadc_neurons = &cadc_neurons[0] if cadc_neurons.shape[0] else NULL
        a.n_cadc = cadc_neurons.shape[0]
        a.cadc_t0 = cadc_t0
        a.cadc_interval = cadc_interval
        a.cadc_out = &cadc_out[0, 0] if cadc_out.shape[0] and cadc_out.shape[1] else NULL
        a.n_cadc_rows = cadc_out.shape[0]
        a.rec_label = <int*>cnp.PyArray_DATA(self.recurrent_label)
        a.loop_start = <int*>cnp.PyArray_DATA(self.loop_start)
        a.loop_label = <int*>cnp.PyArray_DATA(self.loop_label)
        a.loop_delay = <double*>cnp.PyArray_DATA(self.loop_delay)
        a.counter = <unsigned int*>cnp.PyArray_DATA(self.spike_counter)
        # float32 offsets within ~256 us of their origin: 3e-5 us resolution
        a.rebase_steps = max(1, <long>(256.0 / dt))
        coupled = (bool(np.any(self.recurrent_label >= 0)) or len(self.loop_label) > 0
                   or self.events_in_flight > 0)
        cdef int parts = 2 if (threads > 1 and not coupled and EMU_OPENMP) else 1
        cdef LoopOut outs[2]
        cdef int tid
        for tid in range(2):
            outs[tid].cap = 1024
            outs[tid].count = 0
            outs[tid].sp_t = <double*>malloc(1024 * sizeof(double))
            outs[tid].sp_n = <int*>malloc(1024 * sizeof(int))
            outs[tid].sp_k = <long*>malloc(1024 * sizeof(long))
            outs[tid].madc_next = madc_next
            outs[tid].cadc_next = cadc_next
            outs[tid].error = 0
            outs[tid].bp_n = NULL
            outs[tid].bp_t = NULL
            outs[tid].bp_count = 0
            outs[tid].bp_cap = 0
        try:
            for tid in range(2):
                if not (outs[tid].sp_t and outs[tid].sp_n and outs[tid].sp_k):
                    raise MemoryError()
            if parts == 1:
                with nogil:
                    self._loop(&a, -1, &outs[0])
            else:
                self.state_mirror[:, COLUMNS:NEURONS] = self.state_block[:, COLUMNS:NEURONS]
                self.rng_mirror[COLUMNS:] = self.rng[COLUMNS:]
                try:
                    with nogil, parallel(num_threads=2):
                        tid = threadid()
                        self._loop(&a, tid, &outs[tid])
                finally:
                    self.state_block[:, COLUMNS:NEURONS] = self.state_mirror[:, COLUMNS:NEURONS]
                    self.rng[COLUMNS:] = self.rng_mirror[COLUMNS:]
            self.time = a.t0 + n_steps * dt
            for tid in range(parts):
                if outs[tid].error == 1:
                    raise MemoryError("out of memory for spikes or events in flight")
            total = outs[0].count + (outs[1].count if parts == 2 else 0)
            times = np.empty(total, np.float64)
            neurons = np.empty(total, np.int32)
            steps = np.empty(total, np.int64)
            at = 0
            for tid in range(parts):
                c = outs[tid].count
                if c:
                    times[at:at + c] = <double[:c]>outs[tid].sp_t
                    neurons[at:at + c] = <int[:c]>outs[tid].sp_n
                    steps[at:at + c] = <long[:c]>outs[tid].sp_k
                at += c
            if parts == 2 and total:
                # the order of one thread: by step, then by neuron.  Each
                # thread's spikes are in step order and hemisphere 0's neurons
                # precede hemisphere 1's, so a stable sort by step (a merge of
                # two runs: ~0.1 ms for 27k spikes, a lexsort took ~2.7 ms)
                # gives it, unless a step's bypass spikes followed its kernel
                # spikes out of neuron order
                order = np.argsort(steps, kind="stable")
                times, neurons, steps = times[order], neurons[order], steps[order]
                if np.any((np.diff(steps) == 0) & (np.diff(neurons) < 0)):
                    order = np.lexsort((neurons, steps))
                    times, neurons = times[order], neurons[order]
            return times, neurons, outs[0].madc_next, outs[0].cadc_next
        finally:
            for tid in range(2):
                free(outs[tid].sp_t)
                free(outs[tid].sp_n)
                free(outs[tid].sp_k)
                free(outs[tid].bp_n)
                free(outs[tid].bp_t)

    cdef int _emit(self, LoopArgs* a, int only, LoopOut* out, int n, double t_spike, long k,
                   double t_end) noexcept nogil:
        """Record a spike of neuron n in step k, feed it to the sensors and route
        it back (recurrent: at the step's end, loopback: after its delay).
        Returns -1 when out of memory."""
        cdef int j
        if out.count == out.cap and _grow(out) != 0:
            return -1
        out.sp_t[out.count] = t_spike
        out.sp_n[out.count] = n
        out.sp_k[out.count] = k
        out.count += 1
        a.counter[n] += 1
        if self.correlation_enable:
            correlate_post(&self.syn, n, t_spike)
        if only < 0:
            if a.rec_label[n] >= 0:
                if self.pending_count < NEURONS:
                    self.pending_label[self.pending_count] = a.rec_label[n]
                    self.pending_count += 1
                elif heap_push(&self.in_flight, t_end, a.rec_label[n]) != 0:
                    # more than one spike of a neuron in a step (bypass): the
                    # rest arrive at the step's end through the queue
                    return -1
            for j in range(a.loop_start[n], a.loop_start[n + 1]):
                if heap_push(&self.in_flight, t_spike + a.loop_delay[j], a.loop_label[j]) != 0:
                    return -1
        return 0

    cdef void _loop(self, LoopArgs* a, int only, LoopOut* out) noexcept nogil:
        """The time loop over all neurons (only = -1) or over one hemisphere's
        (its neurons, its synapse rows, its readout channels), in the calling
        thread with subnormal numbers flushed to zero (_fpmode.h)."""
        cdef unsigned long fp_mode = emu_flush_subnormals()
        self._steps(a, only, out)
        emu_restore_fp_mode(fp_mode)

    cdef void _steps(self, LoopArgs* a, int only, LoopOut* out) noexcept nogil:
        """_loop's steps, in the thread's floating-point mode as it is."""
        cdef float* S = self.S_mirror if only == 1 else self.S
        cdef unsigned int* rng = self.rng_mirror_p if only == 1 else self.rng_p
        cdef double t_start, t_end, t_spike, t_sample, frac
        cdef long k, ev = 0, sc = 0
        cdef int j, n, nspikes, n_pending, first, last, neuron, block, block_end
        cdef unsigned int crossed
        # whether events reached the accumulators since the last step (the
        # first step reads them: they may hold what a caller left there)
        cdef bint inputs = True
        cdef float value, off, thresh
        cdef double t_arrive
        cdef int pending_now[NEURONS]
        cdef float* obs_prev = a.madc_prev
        cdef float* row
        cdef double dt = a.dt
        # this thread's MADC channels
        cdef int c_first = 0 if only <= 0 else a.madc_split
        cdef int c_last = a.n_madc if only != 0 else a.madc_split
        first = 0 if only < 0 else only * COLUMNS
        last = NEURONS if only < 0 else first + COLUMNS
        # this thread's neurons that the kernel integrates
        cdef int lo = first if first > self.active_first else self.active_first
        cdef int hi = last if last < self.active_last else self.active_last
        cdef bint whole = lo == first and hi == last
        for k in range(a.n_steps):
            t_start = a.t0 + k * dt
            t_end = a.t0 + (k + 1) * dt
            if k % a.rebase_steps == 0:
                for j in range(2):
                    if only < 0 or only == j:
                        rebase_sensor_times(&self.syn, j, t_start)
            while sc < a.n_sc and a.schedule_time[sc] < t_end:
                neuron = a.schedule_neuron[sc]
                if first <= neuron < last:
                    self.P[P_I_OFFSET * NEURON_STRIDE + neuron] = a.schedule_value[sc]
                sc += 1
            if only < 0:
                # recurrent spikes of the previous step arrive at its end
                n_pending = self.pending_count
                memcpy(pending_now, self.pending_label, n_pending * sizeof(int))
                self.pending_count = 0
                for j in range(n_pending):
                    inputs |= self._deliver(pending_now[j], t_start, t_end, -1, out)
            while ev < a.n_ev and a.event_time[ev] < t_end:
                inputs |= self._deliver(a.event_label[ev], a.event_time[ev], t_end, only, out)
                ev += 1
            if only < 0:
                while self.in_flight.size > 0 and self.in_flight.time[0] < t_end:
                    # an event due before this step (delay shorter than the
                    # rest of its spike's step) arrives at the step start
                    t_arrive = self.in_flight.time[0]
                    inputs |= self._deliver(self.in_flight.label[0],
                                            t_arrive if t_arrive > t_start else t_start, t_end,
                                            -1, out)
                    heap_pop(&self.in_flight)
            for j in range(c_first, c_last):
                obs_prev[j] = a.madc_base[j] + a.madc_gain[j] * S[a.madc_offset[j]]
            if whole:
                nspikes = neuron_step(self.P, S, rng, <float>dt, self.noise,
                                      self.with_exp, self.with_coba, inputs, only)
            else:
                nspikes = neuron_step_range(self.P, S, rng, <float>dt, self.noise,
                                            self.with_exp, self.with_coba, inputs, lo, hi - lo)
            # the step left the accumulators cleared
            inputs = False
            if nspikes:
                # a few of the neurons crossed: each block's mask of them
                # (_spikemask.h), taken bit by bit in neuron order
                for block in range(lo, hi, SCAN_BLOCK):
                    block_end = block + SCAN_BLOCK if block + SCAN_BLOCK < hi else hi
                    crossed = emu_crossed(S + S_SPIKE_OFFSET * NEURON_STRIDE + block,
                                          block_end - block)
                    while crossed:
                        n = block + __builtin_ctz(crossed)
                        crossed &= crossed - 1
                        off = settle_spike(self.P, S, n, <float>dt, self.with_exp)
                        if self._emit(a, only, out, n, t_start + off, k, t_end) != 0:
                            out.error = 1
                            return
            for j in range(<int>out.bp_count):
                if self._emit(a, only, out, out.bp_n[j], out.bp_t[j], k, t_end) != 0:
                    out.error = 1
                    return
            out.bp_count = 0
            if a.n_madc:
                while out.madc_next < a.n_madc_rows:
                    t_sample = a.madc_t0 + out.madc_next * a.madc_interval
                    if t_sample > t_end:
                        break
                    frac = (t_sample - t_start) / dt
                    row = a.madc_out + out.madc_next * a.n_madc
                    # linear inside the step (a gather, vectorised), then the
                    # membranes that spiked in it: up to threshold, then reset
                    for j in range(c_first, c_last):
                        value = a.madc_base[j] + a.madc_gain[j] * S[a.madc_offset[j]]
                        row[a.madc_column[j]] = obs_prev[j] + (value - obs_prev[j]) * frac
                    if nspikes:
                        for j in range(c_first, c_last):
                            if a.madc_offset[j] >= NEURON_STRIDE * (S_V + 1):
                                continue                    # not a membrane
                            n = a.madc_offset[j] - S_V * NEURON_STRIDE
                            off = S[S_SPIKE_OFFSET * NEURON_STRIDE + n]
                            if off < 0.0:
                                continue
                            if t_sample - t_start < off:
                                # up to the threshold, within the rails
                                thresh = self.P[P_V_THRESH * NEURON_STRIDE + n]
                                thresh = min(max(thresh, RAIL_LOW_MV), RAIL_HIGH_MV)
                                value = obs_prev[j] + (thresh - obs_prev[j]) * (
                                    (t_sample - t_start) / off)
                            else:
                                value = self.P[P_E_RESET * NEURON_STRIDE + n]
                            row[a.madc_column[j]] = value
                    out.madc_next += 1
            if a.n_cadc:
                while out.cadc_next < a.n_cadc_rows:
                    t_sample = a.cadc_t0 + out.cadc_next * a.cadc_interval
                    if t_sample > t_end + 1e-9:
                        break
                    for j in range(a.n_cadc):
                        n = a.cadc_neurons[j]
                        if first <= n < last:
                            a.cadc_out[out.cadc_next * a.n_cadc + j] = (
                                S[S_V * NEURON_STRIDE + n])
                    out.cadc_next += 1
