"""The backend core: simulator state, placement, and running the chip.

PyNN objects only describe the network; before every run the state builds the
chip's configuration from them (placement of neurons on the 512 circuits,
translation of their parameters, routing of connections onto synapse rows,
delays through the FPGA loopback, electrodes as offset-current schedules),
runs the chip, and hands the readout to the recorders.
"""
import ctypes
import functools
import os
import time

import numpy as np
from pyNN import common, errors

import calibration
from calibration.result import NEURON_FIELDS
from cython_core import Chip, ChipConfig, MadcRecording, constants as C
from cython_core.config import FAST_REFRACTORY_SCALER, slowest_needed_scaler
from cython_core import mismatch as M
from cython_core._routing import (distinct_dense, full_grid, group_order, has_repeats,
                                  pairs_repeat, transposed)

from . import mapping, plasticity as P, translation as T

name = "BrainScaleS-2 (emulated)"
MAX_DT_US = 0.1      # the chip's integration step: at most 0.1 us
# glibc's mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_THRESHOLD = -1, -2, -3


def keep_freed_memory():
    """Let glibc's malloc keep freed memory for reuse (arrays up to 32 MB from
    the heap, no trimming below 256 MB, the heap grown 64 MB at a time).

    By default each array above 128 kB is a fresh mapping whose pages fault
    in on first use: a process's first run() of a full-chip network took
    ~1,400-1,800 page faults, 2-4 ms of a ~50 ms run on a 2-vCPU VM, for
    arrays the same sizes as those the network's construction had just freed.
    Kept, the first run takes ~40.  The peak memory stays the same (freed
    memory is not given back to the system while the process runs).  Does
    nothing where the process set any MALLOC_* variable (the user's own
    choice) or has no glibc; returns whether it took effect."""
    if any(key.startswith("MALLOC_") for key in os.environ):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    return all([mallopt(_M_MMAP_THRESHOLD, 32 << 20), mallopt(_M_TRIM_THRESHOLD, 256 << 20),
                mallopt(_M_TOP_PAD, 64 << 20)])


@functools.lru_cache(maxsize=None)
def _default_targets():
    """The calibration's default targets (built once: their checks cost ~0.2 ms)."""
    return calibration.Targets()


_NEURON_TARGETS = ("leak", "reset", "threshold", "tau_mem", "tau_syn_exc", "tau_syn_inh",
                   "refractory", "e_rev_exc", "e_rev_inh", "adaptation_tau", "adaptation_a",
                   "adaptation_b", "exponential_v_t", "i_synin_gm_exc", "i_synin_gm_inh")


@functools.lru_cache(maxsize=None)
def _default_target_rows():
    """The default targets of every circuit, one row per _NEURON_TARGETS name
    (copied per build, where 15 broadcasts and copies took ~0.1 ms)."""
    rows = np.empty((len(_NEURON_TARGETS), C.NUM_NEURONS))
    for row, name in zip(rows, _NEURON_TARGETS):
        # the assignment broadcasts: np.array of the 15 per_neuron() views
        # took ~0.1 ms
        row[...] = getattr(_default_targets(), name)
    rows.flags.writeable = False
    return rows


class ID(int, common.IDMixin):
    def __init__(self, n):
        int.__init__(n)
        common.IDMixin.__init__(self)

    def __getattr__(self, name):
        # numpy probes operands for __array_priority__, __array_ufunc__, ...
        # (e.g. in ids - population.first_id, which PyNN sets to an ID), and
        # IDMixin answers each probe by evaluating all parameters of the cell's
        # population; no parameter name is a dunder
        if name.startswith("__"):
            raise AttributeError(name)
        return common.IDMixin.__getattr__(self, name)


def _whole_population(cells):
    """Whether `cells` is a Population itself (consecutive ids), not a view (which
    has a first_id too) or an assembly."""
    return "first_id" in vars(cells) and "parent" not in vars(cells)


def cell_ids(cells, indices):
    """Global ids (int64) of `cells` (a Population, view or assembly) at `indices`."""
    if _whole_population(cells):
        return cells.first_id + np.asarray(indices, np.int64)
    return as_ints(cells.all_cells[np.asarray(indices, np.int64)])


def as_ints(ids):
    """Cell ids (IDs, ints, arrays) as an int64 array."""
    # int() first: numpy would probe each ID for array attributes, which PyNN's
    # IDMixin answers with a parameter lookup of the whole population
    if isinstance(ids, np.ndarray) and ids.dtype.kind in "iu":
        return ids.astype(np.int64).ravel()
    return np.fromiter((int(i) for i in (ids.ravel() if isinstance(ids, np.ndarray) else ids)),
                       np.int64)


def _by_population(ids):
    """Global ids as integers, and the index in state.populations of each one's
    population (populations hold consecutive ids, in order of creation)."""
    ids = as_ints(ids)
    firsts = np.array([p.first_id for p in state.populations], np.int64)
    return ids, np.searchsorted(firsts, ids, side="right") - 1


def _per_population(ids, value, dtype=np.int64):
    """value(population, index in it) for each cell id, one call per population
    (the ids may mix populations, views and assemblies)."""
    ids, which = _by_population(ids)
    out = np.empty(len(ids), dtype)
    if len(ids) and which.min() == which.max():      # the common case: one population
        pop = state.populations[which[0]]
        out[:] = value(pop, ids - pop.first_id)
        return out
    for k in np.unique(which):
        pop = state.populations[k]
        sel = which == k
        out[sel] = value(pop, ids[sel] - pop.first_id)
    return out


def slots_of(ids):
    """Neuron circuit of each cell id."""
    return _per_population(ids, lambda pop, index: pop.slots[index])


def _post_slots(prj):
    """Neuron circuit of each connection's postsynaptic cell."""
    if _whole_population(prj.post):            # index its circuits
        return prj.post.slots[np.asarray(prj.connections_post, np.int64)]
    return slots_of(cell_ids(prj.post, prj.connections_post))


class _ConnectionSlots(dict):
    """Projection -> neuron circuit of each connection's postsynaptic cell,
    found at the first look-up (a static grid's routing needs none)."""

    def __missing__(self, prj):
        slots = self[prj] = _post_slots(prj)
        return slots


def _cell_slots(cells):
    """Neuron circuit of each cell of a population, view or assembly."""
    if _whole_population(cells):
        return np.asarray(cells.slots, np.int64)
    return slots_of(cell_ids(cells, np.arange(cells.size)))


def _full_grid(prj):
    """Whether prj's connections are every (pre, post) pair once, in the order
    PyNN's all-to-all connection gives them (for each post cell, every pre
    cell): then their row requests follow from the grid's shape.  Kept per
    version of the projection's connections."""
    key = (prj.version, id(prj.connections_pre), id(prj.connections_post))
    kept = getattr(prj, "_full_grid_kept", None)
    if kept is None or kept[0] != key:
        kept = prj._full_grid_kept = (key, full_grid(
            np.ascontiguousarray(prj.connections_pre, np.int64),
            np.ascontiguousarray(prj.connections_post, np.int64), prj.pre.size, prj.post.size))
    return kept[1]


def hemisphere_and_column(slots):
    """(hemisphere, column) of neuron circuits `slots` (an int64 array): a
    shift and a mask, where numpy's integer division and remainder took ~0.4 ms
    for a full chip's connections."""
    return slots >> _COLUMN_BITS, slots & (C.COLUMNS_PER_HEMISPHERE - 1)


_COLUMN_BITS = C.COLUMNS_PER_HEMISPHERE.bit_length() - 1
_QUADRANT_BITS = C.NEURONS_PER_QUADRANT.bit_length() - 1
assert 1 << _COLUMN_BITS == C.COLUMNS_PER_HEMISPHERE
assert 1 << _QUADRANT_BITS == C.NEURONS_PER_QUADRANT


def source_codes(ids):
    """Routing source of each cell id as an integer: the id (>= 0) of a spike
    source, -1 - circuit of a chip neuron."""
    return _per_population(ids, lambda pop, index: pop.first_id + index if pop.is_source
                           else -1 - pop.slots[index])


def source_keys(codes):
    """The routing keys of source codes (integers): ("source", id) or
    ("neuron", circuit) each."""
    return [mapping.source_key(c) for c in np.asarray(codes, np.int64).tolist()]


def parameter_of(ids, name):
    """Parameter `name` of each cell id."""
    return _per_population(
        ids, lambda pop, index: np.asarray(pop.hardware_parameters()[name], float)[index], float)


def attribute_of(ids, getter):
    """getter(population) of each cell id's population."""
    return _per_population(ids, lambda pop, index: getter(pop), object)


def distinct(codes):
    """np.unique(codes, return_index=True, return_inverse=True) of integer codes:
    the distinct values in increasing order, the first index of each and each
    code's place among them.  Dense non-negative codes are counted (compiled)
    instead of sorted."""
    codes = np.ascontiguousarray(codes, np.int64)
    size = _dense_size(codes)
    if size is None:
        values, index, inverse = np.unique(codes, return_index=True, return_inverse=True)
        return values, index, np.ravel(inverse)
    return distinct_dense(codes, size)


def _mixed_radix(digits):
    """One int64 code per element from (values, radix) digits, the first most
    significant; digits of radix 1 (all zero) cost nothing."""
    code = None
    for values, radix in digits:
        if radix == 1 and code is not None:
            continue
        if code is None:
            code = np.array(values, np.int64)
        else:
            code *= radix
            code += values
    return code


def _array_bytes(values):
    """An array's type, shape and contents as one comparable value (object
    arrays, such as spike times, by type and shape only: inputs, not
    configuration)."""
    values = np.asarray(values)
    head = f"{values.dtype.str}{values.shape}"
    return head if values.dtype == object else (head, values.tobytes())


def _has_repeats(codes):
    """Whether any integer code occurs twice (dense codes: a byte mask)."""
    codes = np.ascontiguousarray(codes, np.int64)
    size = _dense_size(codes)
    return len(np.unique(codes)) < len(codes) if size is None else has_repeats(codes, size)


def _dense_size(codes):
    """max + 1 of non-negative codes where a table of that size is cheap (at most
    4 entries per code, plus 1024), else None."""
    n = len(codes)
    size = int(codes.max()) + 1 if n else 0
    return None if size > 4 * n + 1024 or (n and codes.min() < 0) else size


class _LearnedWeights:
    """The chip's synapse weights after a run, taken when first asked for
    (then kept): a copy of those it holds, or with `program` (learning
    pending) the preview of that program's update (Chip.preview_ppu).  Asked
    for after a later run (which takes the weights anew unless it failed), the
    chip's weights as they stand then."""

    def __init__(self, chip, program):
        self._chip = chip
        self._program = program
        self._runs = chip._runs
        self._weights = None if program else chip.config.synapses.weights.copy()

    def __call__(self):
        if self._weights is None:
            if self._chip._runs == self._runs:
                self._weights = self._chip.preview_ppu(self._program)
            else:
                self._weights = self._chip.config.synapses.weights.copy()
        return self._weights


class State(common.control.BaseState):
    """Standard PyNN: biological ms, which the chip runs as us (time_scale 1)."""
    time_scale = 1.0          # chip us per unit of the API's time
    native = False

    def __init__(self):
        super().__init__()
        self.mpi_rank = 0
        self.num_processes = 1
        self.chip = None
        self.chip_seed = 0
        self.ideal = False
        self.dt = 0.1
        self.min_delay = 0.1
        self.max_delay = 1e9
        self.seed = 0
        self.calibrations = {}
        self.auto_min_delay = False
        self.clear()

    # --- lifecycle ---
    def setup(self, timestep, min_delay, max_delay, chip, ideal, seed):
        keep_freed_memory()
        self.dt = float(timestep)
        self.auto_min_delay = min_delay == "auto"
        self.min_delay = timestep if min_delay == "auto" else float(min_delay)
        self.max_delay = 1e9 if max_delay == "auto" else float(max_delay)
        self.chip_seed = int(chip)
        self.ideal = bool(ideal)
        self.seed = seed
        step_us = self.dt * self.time_scale
        substeps = int(np.ceil(step_us / MAX_DT_US - 1e-9))
        self.chip = Chip(seed=self.chip_seed, ideal=self.ideal, dt=step_us / substeps)
        self.clear()

    def clear(self):
        # draws which spikes stochastic synapses release: reproducible per
        # chip and seed
        seed = self.seed if isinstance(self.seed, (int, np.integer)) else 0
        self._release_rng = np.random.default_rng([getattr(self, "chip_seed", 0), int(seed),
                                                   0x5E1EA5E])
        self.recorders = set()
        self.write_on_end = []
        self.id_counter = 0
        self.segment_counter = -1
        self.populations = []
        self.projections = []
        self.current_sources = []
        self.free_slot = 0
        self._delays_seen = False
        self._stdp = None
        self._stdp_baseline = None
        self._learned = None         # _LearnedWeights of the last run
        self._steady_capmem = None
        self._applied_build = None   # the build the chip applied last
        self._placements = {}
        self._units = {}
        self.build_seconds = 0.0     # wall time of the last configuration build
        self.builds = 0              # configurations built since setup()
        self._built_for = None       # fingerprint of the network the chip is configured for
        self.synapses_placed = None  # hardware synapses the last routing used
        self.reset()

    def reset(self):
        self._apply_pending_learning()
        self.running = False
        self.t = 0.0
        self.t_start = 0.0
        self.segment_counter += 1
        self.backlog = (np.zeros(0), np.zeros(0, np.int64))
        self.started = False

    def note_delays(self, delays):
        """With min_delay='auto', the minimum delay is the smallest one in use."""
        if self.auto_min_delay and len(delays):
            smallest = float(np.min(delays))
            self.min_delay = smallest if not self._delays_seen else min(self.min_delay, smallest)
            self._delays_seen = True

    def allocate(self, n):
        """Chip neuron circuits for `n` neurons, in order of creation.  The native
        API refuses a population the chip cannot hold at once; the standard one,
        as PyNN's simulators do, lets a script build and inspect a network of
        any size and refuses it when it is mapped (run())."""
        if self.native and self.free_slot + n > C.NUM_NEURONS:
            raise errors.InvalidDimensionsError(
                f"cannot place {n} more neuron(s): {self.free_slot} of the chip's "
                f"{C.NUM_NEURONS} neuron circuits are in use")
        slots = np.arange(self.free_slot, self.free_slot + n)
        self.free_slot += n
        return slots

    def _check_placement(self):
        """The network's neurons on the chip's 512 circuits, or a clear error."""
        if self.free_slot > C.NUM_NEURONS:
            sizes = ", ".join(f"{p.label or type(p.celltype).__name__} ({p.size})"
                              for p in self._neuron_populations())
            raise errors.InvalidDimensionsError(
                f"the network has {self.free_slot} neurons ({sizes}); the chip has "
                f"{C.NUM_NEURONS} neuron circuits")

    # --- running ---
    def run(self, simtime):
        self.run_until(self.t + simtime)

    def run_until(self, tstop):
        steps = (tstop - self.t) / self.dt
        if not self.native and abs(steps - round(steps)) > 1e-6 * max(1.0, abs(steps)):
            # as NEST: a duration off the grid is an error, not rounded away (the
            # native API, in hardware time, runs to the nearest integration step)
            raise ValueError(f"run: simulated time {tstop - self.t:g} ms (up to {tstop:g} ms) is "
                             f"not a multiple of the time step {self.dt:g} ms")
        if round(steps) < 1:
            self.running = True
            return
        duration = round(steps) * self.dt * self.time_scale
        self.prepare()
        if not self.started:
            self.chip.reset_state(v=self._initial_v())
            self.started = True
            self._applied_build = self.builds
        # the chip applied the configuration at reset_state or at its last run,
        # and only a build since (here or in an earlier prepare()) changes it:
        # the chip keeps its own writes in a run in step
        applied = self._applied_build == self.builds
        t0 = self.chip.time
        spikes = self._input_events(t0, t0 + duration)
        schedule = self._offset_schedule(t0, t0 + duration)
        madc, groups = self._madc_plan()
        result = self._run_chip(duration, spikes, madc, schedule,
                                self._ppu_programs(t0, t0 + duration), applied)
        self._applied_build = self.builds
        # the PPU's weights back into the projections: no change of the network
        # (see _network_fingerprint), the configuration holds them already
        self._take_learned_weights()
        self._deliver_results(result, groups, t0)
        self.t = self.chip.time / self.time_scale
        self.running = True

    def prepare(self):
        """Build the chip's configuration, unless the network is as it was at
        the last build; build_seconds says how long this took."""
        started = time.perf_counter()
        fingerprint = self._network_fingerprint()
        if fingerprint != self._built_for:
            self._apply_pending_learning()
            self._build()
            self.builds += 1
            self._built_for = fingerprint
        self.build_seconds = time.perf_counter() - started

    def _run_chip(self, duration, spikes, madc, schedule, ppu, applied):
        return self.chip.run(duration, spikes=spikes, madc=madc, ppu=ppu,
                             offset_current_schedule=schedule, configuration_applied=applied)

    # --- building the configuration ---
    def _network_fingerprint(self):
        """What the chip's configuration is built from, as a tuple to compare:
        populations (cell types, placement, parameters, plasticity rules),
        projections (which connections, and how often they were changed) and
        current sources.  Weights the PPU wrote during a run are in the
        configuration already: taking them back into the projections is no
        change.  The parameters are kept as their bytes, compared at the next
        build: hashing them took ~0.3 ms for a full chip."""
        parts = [repr((self.ideal, self.chip_seed, self.dt, len(self.populations),
                       len(self.projections)))]
        for pop in self.populations:
            parts.append(repr((type(pop.celltype).__name__, pop.size, pop.first_id,
                               id(getattr(pop.celltype, "plasticity_rule", None)))))
            if pop.slots is not None:
                parts.append(_array_bytes(pop.slots))
            parameters = sorted(pop.hardware_parameters().items())
            parts.append(repr([name for name, _ in parameters]))
            parts += [_array_bytes(values) for _, values in parameters]
            parts.append(repr(sorted(getattr(pop, "configuration_overrides", {}).items())))
        for prj in self.projections:
            synapse = prj.synapse_type
            # connections: their count of changes (set(), connect, Connection
            # objects), not their values -- comparing 131k synapses costs ~15 ms
            parts.append(repr((type(synapse).__name__, id(synapse), prj.receptor_type, id(prj),
                               prj.version, len(prj),
                               getattr(getattr(synapse, "weight_dependence", None),
                                       "extra_parameters", None),
                               id(getattr(synapse, "plasticity_rule", None)))))
        for source in self.current_sources:
            parts.append(repr((type(source).__name__, source.lower_bound())))
            parts.append(_array_bytes(source._slots))
        return tuple(parts)

    def _neuron_populations(self):
        return [p for p in self.populations if not p.is_source]

    def _build(self):
        self._check_placement()
        ideal = self.ideal
        self._post_slots = _ConnectionSlots()
        self._units = {}
        self._steady_capmem = None     # _offset_capmem's, kept until the next build
        self._sensor_tau = self._sensor_time_constants()
        config = ChipConfig(integer_capmem=not ideal)
        self._kappa = np.full(C.NUM_NEURONS, T.HW_CAPACITANCE_PF)
        self._offset = np.zeros(C.NUM_NEURONS)
        self._current_gain = np.ones(C.NUM_NEURONS)
        self._madc_transfer = (M.MADC_GAIN_CODES_PER_MV, M.MADC_OFFSET_MV)
        self._synin_baseline = np.full((2, C.NUM_NEURONS), M.SYNIN_BASELINE_MV)
        self._conductance = np.zeros(C.NUM_NEURONS, bool)
        longest = max([float(np.max(p.hardware_parameters()["tau_refrac"]))
                       for p in self._neuron_populations()
                       if p.size and "tau_refrac" in p.hardware_parameters()] + [0.0])
        slow_scaler = slowest_needed_scaler(longest)
        for pop in self._neuron_populations():
            for key, values in self._population_config(pop, slow_scaler).items():
                getattr(config.neurons, key)[pop.slots] = values
        config.refractory_clock_scaler[:] = [FAST_REFRACTORY_SCALER, slow_scaler]
        if not ideal and self.free_slot:
            self._apply_calibration(config)
        if not self.native:      # the offset current carries i_offset and electrodes
            config.neurons.constant_current_enable[: self.free_slot] = True
        self._bias_for_negative_currents(config)
        self._route(config)
        self.chip.config = config
        # only the circuits the network uses are integrated (a few neurons run
        # many times faster than 512)
        slots = [np.asarray(p.slots) for p in self._neuron_populations() if p.size]
        self.chip.active_neurons = ((int(min(s.min() for s in slots)),
                                     int(max(s.max() for s in slots)) + 1) if slots else (0, 0))

    def _population_config(self, pop, slow_scaler):
        """Configuration fields of a population's neurons (translated standard cells)."""
        params = pop.hardware_parameters()
        kappa = T.kappa(params["cm"])
        cell = pop.celltype.__class__.__name__
        offset = T.voltage_offsets(cell, params, self.ideal)
        self._kappa[pop.slots] = kappa
        self._offset[pop.slots] = offset
        self._conductance[pop.slots] = pop.celltype.conductance_based
        return T.neuron_config(cell, params, kappa, offset, self.ideal, slow_scaler)

    def _bias_for_negative_currents(self, config):
        """The offset current only sources current.  A neuron that is to receive
        negative current gets a constant bias current on top of everything it is
        injected, and its leak potential is lowered by bias / g_leak, which
        cancels the bias exactly: the injected current then reaches below zero."""
        self._bias = np.zeros(C.NUM_NEURONS)
        lowest = np.zeros(C.NUM_NEURONS)
        for pop in self._neuron_populations():
            lowest[pop.slots] += np.minimum(pop.hardware_parameters()["i_offset"], 0.0)
        for source in self.current_sources:
            lowest[source._slots] += min(0.0, source.lower_bound())
        self._bias = -lowest
        biased = np.flatnonzero(self._bias > 0)
        if biased.size == 0:
            return
        tau_m = np.zeros(C.NUM_NEURONS)
        for pop in self._neuron_populations():
            tau_m[pop.slots] = pop.hardware_parameters()["tau_m"]
        g_hw = T.HW_CAPACITANCE_PF / tau_m[biased]
        shift_mv = T.VOLTAGE_GAIN * self._kappa[biased] * self._bias[biased] / g_hw
        leak = config.neurons.leak_v_leak[biased] - shift_mv / M.POTENTIAL_SLOPE_MV
        if np.any(leak < 0):
            i = biased[np.argmin(leak)]
            raise errors.InvalidParameterValueError(
                f"injected current: down to {-self._bias[i]:g} nA on neuron circuit {i} would "
                f"need its leak potential {-(leak.min()) * M.POTENTIAL_SLOPE_MV / T.VOLTAGE_GAIN:g}"
                f" mV below the circuit's reach")
        if not self.ideal:
            leak = np.rint(leak)
        config.neurons.leak_v_leak[biased] = leak

    def _apply_calibration(self, config):
        """Calibrate the placed neurons to their requested parameters (cached per
        chip and target set) and take the calibrated CapMem values."""
        n = config.neurons
        target = dict(zip(_NEURON_TARGETS, _default_target_rows().copy()))
        adex_slots = []
        for pop in self._neuron_populations():
            p = pop.hardware_parameters()
            s = pop.slots
            off = self._offset[s]
            target["leak"][s] = T.cadc_lsb(T.v_to_hw(p["v_rest"], off))
            target["reset"][s] = T.cadc_lsb(T.v_to_hw(p["v_reset"], off))
            spike = p["v_spike"] if "v_spike" in p else p["v_thresh"]
            target["threshold"][s] = T.cadc_lsb(T.v_to_hw(spike, off))
            target["tau_mem"][s] = p["tau_m"]
            target["tau_syn_exc"][s] = p["tau_syn_E"]
            target["tau_syn_inh"][s] = p["tau_syn_I"]
            # the refractory period is digital: the translation sets it, whatever
            # its length; the calibration only needs one within its own range
            _, shortest, longest = calibration.targets.FEASIBLE["refractory"]
            target["refractory"][s] = np.clip(p["tau_refrac"], shortest, longest)
            for receptor in ("excitatory", "inhibitory"):     # the translation's gm biases
                target[f"i_synin_gm_{receptor[:3]}"][s] = getattr(
                    n, f"{receptor}_input_i_bias_gm")[s]
            if "e_rev_E" in p:
                target["e_rev_exc"][s] = T.cadc_lsb(T.v_to_hw(p["e_rev_E"], off))
                target["e_rev_inh"][s] = T.cadc_lsb(T.v_to_hw(p["e_rev_I"], off))
            if "a" in p:            # AdEx: adaptation and exponential term in hardware units
                kappa = self._kappa[s]
                target["adaptation_tau"][s] = p["tau_w"]
                target["adaptation_a"][s] = kappa * p["a"] * 1e-3
                target["adaptation_b"][s] = kappa * T.VOLTAGE_GAIN * p["b"]
                target["exponential_v_t"][s] = T.cadc_lsb(T.v_to_hw(p["v_thresh"], off))
                adex_slots.append(s)
        # unused circuits take the first neuron's targets: a homogeneous network
        # then needs one calibration (and one cache entry), whatever its size
        first = int(min(int(np.min(p.slots)) for p in self._neuron_populations()))
        unused = np.ones(C.NUM_NEURONS, bool)
        for pop in self._neuron_populations():
            unused[pop.slots] = False
        for values in target.values():
            values[unused] = values[first]
        coba = bool(self._conductance.any())
        adex = bool(adex_slots)
        correlation = self._sensor_tau is not None
        if correlation:
            target["correlation_tau"] = self._sensor_tau
            target["correlation_amplitude"] = P.AMPLITUDE_LSB[False]
        try:
            targets = calibration.Targets(**target)
        except calibration.InfeasibleTargetError as err:
            raise errors.InvalidParameterValueError(
                f"{err} (the calibrated chip's reach)") from err
        key = (self.chip_seed, targets.digest(), coba, adex, correlation)
        if key not in self.calibrations:
            self.calibrations[key] = calibration.cached(self.chip_seed, targets, coba=coba,
                                                        adex=adex, correlation=correlation,
                                                        targets_digest=key[1])
        result = self.calibrations[key]
        self._current_gain = np.asarray(result.offset_current_gain, float)
        self._madc_transfer = tuple(float(x) for x in result.madc_transfer)
        self._synin_baseline = np.asarray(result.synin_baseline_mv, float)
        self._sensor_amplitude = np.asarray(result.correlation_amplitude, float)
        used = slice(0, self.free_slot)         # the placed circuits come first
        adex_used = np.zeros(C.NUM_NEURONS, bool)
        for s in adex_slots:
            adex_used[s] = True
        if adex_used[used].all():
            adex_used = used
        for field in NEURON_FIELDS:
            # switches and the digital refractory setting stay as translated
            if field.endswith("coba_mode") or field.startswith("refractory"):
                continue
            if field.startswith(("adaptation", "exponential")):
                getattr(n, field)[adex_used] = result.neurons[field][adex_used]
                continue
            getattr(n, field)[used] = result.neurons[field][used]
        # written as the neuron fields are: the chip validates the whole
        # configuration before it runs it (set() checked each field again, ~0.1 ms)
        for field, values in result.quadrants.items():
            getattr(config.quadrants, field)[...] = values
        config.cadc_channel_offsets[...] = result.cadc_channel_offsets

    def _route(self, config):
        requested = []
        # (projection, its part of the requests, the slots: for a full grid its
        # post cells', else its connections' with their hemispheres, key
        # indices and columns)
        plastic = []
        for number, prj in enumerate(self.projections):
            if len(prj.connections_pre) == 0 or self._routes_itself(prj):
                continue
            grid = self._grid_requests(number, prj)
            if grid is not None:
                # a grid's requests need none of the per-connection arrays
                # below (~0.3 ms for a full chip's connections), nor does a
                # plastic grid's capacity or placement (GridPlacement)
                capacity = 0.0
                if prj.plastic:
                    post_slots = _cell_slots(prj.post)
                    capacity = self._plastic_capacity(prj, post_slots, grid[3], grid=True)
                    plastic.append((prj, len(requested), post_slots, None))
                requested.append(grid + (capacity,))
                continue
            slots = self._post_slots[prj]
            hemisphere, column = hemisphere_and_column(slots)
            # each connection's hardware weight: the requests and a plastic
            # rule's capacity read it
            w_hw = self._hardware_weights(prj, slots)
            keys, group, bounds, c_unique, summed = self._sorted_requests(
                number, prj, hemisphere, column, w_hw)
            capacity = 0.0
            if prj.plastic:
                capacity = self._plastic_capacity(prj, slots, w_hw)
                plastic.append((prj, len(requested), slots, (hemisphere, group, column)))
            requested.append((keys, bounds, c_unique, summed, capacity))
        requests = mapping.RowRequests.joined(requested)
        try:
            routing = mapping.route(requests, config, not self.ideal, self._reserved_drivers())
        except mapping.RoutingError as err:
            raise errors.ConnectionError(str(err)) from err
        self.synapses_placed = routing.synapses
        # the labels of stochastic synapses: the connection each serves (its
        # parallel rows release together) and its release probability
        self._label_release = {}
        if any("p" in prj.extra_names for prj in self.projections):
            for i, key in enumerate(requests.keys):
                release = self._release_of(key[5])
                if release is not None:
                    for label in routing.labels_of(i):
                        self._label_release[label] = (key[5], release)
        self._source_route_table = {}
        code, delay, label = routing.routes
        # the spike sources' routes by id (each id's in the order of the routes)
        source = code >= 0
        order = np.argsort(code[source], kind="stable")
        self._source_routes_by_id = (code[source][order], delay[source][order],
                                     label[source][order])
        neuron = ~source
        config.loopback_neurons = -1 - code[neuron]
        config.loopback_labels = label[neuron]
        config.loopback_delays = delay[neuron] * self.time_scale      # chip us
        self._configure_plasticity(config, plastic, routing, requests)

    def _release_of(self, owner):
        """The release probability of the connection a row request of its own
        serves (owner: projection number, 1 + connection index), or None."""
        if owner is None:
            return None
        prj = self.projections[owner[0]]
        return float(prj.connections_p[owner[1] - 1]) if "p" in prj.extra_names else None

    def _routes_itself(self, prj):
        """Whether a subclass places this projection's synapses itself."""
        return False

    def _reserved_drivers(self):
        """Synapse drivers [2, 128] a subclass fills itself, or None."""
        return None

    def _sorted_requests(self, number, prj, hemisphere, column, w_hw):
        """The row requests of a projection: its keys (_request_keys), the key
        index of each connection, the bounds of each key's run and the
        columns and hardware weights of the synapses in key order."""
        keys, group = self._request_keys(number, prj, hemisphere)
        # a plastic projection's keys keep repeated connections apart (their
        # count digit): only static ones can repeat a (key, column)
        code = None if prj.plastic else group * C.COLUMNS_PER_HEMISPHERE + column
        if code is not None and _has_repeats(code):
            # repeated connections (multapses): one synapse per key and
            # column, with their weights summed
            pairs, _, place = distinct(code)
            summed = np.bincount(place, weights=w_hw, minlength=len(pairs))
            g_unique, c_unique = np.divmod(pairs, C.COLUMNS_PER_HEMISPHERE)
            bounds = np.searchsorted(g_unique, np.arange(len(keys) + 1))
        else:
            # each connection a synapse of its own: its key's columns by a
            # counting sort by key (sorting the codes took ~2.5 ms more for
            # 131k connections)
            order, bounds = group_order(np.ascontiguousarray(group, np.int64), len(keys))
            c_unique, summed = (column, w_hw) if order is None else (column[order], w_hw[order])
        return keys, group, bounds, c_unique, summed

    def _grid_requests(self, number, prj):
        """The row requests of a projection whose connections are the full
        grid (every pre cell to every post cell once, see _full_grid), with
        one delay and neither short-term plasticity nor release
        probabilities, as _request_keys and the sort by key give them: the
        keys (each pre cell's source in each hemisphere used, in that order),
        the bounds of each key's run and the columns and hardware weights in
        key order.  None for other projections.
        ~1 ms less for a full chip's 131k connections: the grid's shape gives
        what the general path finds by counting, sorting and gathering, from
        the post cells' circuits instead of each connection's."""
        if ("tau_rec" in prj.extra_names or "p" in prj.extra_names
                or not prj.is_uniform("delay") or not _full_grid(prj)):
            return None
        n_pre, n_post = prj.pre.size, prj.post.size
        post_slots = _cell_slots(prj.post)
        post_hemisphere, post_column = hemisphere_and_column(post_slots)
        per_hemisphere = np.bincount(post_hemisphere, minlength=C.NUM_HEMISPHERES)
        used = np.flatnonzero(per_hemisphere)
        bounds = np.r_[0, np.cumsum(np.tile(per_hemisphere[used], n_pre))]
        # a key's connections in connection order: its hemisphere's post cells
        posts = np.argsort(post_hemisphere, kind="stable")
        # the hardware weights, [post, pre] (as _hardware_weights, per post cell)
        by_post = self._hardware_weights(
            prj, post_slots[:, None], np.reshape(prj.connections_weight, (n_post, n_pre)))
        if np.any(np.diff(post_hemisphere) < 0):
            by_post = by_post[posts]
        columns = np.tile(post_column[posts], n_pre)
        weights = transposed(np.ascontiguousarray(by_post, float)).ravel()
        keys = mapping.GridKeys(source_codes(cell_ids(prj.pre, np.arange(n_pre))),
                                float(np.round(prj.connections_delay[:1], 6)[0]),
                                prj.receptor_type, used, (number, 0) if prj.plastic else None)
        return keys, bounds, columns, weights

    def _request_keys(self, number, prj, hemisphere):
        """Row requests of a projection: the distinct keys (source, delay,
        receptor, hemisphere, short-term plasticity, owner) and the index of
        each connection's key (`hemisphere`: that of each connection's neuron).
        A plastic projection's synapses have rows of their own (owner: the
        projection, and a count that keeps repeated (pre, post, delay)
        connections apart)."""
        n = len(hemisphere)
        # the pre cells are distinct: their index in prj.pre numbers the sources
        pre_codes = source_codes(cell_ids(prj.pre, np.arange(prj.pre.size)))
        source_index = np.asarray(prj.connections_pre, np.int64)
        delay = np.asarray(prj.connections_delay, float)
        if n and prj.is_uniform("delay"):             # one delay (no rounding)
            delays, delay_index = np.round(delay[:1], 6), np.zeros(n, np.int64)
        else:
            delays, delay_index = np.unique(np.round(delay, 6), return_inverse=True)
        if "tau_rec" in prj.extra_names:            # short-term plasticity of the row
            stp = np.round(np.column_stack([
                prj.connections_U, prj.connections_tau_rec * self.time_scale,
                prj.connections_tau_facil * self.time_scale]), 9)
            dynamics, dyn_index = np.unique(stp, axis=0, return_inverse=True)
        else:
            dynamics, dyn_index = [None], np.zeros(n, np.int64)
        count = np.zeros(n, np.int64)
        partial = (np.asarray(prj.connections_p, float) < 1.0 if "p" in prj.extra_names
                   else None)
        if partial is not None and np.any(partial):
            # a connection that releases at random has a row of its own: its
            # source's spikes are thinned for it alone
            if np.any(pre_codes[source_index[partial]] < 0):
                raise errors.ConnectionError(
                    f"{type(prj.synapse_type).__name__} p < 1 from chip neurons: their spikes "
                    f"reach every synapse of a row (the FPGA replays them unthinned); release "
                    f"at random is realised for spike sources only")
            count = np.where(partial, 1 + np.arange(n), 0)
        elif prj.plastic:
            post_index = np.asarray(prj.connections_post, np.int64)
            # repeated connections (multapses): only where a (pre, post) pair
            # repeats (or the pairs are too sparse for a mask) can a (pre, post,
            # delay) one
            repeated = pairs_repeat(source_index, prj.pre.size, post_index, prj.post.size)
            if repeated is not False:
                pair = _mixed_radix([(source_index, prj.pre.size), (post_index, prj.post.size),
                                     (delay_index, len(delays))])
                repeated = _has_repeats(pair)
            if repeated:
                order = np.argsort(pair, kind="stable")
                first_of_run = np.r_[True, pair[order][1:] != pair[order][:-1]]
                run_start = np.maximum.accumulate(np.where(first_of_run, np.arange(n), 0))
                count[order] = np.arange(n) - run_start
        # one integer per key: mixed-radix digits (source, delay, hemisphere, dynamics, count)
        code = _mixed_radix([(source_index, len(pre_codes)), (delay_index, len(delays)),
                             (hemisphere, C.NUM_HEMISPHERES),
                             (np.ravel(dyn_index), len(dynamics)),
                             (count, int(count.max()) + 1)])
        _, first, group = distinct(code)
        # the attributes of each key, from one connection of it
        sources = source_keys(pre_codes[source_index[first]])
        key_delays = np.asarray(delays, float)[delay_index[first]].tolist()
        hemispheres = hemisphere[first].tolist()
        stp = ([None] * len(first) if dynamics[0] is None else
               [tuple(row) for row in np.asarray(dynamics, float)[np.ravel(dyn_index)[first]]
                .tolist()])
        owners = ([(number, c) for c in count[first].tolist()] if prj.plastic
                  else [(number, c) if c else None for c in count[first].tolist()])
        receptor = prj.receptor_type
        keys = [(source, delay, receptor, h, dyn, owner) for source, delay, h, dyn, owner
                in zip(sources, key_delays, hemispheres, stp, owners)]
        return keys, np.ravel(group)

    def _sensor_time_constants(self):
        """Correlation sensor time constant (chip us) per quadrant that the STDP
        projections need (quadrants without plastic synapses take the shortest),
        or None without STDP."""
        quadrant_tau = np.full(C.NUM_QUADRANTS, np.nan)
        for prj in self.projections:
            if not (P.is_stdp(prj) and len(prj)):
                continue
            uniform = prj.is_uniform("tau_plus")
            # a full grid reaches every post cell: their circuits tell the
            # quadrants, without a pass over each connection's (~0.3 ms)
            slots = (_cell_slots(prj.post) if uniform and _full_grid(prj)
                     else self._post_slots[prj])
            quadrant = slots >> _QUADRANT_BITS
            used = np.bincount(quadrant, minlength=C.NUM_QUADRANTS) > 0
            tau = P.sensor_tau(prj, self.time_scale, first_only=uniform)
            for q in np.flatnonzero(used):
                taus = tau if uniform else np.unique(tau[quadrant == q])
                if not np.isnan(quadrant_tau[q]):
                    taus = np.union1d(taus, quadrant_tau[q:q + 1])
                if len(taus) > 1:
                    raise errors.InvalidParameterValueError(
                        f"{type(prj.synapse_type).__name__}: tau_plus values "
                        f"{(taus / self.time_scale).tolist()} ms for neurons of quadrant {q} "
                        f"(circuits {q * C.NEURONS_PER_QUADRANT}.."
                        f"{(q + 1) * C.NEURONS_PER_QUADRANT - 1}); its correlation sensors "
                        f"share one time constant")
                quadrant_tau[q] = taus[0]
        if np.all(np.isnan(quadrant_tau)):
            return None
        return np.where(np.isnan(quadrant_tau), np.nanmin(quadrant_tau), quadrant_tau)

    def _plastic_capacity(self, prj, slots, w_hw, grid=False):
        """The largest hardware weight a plastic projection's synapses must be
        able to take: STDP up to w_max; a rule's synapses as the largest in
        their projection (`w_hw`: their hardware weights, in any order).
        `grid`: the connections are the full grid (_full_grid), and `slots`
        those of the post cells."""
        if not P.is_stdp(prj):
            return float(np.max(w_hw))
        if prj.is_uniform("w_max"):
            # one w_max: in hardware units largest where an LSB is worth least
            i = int(np.argmin(self._weight_unit(slots)))
            return float(self._hardware_weights(prj, slots[i:i + 1],
                                                prj.connections_w_max[:1])[0])
        if grid:        # per connection as [post, pre], the post cells' slots a column
            return float(np.max(self._hardware_weights(prj, slots[:, None], np.reshape(
                prj.connections_w_max, (prj.post.size, prj.pre.size)))))
        return float(np.max(self._hardware_weights(prj, slots, prj.connections_w_max)))

    def _configure_plasticity(self, config, plastic, routing, requests):
        """Where plastic synapses sit; sensors and the built-in STDP program."""
        self._stdp = None
        self._placements = {}
        config.correlation_sensors_enable = bool(plastic)
        groups = []
        for prj, part, slots, connections in plastic:
            rows = routing.rows(requests.index_of_part[part])
            if connections is None:
                # a full grid: its keys each pre cell's in each hemisphere
                # used (_grid_requests), `slots` its post cells'
                placement = P.GridPlacement(rows, prj.pre.size, *hemisphere_and_column(slots))
            else:
                hemisphere, group, column = connections
                placement = P.SynapsePlacement(hemisphere=hemisphere, rows=rows[group],
                                               columns=column)
            self._placements[prj] = placement
            if not P.is_stdp(prj):
                continue
            unit = self._weight_unit(slots)
            if connections is None and not P.is_uniform(unit):
                # the post cells' units differ: per connection
                unit = self._weight_unit(self._post_slots[prj])
            groups += P.stdp_groups(prj, placement, unit, self.time_scale)
        if not groups:
            return
        amplitude = P.AMPLITUDE_LSB[self.ideal]
        if self.ideal:
            tau_bias, amplitude_bias = P.ideal_sensor_biases(self._sensor_tau, amplitude, config)
            config.quadrants.correlation_i_bias_tau = tau_bias
            config.quadrants.correlation_i_bias_amplitude = amplitude_bias
        else:                       # as the calibration measured them, where it could
            measured = self._sensor_amplitude
            amplitude = np.where(np.isfinite(measured) & (measured > 0), measured, amplitude)
        key = (config.quadrants.correlation_v_res_meas.tobytes(),
               config.cadc_channel_offsets.tobytes())
        program = P.PairSTDPProgram(groups, P.PERIOD_PER_TAU * float(self._sensor_tau.min()),
                                    amplitude, integer_weights=not self.ideal)
        if self._stdp_baseline is not None and self._stdp_baseline[0] == key:
            program.baseline = self._stdp_baseline[1]
        self._stdp = (program, key)

    def _hardware_weights(self, prj, slots, weights=None):
        """Hardware weights (LSB) of `weights` (default: the projection's)."""
        weights = prj.connections_weight if weights is None else weights
        return T.weight_to_hw(weights, None, None, unit=self._weight_unit(slots))

    def _weights_from_hardware(self, prj):
        """A function: prj's hardware weights -> API units, with this build's
        units.  Onto a whole population, its connections' units are looked up
        at the call (~0.25 ms for a full-chip projection, whose learned weights
        most runs never read): the population's circuits are its own.  A view's
        or an assembly's cells are found among this state's populations, which
        a later setup() replaces: their circuits are looked up now."""
        unit_of_circuit = T.weight_unit(self._kappa, self._conductance)
        if prj in self._post_slots or not _whole_population(prj.post):
            unit = unit_of_circuit[self._post_slots[prj]]
            return lambda w_hw: T.weight_from_hw(w_hw, None, None, unit=unit)
        return lambda w_hw: T.weight_from_hw(w_hw, None, None,
                                             unit=unit_of_circuit[_post_slots(prj)])

    def _weight_unit(self, slots):
        """The biological weight of one hardware LSB at each of `slots`, kept per
        slots array for this build (weights, their bounds and the learned ones
        of a projection share its connections' slots)."""
        kept = self._units.get(id(slots))
        if kept is None or kept[0] is not slots:
            # the unit per neuron circuit (512), then per connection
            kept = (slots, T.weight_unit(self._kappa, self._conductance)[slots])
            self._units[id(slots)] = kept
        return kept[1]

    def _ppu_programs(self, t0, t1):
        return [self._stdp[0].program(t0, t1, self.chip.dt)] if self._stdp else []

    def _take_learned_weights(self):
        """Weights the PPU wrote, back into the plastic projections (API units)
        at their next read: converting a full-chip projection's after every run
        cost ~0.6 ms, and most runs' weights are never read.  Where the STDP
        program has learning pending (pairs since its last update), the
        weights are those its update would write now (a preview, computed at
        the first read)."""
        program = None
        if self._stdp:
            program, key = self._stdp
            self._stdp_baseline = (key, program.baseline)
        self._learned = _LearnedWeights(self.chip,
                                        program if program and program.pending else None)
        for prj, placement in self._placements.items():
            prj.defer_weights(self._learned_weights(prj, placement, self._learned))

    def _learned_weights(self, prj, placement, written):
        """A function that gives prj's weights (API units) from the synapse
        weights `written()`, with this build's units and signs."""
        from_hw = self._weights_from_hardware(prj)
        sign = self._weight_sign(prj)

        def learned():
            weights = from_hw(placement.weights(written()))
            return weights if sign == 1.0 else sign * weights
        return learned

    def _apply_pending_learning(self):
        """Before the chip's weights are taken as they stand (a rebuild of its
        configuration, a reset): the STDP program's pending learning into
        them, as the projections show it (the preview), and the program's
        sensors reset, so that no pair counts twice."""
        if not (self._stdp and self.started and self._stdp[0].pending):
            return
        program = self._stdp[0]
        learned = self._learned()          # the preview the projections show

        def write(ppu):
            for h, rows in program.rows.items():
                ppu.set_weights(h, learned[h][rows], rows=rows)
                ppu.reset_correlation(h, rows)
        self.chip.run_ppu(write)
        program.pending = False

    @staticmethod
    def _weight_sign(prj):
        return 1.0

    # --- inputs ---
    def _input_events(self, t0, t1):
        times, labels = [self.backlog[0]], [self.backlog[1]]
        for pop in self.populations:
            if not getattr(pop.celltype, "is_source", False):
                continue
            spikes, cells = pop.spikes_between(t0 / self.time_scale, t1 / self.time_scale)
            pop.store_source_spikes(spikes, cells)
            # each route (cell, delay, label) carries all of its cell's spikes
            route_cell, route_delay, route_label, route_release = self._source_routes(pop)
            first = np.searchsorted(cells, np.arange(pop.size + 1))
            counts = np.diff(first)[route_cell]
            # index of every carried spike: each route's run of its cell's spikes
            carried = mapping.run_index(first[route_cell], counts)
            route_times = (spikes[carried] + np.repeat(route_delay, counts)) * self.time_scale
            route_labels = np.repeat(route_label, counts)
            if np.any(route_release < 1.0):
                sent = self._released(route_label, route_release, counts)
                route_times, route_labels = route_times[sent], route_labels[sent]
            times.append(route_times)
            labels.append(route_labels)
        t = np.concatenate(times)
        lab = np.concatenate(labels).astype(np.int64)
        now = t < t1
        self.backlog = (t[~now], lab[~now])
        return np.maximum(t[now], t0), lab[now]

    def _released(self, route_label, route_release, counts):
        """Which carried spikes a stochastic synapse releases (a mask over the
        routes' runs of spikes): one draw per connection and spike, shared by
        the connection's parallel rows."""
        sent = np.ones(int(counts.sum()), bool)
        starts = np.concatenate([[0], np.cumsum(counts)])
        draws = {}
        for j in np.flatnonzero(route_release < 1.0):
            connection, _ = self._label_release[int(route_label[j])]
            if connection not in draws:
                draws[connection] = self._release_rng.random(int(counts[j]))
            sent[starts[j]:starts[j + 1]] = draws[connection] < route_release[j]
        return sent

    def _source_routes(self, pop):
        """The routes of a source population's cells: (cell index, delay, label)
        arrays, one entry per label (kept until the next routing)."""
        if pop in self._source_route_table:
            return self._source_route_table[pop]
        ids, delay, label = self._source_routes_by_id
        lo, hi = np.searchsorted(ids, [pop.first_id, pop.first_id + pop.size])
        label = label[lo:hi]
        release = ([self._label_release.get(lab, (None, 1.0))[1] for lab in label.tolist()]
                   if self._label_release else np.ones(len(label)))
        table = (ids[lo:hi] - pop.first_id, delay[lo:hi], label, np.array(release, float))
        self._source_route_table[pop] = table
        return table

    def _offset_schedule(self, t0, t1):
        """Offset current of every placed neuron: its i_offset plus its current
        sources, written (as CapMem values) where it differs from the value the
        chip holds, at the start of the run and wherever the total changes
        inside it (a continued run without electrodes writes nothing)."""
        if not self.free_slot:
            return None
        slots = np.arange(self.free_slot)
        times = {t0}
        for source in self.current_sources:
            times.update(t for t in source.change_times(t0, t1) if t0 < t < t1)
        ts, ns, vs = [], [], []
        previous = self.chip.config.neurons.constant_current_i_offset[slots]
        for t in sorted(times):
            capmem = self._offset_capmem(slots, t)
            changed = slots[capmem != previous]
            ts.append(np.full(len(changed), float(t)))
            ns.append(changed)
            vs.append(capmem[changed])
            previous = capmem
        return np.concatenate(ts), np.concatenate(ns).astype(np.int64), np.concatenate(vs)

    def _offset_capmem(self, slots, t):
        """The CapMem values of the offset currents of `slots` at time t; without
        electrodes they stay as the build left them, and are kept."""
        if self._steady_capmem is not None and not self.current_sources:
            return self._steady_capmem
        total = self._bias.copy()
        for pop in self._neuron_populations():
            total[pop.slots] += pop.hardware_parameters()["i_offset"]
        for source in self.current_sources:
            total += source.amplitude_at(t)
        capmem = T.offset_current_capmem(total[slots], self._kappa[slots],
                                         "injected current (i_offset + current sources)")
        if not self.ideal:
            # the calibration's measured gain of each neuron's offset current
            capmem = np.clip(np.rint(capmem / self._current_gain[slots]), 0, C.CAPMEM_MAX)
        if not self.current_sources:
            self._steady_capmem = capmem
        return capmem

    def _initial_v(self):
        """The populations' initial membranes (hardware mV), NaN where a circuit
        starts at its leak potential (the chip's reset puts it there); None if
        no population gives one."""
        v = None
        for pop in self._neuron_populations():
            init = pop.initial_v()
            if init is not None:
                if v is None:
                    v = np.full(C.NUM_NEURONS, np.nan)
                v[pop.slots] = T.v_to_hw(init, self._offset[pop.slots])
        return v

    # --- readout ---
    def _madc_plan(self):
        """The MADC recording of every analog request, and its groups of
        columns: (recorder, variable, cell ids, their circuits, the slice of
        MADC columns holding their traces)."""
        neurons, observables, groups = [], [], []
        for recorder in self.recorders:
            for variable, ids in recorder.analog_requests():
                ids = list(ids)
                slots = slots_of(ids)
                columns = slice(len(neurons), len(neurons) + len(ids))
                groups.append((recorder, variable, ids, slots, columns))
                neurons += list(slots)
                observables += [OBSERVABLE[variable]] * len(ids)
        if not neurons:
            return None, []
        return (MadcRecording(np.array(neurons), observables, interval=self.dt * self.time_scale),
                groups)

    def _deliver_results(self, result, groups, t0):
        for recorder in self.recorders:
            recorder.take_spikes(result.spike_times / self.time_scale, result.spike_neurons)
        codes_per_mv, zero_mv = self._madc_transfer
        ideal = result.madc_mv is not None          # mV already, no codes to convert
        source = result.madc_mv if ideal else result.madc_codes
        samples = source.shape[0]
        for recorder, variable, ids, slots, columns in groups:
            # node mV -> the variable's unit is (mV - zero) x per_mv per circuit
            # (_bio_line): with the codes' line, one subtraction and one product
            # per sample, where the steps one by one made ~7 passes over float64
            # temporaries (~6 ms for a whole-chip membrane trace).  A node at
            # its zero reads 0 exactly (a synaptic input at rest on an ideal chip).
            zero, per_mv = self._bio_line(variable, slots)
            if not ideal:
                zero, per_mv = (zero - zero_mv) * codes_per_mv, per_mv / codes_per_mv
            # kept in float32 (a tenth of the MADC's resolution is ~1e-5 of the
            # values): half the memory of a long recording; get_data() hands
            # out float64.  Converted in float64, then rounded once: a membrane
            # at rest reads its v_rest exactly (PyNN's scenario test_issue451)
            traces = np.empty((samples, len(ids)), np.float32)
            in_order = np.array_equal(columns, np.arange(source.shape[1]))
            # converted a block of samples at a time: temporaries the size of a
            # whole-chip trace (millions of samples) would be beyond the
            # allocator's reuse, each paid in fresh pages
            step = max(1, SAMPLES_PER_BLOCK // len(ids))
            block = np.empty((min(step, samples), len(ids)))
            for first in range(0, samples, step):
                part = source[first:first + step] if in_order else source[first:first + step,
                                                                          columns]
                converted = block[:len(part)]
                np.subtract(part, zero, out=converted)
                converted *= per_mv
                traces[first:first + step] = converted
            recorder.take_signals(variable, ids, traces)

    def _bio_line(self, variable, slot):
        """How node voltages (hardware mV) of the circuits `slot` give the
        variable in its biological unit: (node_mv - zero) * per_mv, as
        (zero, per_mv) per circuit."""
        kappa = self._kappa[slot]
        ones = np.ones(np.shape(kappa))
        if variable == "v":
            return T.v_hw_line(self._offset[slot])
        if variable in ("gsyn_exc", "gsyn_inh"):
            gm = M.GM_PER_LSB_US["excitatory"] * T.GM_BIAS
            return (self._synin_baseline[int(variable == "gsyn_inh")][slot] * ones,
                    gm * T.COBA_BIAS / M.COBA_NORM_NUMERATOR_MV / M.SYNIN_MV_PER_MV / kappa)
        if variable == "w":
            return (M.ADAPTATION_BASELINE_MV * ones,
                    1.0 / (M.ADAPTATION_MV_PER_NA * kappa * T.VOLTAGE_GAIN))
        raise errors.RecordingError(variable, None)


# MADC samples converted together (see _deliver_results)
SAMPLES_PER_BLOCK = 1 << 16

OBSERVABLE = {"v": "v", "gsyn_exc": "exc_synin", "gsyn_inh": "inh_synin", "w": "adaptation"}

state = State()
