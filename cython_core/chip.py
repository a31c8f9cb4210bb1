"""`Chip`: one emulated BrainScaleS-2 chip, driven like the hardware.

Configure through `chip.config`, then `chip.run(duration, ...)` with input
spike trains (the FPGA path), MADC/CADC recordings and PPU programs; results
come back as raw hardware data (8 ns spike timestamps, ADC codes).
All times are hardware time in us; the chip's clock continues across runs
until `reset_state()`.
"""
import os
import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from . import constants as C
from . import mismatch as M
from . import readout
from ._engine import SENSOR_GAINS, Engine, Observable, openmp_available
from ._plasticity import AdditiveSTDPUpdate, load_weights, run_updates, store_weight_rows
from ._readout import uniform
from .config import ChipConfig, ConfigurationError, check_range

OBSERVABLES = {"v": Observable.OBSERVE_V, "exc_synin": Observable.OBSERVE_EXC,
               "inh_synin": Observable.OBSERVE_INH,
               "adaptation": Observable.OBSERVE_ADAPTATION}
# the readout nodes' lines (mismatch.READOUT_NODES) per Observable, for the engine
_by_code = sorted(OBSERVABLES, key=lambda name: int(OBSERVABLES[name]))
NODE_BASE = np.array([M.READOUT_NODES[name][1] for name in _by_code])
NODE_GAIN = np.array([M.READOUT_NODES[name][2] for name in _by_code])


@dataclass
class MadcRecording:
    """Record `observable` ('v', 'exc_synin', 'inh_synin', 'adaptation'; one for
    all or one per neuron) of `neurons` every `interval` us."""
    neurons: Sequence[int]
    observable: object = "v"
    interval: float = C.MADC_SAMPLE_INTERVAL_US


@dataclass
class CadcRecording:
    """Read the membrane of `neurons` through the CADC every `interval` us."""
    neurons: Sequence[int]
    interval: float = C.CADC_READ_INTERVAL_US


@dataclass
class PPUProgram:
    """Call `callback(ppu)` at each of `times` (us, chip time).  `ppu` is a
    :class:`PPUAccess`; calls are rounded up to the integration step grid."""
    times: Sequence[float]
    callback: Callable


@dataclass
class RunResult:
    t_start: float
    t_stop: float
    spike_times: np.ndarray            # us, on the 8 ns FPGA grid
    spike_neurons: np.ndarray
    madc_times: np.ndarray = field(default_factory=lambda: np.zeros(0))
    madc_codes: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.uint16))
    madc_neurons: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    # an ideal chip also reads its MADC without quantisation: node voltages, mV
    madc_mv: np.ndarray = None
    cadc_times: np.ndarray = field(default_factory=lambda: np.zeros(0))
    cadc_codes: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.uint8))
    cadc_neurons: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    # the on-chip background generators' events as the FPGA records them
    # (us, on its 8 ns grid): the generator of each and the label it sent
    background_times: np.ndarray = field(default_factory=lambda: np.zeros(0))
    background_generators: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    background_labels: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    def spikes_of(self, neuron):
        return self.spike_times[self.spike_neurons == neuron]


class PPUAccess:
    """What a plasticity program sees at its timer time: weights, correlation,
    spike counters and membrane samples, all through the chip's interfaces.

    A preview (Chip.preview_ppu) reads the chip as it stands, but its weight
    writes go to a copy of the weights and its resets of sensors and spike
    counters are left out: `previewing` tells a program so."""

    def __init__(self, chip, time, rng, preview=False):
        self._chip = chip
        self.time = time
        self._rng = rng
        self.previewing = bool(preview)
        if preview:
            weights = chip.config.synapses.weights
            # the weights, their kept copy and the engine's line steps
            self._written = (weights.astype(np.float32, copy=True),
                             np.empty(weights.shape, np.float32),
                             np.empty(weights.shape, np.float32))
        else:
            self._written = (chip.config.synapses.weights, chip._synapse_snapshot[0],
                             chip._engine.synapse_step)

    def get_weights(self, hemisphere):
        """Synapse weights of one hemisphere, [256 rows, 256 columns] (a copy)."""
        return self._written[0][self._hemi(hemisphere)].copy()

    def set_weights(self, hemisphere, weights, rows=None):
        """Write 6-bit weights of one hemisphere (all rows, or the given rows)."""
        h = self._hemi(hemisphere)
        chip = self._chip
        configured, kept, step = (a[h] for a in self._written)
        if rows is None:
            rows = _ALL_ROWS
        else:
            rows = self._indices("rows", rows, C.ROWS_PER_HEMISPHERE)
        weights = np.asarray(weights, dtype=np.float64)
        shape = rows.shape + (C.COLUMNS_PER_HEMISPHERE,)
        rows = rows.ravel()
        if weights.shape != shape:           # broadcast, as numpy's assignment would
            weights = np.broadcast_to(weights, shape)
        weights = np.ascontiguousarray(weights.reshape(len(rows), C.COLUMNS_PER_HEMISPHERE))
        # NaN fails both comparisons
        in_range = weights.size == 0 or (weights.min() >= 0 and weights.max() <= C.WEIGHT_MAX)
        if not (in_range and store_weight_rows(
                weights, rows, not chip.ideal, configured, kept, chip._step_per_weight[h],
                step)):
            check_range("ppu weights", weights, 0, C.WEIGHT_MAX, integer=not chip.ideal)

    def additive_stdp_rows(self, hemisphere, n_rows, rule, reset_code, pairs_per_code, reads=1):
        """An additive pair-STDP update of the first `n_rows` rows of a
        hemisphere in one pass, as a PPU program does it row by row: the CADC
        reads of both sensor branches (the mean of `reads` reads, as
        read_correlation), the new weights, their write and the sensors'
        reset.  The result, random numbers included, is that of
        read_correlation, reset_correlation, get_weights, random (one number
        per synapse, where weights are integers) and set_weights in this order.

        `rule`: causal_scale, acausal_scale, a_plus, a_minus and w_min, w_max
        (weight LSB); `reset_code`, `pairs_per_code`: the codes of reset sensors
        and the pairs per code, [branch (causal, acausal), column]."""
        self.additive_stdp_hemispheres([dict(
            hemisphere=hemisphere, n_rows=n_rows, rule=rule, reset_code=reset_code,
            pairs_per_code=pairs_per_code, reads=reads)])

    def additive_stdp_hemispheres(self, updates):
        """additive_stdp_rows for both hemispheres, as the chip's two PPUs (one
        per hemisphere) run their programs side by side: `updates`, one dict of
        its arguments per hemisphere.  The random numbers are drawn in the
        order of `updates`, so that the result is that of the calls one after
        another; where the chip runs two threads (Chip.threads), the second
        hemisphere's update runs in the second (OpenMP)."""
        prepared = [AdditiveSTDPUpdate(*self._additive_stdp_arguments(**update))
                    for update in updates]
        apart = len({self._hemi(update["hemisphere"]) for update in updates}) == len(updates)
        run_updates(prepared, self._chip.threads if apart else 1)

    def _additive_stdp_arguments(self, hemisphere, n_rows, rule, reset_code, pairs_per_code,
                                 reads=1):
        """AdditiveSTDPUpdate's arguments for additive_stdp_rows (its random
        keys drawn now)."""
        h = self._hemi(hemisphere)
        check_range("n_rows", n_rows, 0, C.ROWS_PER_HEMISPHERE)
        check_range("reads", reads, 1, 64)
        for name in ("w_min", "w_max"):
            check_range(f"rule {name}", rule[name], 0, C.WEIGHT_MAX, integer=False)
        chip = self._chip
        code_scale, code_shift, noise_sd, floor = chip._sensor_read_tables(h, int(reads))
        causal_key = readout.noise_key(self._rng)
        acausal_key = readout.noise_key(self._rng)
        integer = not chip.ideal
        uniform_key = readout.noise_key(self._rng) if integer else 0
        e = chip._engine
        return (
            e.causal[h], e.acausal[h], int(n_rows), code_scale, code_shift, noise_sd,
            causal_key, acausal_key, floor, float(C.CADC_CODE_MAX),
            np.ascontiguousarray(reset_code, np.float64),
            np.ascontiguousarray(pairs_per_code, np.float64),
            *(float(rule[name]) for name in ADDITIVE_RULE),
            integer, uniform_key, self._written[0][h], self._written[1][h],
            chip._step_per_weight[h], self._written[2][h], not self.previewing)

    def read_correlation(self, hemisphere, rows=None, reads=1):
        """Causal and acausal correlation of the given rows as raw 8-bit CADC codes
        (each [rows, 256]).  Correlation lowers the sensor voltage, so codes fall
        from the reset level as pairs accumulate.  `reads` > 1 averages that many
        successive reads (float codes: less temporal noise, at the cost of PPU
        time).  An ideal chip reads without quantisation (float codes), as it
        reads its MADC."""
        h = self._hemi(hemisphere)
        check_range("reads", reads, 1, 64)
        if rows is not None:
            rows = self._indices("rows", rows, C.ROWS_PER_HEMISPHERE)
        chip = self._chip
        return tuple(readout.cadc_drop_codes(drop, chip._sensor_read_transfer(h, branch),
                                             chip.mismatch, self._rng,
                                             quantise=not chip.ideal, reads=int(reads))
                     for branch, drop in zip((readout.CAUSAL, readout.ACAUSAL),
                                             chip._engine.correlation_view(h, rows)))

    def random(self, shape):
        """Uniform pseudo-random numbers in [0, 1) (the PPU's generator, seeded
        per run with the run's noise seed), e.g. for stochastic rounding."""
        out = np.empty(shape, np.float64)
        uniform(out.reshape(-1), readout.noise_key(self._rng))
        return out

    def reset_correlation(self, hemisphere, rows=None):
        h = self._hemi(hemisphere)
        rows = None if rows is None else self._indices("rows", rows, C.ROWS_PER_HEMISPHERE)
        if not self.previewing:
            self._chip._engine.reset_correlation(h, rows)

    def read_spike_counters(self, reset=False, neurons=None):
        """Per-neuron 8-bit saturating spike counters (all 512, or of `neurons`);
        `reset` clears the counters read."""
        counter = self._chip._engine.spike_counter
        sel = slice(None) if neurons is None else self._indices("neurons", neurons, C.NUM_NEURONS)
        out = np.minimum(counter[sel], C.SPIKE_COUNTER_MAX).astype(np.uint8)
        if reset and not self.previewing:
            counter[sel] = 0
        return out

    def read_membrane(self, neurons=None, source="v"):
        """CADC samples (8-bit codes) of `neurons` (default: all 512): their
        membranes, or the node each neuron's readout source selects (`source`:
        one of 'v', 'exc_synin', 'inh_synin', 'adaptation', or one per neuron)."""
        neurons = (np.arange(C.NUM_NEURONS) if neurons is None
                   else self._indices("neurons", neurons, C.NUM_NEURONS))
        state = self._chip._engine.state
        nodes = {name: base + gain * state[variable]
                 for name, (variable, base, gain) in M.READOUT_NODES.items()}
        sources = np.broadcast_to(np.asarray(source, dtype=object), neurons.shape)
        voltage = np.empty(neurons.shape, np.float64)
        for name in set(sources.tolist()):
            if name not in nodes:
                raise ConfigurationError(f"source: value {name!r} is not one of {sorted(nodes)}")
            chosen = sources == name
            voltage[chosen] = nodes[name][neurons[chosen]]
        return readout.cadc_membrane_codes(voltage, neurons, self._chip.config,
                                           self._chip.mismatch, self._rng)

    @staticmethod
    def _hemi(hemisphere):
        check_range("hemisphere", hemisphere, 0, C.NUM_HEMISPHERES - 1)
        return int(hemisphere)

    @staticmethod
    def _indices(name, values, count):
        """Row or neuron indices, checked against 0..count - 1 (numpy would wrap
        negative ones, and a slice of rows beyond the array is silently empty)."""
        values = np.asarray(values)
        check_range(name, values, 0, count - 1)
        return values.astype(np.int64, copy=False)


_ALL_ROWS = np.arange(C.ROWS_PER_HEMISPHERE)
# the parameters of an additive pair rule (PPUAccess.additive_stdp_rows), in
# the order the compiled update takes them
ADDITIVE_RULE = ("causal_scale", "acausal_scale", "a_plus", "a_minus", "w_min", "w_max")


def _fpga_timestamps(times):
    """Event times (us) as the FPGA stamps them: to the nearest tick of its clock."""
    res = C.TIMESTAMP_RESOLUTION_US
    return np.floor(np.asarray(times, float) / res + 0.5) * res


def default_threads():
    """2 where this process may run on two cores and the engine was built with
    OpenMP, else 1."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (
        os.cpu_count() or 1)
    return 2 if cores >= 2 and openmp_available() else 1


class Chip:
    """One BrainScaleS-2 chip.  Same `seed`, same fixed-pattern noise.

    `ideal=True` gives a flawless chip: no mismatch, no temporal noise and no
    weight quantisation (weights may be any value 0..63).
    `dt` is the integration step in us (hardware time).  `threads`: 1 or 2
    (default: $PYNN_BSS2_EMU_THREADS, else 2 where two cores are free to this
    process, see default_threads); results do not depend on it.
    """

    def __init__(self, seed=0, ideal=False, dt=C.DEFAULT_TIMESTEP_US, threads=None):
        self.mismatch = M.Mismatch(seed, ideal)
        if not (isinstance(dt, (int, float)) and np.isfinite(dt) and 0.001 <= dt <= 1.0):
            raise ConfigurationError(f"dt: value {dt!r} is out of range; allowed range is "
                                     f"0.001..1.0 us")
        self.seed = self.mismatch.seed
        self.ideal = self.mismatch.ideal
        # threads=2 runs the hemispheres in two threads where nothing couples
        # them (no neuron-to-neuron events): 1.4-1.8x on a 16-core Xeon, ~12 % on a
        # 2-vCPU VM (tests/benchmarks/engine_full_chip.py --threads 2).  Default:
        # 2 where the process may use two cores and the engine has OpenMP;
        # PYNN_BSS2_EMU_THREADS overrides it
        if threads is None:
            threads = os.environ.get("PYNN_BSS2_EMU_THREADS", str(default_threads()))
            try:
                threads = int(threads)
            except ValueError:
                raise ConfigurationError(f"PYNN_BSS2_EMU_THREADS: value {threads!r} is not "
                                         f"an integer; allowed range is 1..2") from None
            check_range("PYNN_BSS2_EMU_THREADS", threads, 1, C.NUM_HEMISPHERES)
        self.threads = threads
        self.dt = float(dt)
        self.config = ChipConfig(integer_capmem=not self.ideal)
        self._engine = Engine()
        gains = {name: np.empty((C.NUM_HEMISPHERES, C.ROWS_PER_HEMISPHERE,
                                 C.COLUMNS_PER_HEMISPHERE), np.float32)
                 for name in SENSOR_GAINS}
        M.correlation_synapse_gains(self.mismatch, gains)
        self._engine.set_sensor_gains(**gains)
        self._runs = 0
        self._between_runs = 0       # PPU programs run since the last run (run_ppu)
        self._sensor_reset_mv = None
        self._correlation_key = None
        self._validated_key = None
        self._sensor_transfers = {}
        self._synapse_snapshot = None
        self._step_per_weight_key = None
        # neuron circuits a network uses, (first, last + 1), or None: all.  The
        # engine integrates these (and any recorded one) only; the others are
        # idle circuits and stay at rest
        self.active_neurons = None
        # wall time of the last run() in the engine and in PPU programs (seconds)
        self.last_run_profile = {}
        self.reset_state()

    @property
    def threads(self):
        """Threads of the engine: 1, or 2 (one per hemisphere)."""
        return self._threads

    @threads.setter
    def threads(self, value):
        check_range("threads", value, 1, C.NUM_HEMISPHERES)
        self._threads = int(value)

    @property
    def time(self):
        """Chip time in us: the end of the last run."""
        return self._engine.time

    def analog_state(self):
        """Emulator-only probe (no such access exists on the hardware): copies of
        the membrane potential (mV), synaptic-line voltages (mV), adaptation
        current (nA) and refractory time left (us) of all 512 neurons, and the
        correlation accumulators (mV, [hemisphere][row][column])."""
        st = self._engine.state
        causal, acausal = zip(*(self._engine.correlation(h) for h in range(C.NUM_HEMISPHERES)))
        return {"v": st["v"].copy(), "exc_synin": st["u_e"].copy(),
                "inh_synin": st["u_i"].copy(), "adaptation": st["w"].copy(),
                "refractory": st["refr"].copy(), "causal": np.stack(causal),
                "acausal": np.stack(acausal)}

    def physical_parameters(self):
        """Emulator-only probe: the per-neuron physical parameters (mV, us, pF,
        uS, nA) that the current configuration produces on this chip instance."""
        return M.neuron_parameters(self.config, self.mismatch, self.dt)

    def reset_state(self, v=None):
        """Put the analog state at rest (membranes at their leak potential) and
        the clock, correlation sensors and spike counters at zero.

        `v`: membrane potentials (mV, per neuron or one for all) to start from
        instead of the leak potential, NaN where a neuron starts at it -- an
        emulator convenience (a real chip's membranes start wherever their
        circuits settle).
        """
        self._apply_config()
        e = self._engine
        for name, arr in e.state.items():
            arr[...] = 0.0
        if v is None:
            e.state["v"][...] = e.physical["e_leak"]
        else:
            v = np.asarray(v, float)
            e.state["v"][...] = np.where(np.isnan(v), e.physical["e_leak"], v)
        e.causal[...] = 0.0
        e.acausal[...] = 0.0
        e.forget_spike_times()
        e.spike_counter[...] = 0
        e.clear_in_flight()
        # full resources, and no use of them yet: the first event of a row
        # carries U (u relaxes from 0 to U at each event)
        e.stp_x[...] = 1.0
        e.stp_u[...] = 0.0
        e.stp_t_last[...] = 0.0
        e.time = 0.0

    # --- configuration -> engine ---
    def _apply_config(self):
        cfg = self.config
        e = self._engine
        # validation and the neuron parameters only when what they read changed (a
        # run applies the configuration twice, at reset_state and at run)
        quadrant_bytes = tuple(getattr(cfg.quadrants, n).tobytes() for n in cfg.quadrants.names())
        key = quadrant_bytes + tuple(
            getattr(t, name).tobytes() for t in (cfg.neurons, cfg.generators)
            for name in t.names()) + tuple(np.asarray(a).tobytes() for a in (
                cfg.cadc_channel_offsets, cfg.refractory_clock_scaler, cfg.loopback_neurons,
                cfg.loopback_labels, cfg.loopback_delays))
        if key != self._validated_key:
            cfg.validate(integer_weights=not self.ideal, synapses=False)
            e.set_params(M.neuron_parameters(cfg, self.mismatch, self.dt))
            self._validated_key = key
            self._sensor_transfers = {}     # the CADC's and sensors' settings may have moved
        # the synapse arrays are large: reload them only when they changed
        syn = cfg.synapses
        current = (syn.weights, syn.labels, syn.row_modes, syn.driver_enable,
                   syn.driver_row_select, cfg.quadrants.synapse_dac_bias, syn.stp_enable,
                   syn.stp_U, syn.stp_tau_rec, syn.stp_tau_facil)
        if self._synapse_snapshot is None or not all(
                np.array_equal(a, b) for a, b in zip(current, self._synapse_snapshot)):
            syn.validate(integer_weights=not self.ideal, weights=False)
            kept_weights = self._load_synapses()
            self._load_routing()
            self._load_stp()
            # the labels as the engine holds them (uint8, compared by value):
            # no copy of the int64 array (1 MB)
            self._synapse_snapshot = (kept_weights, e.synapse_label) + tuple(
                a.copy() for a in current[2:])
        # the per-synapse sensor parameters only where the sensors run (the
        # reset level, which the CADC reads of idle sensors give, always)
        sensing = bool(cfg.correlation_sensors_enable)
        key = (sensing,) + quadrant_bytes
        if key != self._correlation_key:
            self._sensor_reset_mv = M.correlation_reset_mv(cfg, self.mismatch)
            if sensing:
                M.correlation_parameters(cfg, self.mismatch, {
                    "amplitude": e.sensor_amplitude, "rate": e.sensor_rate,
                    "saturation": e.saturation})
            self._correlation_key = key
        e.correlation_enable = bool(cfg.correlation_sensors_enable)
        nc = cfg.neurons
        e.bypass[0] = nc.event_routing_enable_bypass_excitatory
        e.bypass[1] = nc.event_routing_enable_bypass_inhibitory
        e.any_bypass = bool(e.bypass.any())
        e.recurrent_label[...] = np.where(
            nc.event_routing_enable_recurrent & nc.event_routing_enable_digital,
            nc.event_routing_label, -1)
        # only spikes that leave the neuron (digital output on) reach the FPGA
        routed = np.flatnonzero(nc.event_routing_enable_digital[cfg.loopback_neurons])
        order = routed[np.argsort(np.asarray(cfg.loopback_neurons)[routed], kind="stable")]
        sources = np.asarray(cfg.loopback_neurons)[order]
        e.loop_start = np.searchsorted(sources, np.arange(C.NUM_NEURONS + 1)).astype(np.int32)
        e.loop_label = np.ascontiguousarray(np.asarray(cfg.loopback_labels)[order], np.int32)
        e.loop_delay = np.ascontiguousarray(np.asarray(cfg.loopback_delays)[order], np.float64)
        e.bind()

    def _sensor_read_transfer(self, hemisphere, branch):
        """The CADC transfer of a hemisphere's sensor branch per column
        (readout.cadc_drop_transfer), kept while the configuration stays."""
        key = (hemisphere, branch)
        if key not in self._sensor_transfers:
            column_reset = self._sensor_reset_mv[
                hemisphere * 2 + np.arange(C.COLUMNS_PER_HEMISPHERE) // C.NEURONS_PER_QUADRANT]
            self._sensor_transfers[key] = readout.cadc_drop_transfer(
                column_reset, hemisphere, branch, self.config, self.mismatch)
        return self._sensor_transfers[key]

    def _sensor_read_tables(self, hemisphere, reads):
        """How a hemisphere's sensors are read, averaged over `reads` reads:
        the CADC line's scale and shift per [branch, column] (code = drop *
        scale + shift), the noise's sd and whether codes are rounded down; kept
        while the configuration stays."""
        key = (hemisphere, "tables", reads)
        if key not in self._sensor_transfers:
            line_shift, noise_sd, floor = readout.cadc_read_model(
                self.mismatch, not self.ideal, reads)
            transfers = [self._sensor_read_transfer(hemisphere, branch)
                         for branch in (readout.CAUSAL, readout.ACAUSAL)]
            self._sensor_transfers[key] = (
                np.stack([scale for scale, _ in transfers]),
                np.stack([shift + line_shift for _, shift in transfers]), noise_sd, floor)
        return self._sensor_transfers[key]

    def _load_synapses(self):
        """The synapses' labels and line steps into the engine (the labels
        checked already); returns a copy of the weights, which it checks."""
        e = self._engine
        # kept for the PPU's weight writes within the run (the DAC biases
        # cannot change there) and for later configurations with the same
        # DAC biases
        dac_key = self.config.quadrants.synapse_dac_bias.tobytes()
        if dac_key != self._step_per_weight_key:
            self._step_per_weight = M.synapse_step_per_weight(self.config, self.mismatch)
            self._step_per_weight_key = dac_key
        weights = self.config.synapses.weights
        if np.asarray(weights).dtype != np.float32:
            # an array put in place of the float32 one: checked as given, which
            # its conversion could round into range
            check_range("synapses.weights", weights, 0, C.WEIGHT_MAX, integer=not self.ideal)
        kept = np.empty(np.shape(weights), np.float32)
        if not load_weights(np.ascontiguousarray(weights, np.float32), C.WEIGHT_MAX,
                            not self.ideal, kept, self._step_per_weight, e.synapse_step):
            check_range("synapses.weights", weights, 0, C.WEIGHT_MAX, integer=not self.ideal)
        e.set_labels(self.config.synapses.labels)
        return kept

    def _load_stp(self):
        syn = self.config.synapses
        e = self._engine
        newly = syn.stp_enable & (e.stp_enable == 0)
        e.stp_enable[...] = syn.stp_enable
        e.stp_U[...] = syn.stp_U
        with np.errstate(divide="ignore"):
            e.stp_inv_rec[...] = np.where(syn.stp_tau_rec > 0, 1.0 / syn.stp_tau_rec, 1e9)
            e.stp_inv_facil[...] = np.where(syn.stp_tau_facil > 0, 1.0 / syn.stp_tau_facil, 0.0)
        # a row that starts STP starts with full resources, unused
        e.stp_x[newly] = 1.0
        e.stp_u[newly] = 0.0

    def _load_routing(self):
        """Label -> synapse rows table: a driver whose row_select equals the
        upper label bits passes the event to its two rows (if enabled)."""
        syn = self.config.synapses
        hemisphere, row = np.nonzero(
            np.repeat(syn.driver_enable, C.ROWS_PER_DRIVER, axis=1)
            & (syn.row_modes != C.ROW_DISABLED))
        select = syn.driver_row_select[hemisphere, row // C.ROWS_PER_DRIVER]
        order = np.lexsort((row, hemisphere, select))
        e = self._engine
        counts = np.bincount(select, minlength=C.ROW_SELECT_MAX + 1)
        e.route_start = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
        e.route_hemisphere = np.ascontiguousarray(hemisphere[order], dtype=np.int32)
        e.route_row = np.ascontiguousarray(row[order], dtype=np.int32)
        e.route_mode = np.ascontiguousarray(syn.row_modes[hemisphere, row][order], dtype=np.int32)

    # --- running ---
    def run(self, duration, spikes=None, madc=None, cadc=None, ppu=(),
            offset_current_schedule=None, noise_seed=None, configuration_applied=False):
        """Emulate `duration` us from the current chip time.

        spikes: (times, labels) of input events (FPGA path), times in
            [chip.time, chip.time + duration), labels 0..16383.
        madc: MadcRecording; cadc: CadcRecording; ppu: PPUPrograms.
        offset_current_schedule: (times, neurons, capmem values) rewriting
            `constant_current_i_offset` during the run (takes effect at the step
            containing the time).
        noise_seed: seed of this run's temporal noise (default: derived from
            the chip seed and the number of runs so far).
        configuration_applied: the caller's word that the configuration is the
            one the chip applied last (at reset_state() or its last run, whose
            own writes -- the PPU's weights, the offset currents' last values --
            keep it in step) and that nothing touched it since: run() then
            takes it without comparing it again (~0.2-0.3 ms for a full chip).
        """
        dt = self.dt
        t0 = self.time
        check_range("duration", float(duration) if np.isscalar(duration) else duration,
                    dt, 1e9, integer=False)
        n_steps = int(round(duration / dt))
        if abs(n_steps * dt - duration) > 1e-6 * dt:
            raise ConfigurationError(f"duration: value {duration} us is not a multiple of "
                                     f"the integration step {dt} us")
        t_stop = t0 + n_steps * dt
        if not configuration_applied:
            self._apply_config()
        if noise_seed is None:
            noise_seed = self._runs
        self._runs += 1
        self._between_runs = 0
        rng = np.random.default_rng([self.seed, int(noise_seed), 0x5EED])
        self._engine.rng[...] = rng.integers(1, 2**32 - 1, C.NUM_NEURONS, dtype=np.uint32)

        background = self._background_events(t0, t_stop, generators=True)
        ev_t, ev_l = self._input_events(spikes, background, t0, t_stop)
        sched = self._offset_schedule(offset_current_schedule, t0, t_stop)
        madc_neurons, madc_obs, madc_t = self._madc_plan(madc, t0, t_stop)
        # every sample is written by the engine (checked after the run): no
        # zeros first (a trace of all 512 membranes is 20 MB)
        madc_buf = np.empty((len(madc_t), len(madc_neurons)), np.float32)
        cadc_neurons, cadc_t = self._cadc_plan(cadc, t0, t_stop)
        self._activate(np.concatenate([madc_neurons, cadc_neurons]).astype(np.int64))
        cadc_buf = np.zeros((len(cadc_t), len(cadc_neurons)), np.float32)
        madc_t0 = madc_t[0] if len(madc_t) else 0.0
        madc_interval = madc.interval if madc is not None else 1.0
        cadc_t0 = cadc_t[0] if len(cadc_t) else 0.0
        cadc_interval = cadc.interval if cadc is not None else 1.0

        calls = self._ppu_calls(ppu, t0, t_stop)
        self.last_run_profile = {"engine_s": 0.0, "ppu_s": 0.0, "ppu_calls": len(calls)}
        step_ends = [k for k, _ in calls] + [n_steps]
        spike_chunks = []
        madc_next = cadc_next = 0
        done_steps = 0
        ev_pos = sc_pos = 0
        call_idx = 0
        for end in step_ends:
            if end > done_steps:
                seg_end = t0 + end * dt
                ev_stop = np.searchsorted(ev_t, seg_end - 1e-9 * dt, side="left") if len(ev_t) else 0
                sc_stop = np.searchsorted(sched[0], seg_end - 1e-9 * dt, side="left") if len(sched[0]) else 0
                started = time.perf_counter()
                times, neurons, madc_next, cadc_next = self._engine.run(
                    end - done_steps, dt, ev_t[ev_pos:ev_stop], ev_l[ev_pos:ev_stop],
                    sched[0][sc_pos:sc_stop], sched[1][sc_pos:sc_stop], sched[2][sc_pos:sc_stop],
                    madc_neurons, madc_obs, madc_t0, madc_interval, madc_buf, madc_next,
                    cadc_neurons, cadc_t0, cadc_interval, cadc_buf, cadc_next,
                    NODE_BASE, NODE_GAIN, self.threads)
                self.last_run_profile["engine_s"] += time.perf_counter() - started
                spike_chunks.append((times, neurons))
                ev_pos, sc_pos = ev_stop, sc_stop
                done_steps = end
            while call_idx < len(calls) and calls[call_idx][0] == end:
                program = calls[call_idx][1]
                started = time.perf_counter()
                try:
                    program.callback(PPUAccess(self, self.time, rng))
                except Exception as err:
                    raise RuntimeError(f"PPU program failed at chip time {self.time:.3f} us: "
                                       f"{type(err).__name__}: {err}") from err
                self.last_run_profile["ppu_s"] += time.perf_counter() - started
                call_idx += 1
        self._engine.time = t_stop
        if (len(madc_neurons) and madc_next != len(madc_t)) or (
                len(cadc_neurons) and cadc_next != len(cadc_t)):
            raise RuntimeError(f"the engine wrote {madc_next} of {len(madc_t)} MADC and "
                               f"{cadc_next} of {len(cadc_t)} CADC samples of the run")
        if offset_current_schedule is not None and len(sched[0]):
            # the CapMem holds the last written value after the run (the
            # schedule is in time order: each neuron's last entry wins)
            if np.all(np.diff(sched[1]) > 0):
                # each neuron once (a schedule of the run's start): no search
                self.config.neurons.constant_current_i_offset[sched[1]] = sched[3]
            else:
                neurons, last = np.unique(sched[1][::-1], return_index=True)
                self.config.neurons.constant_current_i_offset[neurons] = sched[3][::-1][last]

        times = np.concatenate([c[0] for c in spike_chunks]) if spike_chunks else np.zeros(0)
        neurons = np.concatenate([c[1] for c in spike_chunks]) if spike_chunks else np.zeros(0, np.int32)
        if not self.config.neurons.event_routing_enable_digital.all():
            digital = self.config.neurons.event_routing_enable_digital[neurons]
            times, neurons = times[digital], neurons[digital]
        result = RunResult(t_start=t0, t_stop=t_stop, spike_times=_fpga_timestamps(times),
                           spike_neurons=neurons.astype(np.int64))
        bt, bl, bg = background
        result.background_times = _fpga_timestamps(bt)
        result.background_labels, result.background_generators = bl.astype(np.int64), bg
        if len(madc_neurons):
            result.madc_times = madc_t
            result.madc_codes = readout.madc_codes(madc_buf, self.mismatch, rng)
            result.madc_neurons = madc_neurons.astype(np.int64)
            if self.ideal:
                result.madc_mv = madc_buf
        if len(cadc_neurons):
            result.cadc_times = cadc_t
            result.cadc_codes = readout.cadc_membrane_codes(cadc_buf, cadc_neurons[None, :],
                                                            self.config, self.mismatch, rng)
            result.cadc_neurons = cadc_neurons.astype(np.int64)
        return result

    def _activate(self, recorded):
        """Set the engine's integrated range: the active neurons and the
        recorded ones, widened to whole blocks of 16 (vector width).  Circuits
        that join it start at rest, as idle circuits sit."""
        e = self._engine
        if self.active_neurons is None:
            first, last = 0, C.NUM_NEURONS
        else:
            check_range("active_neurons", list(self.active_neurons), 0, C.NUM_NEURONS)
            first, last = (int(x) for x in self.active_neurons)
            if len(recorded):
                first, last = min(first, int(recorded.min())), max(last, int(recorded.max()) + 1)
            first, last = first // 16 * 16, min(C.NUM_NEURONS, -(-last // 16) * 16)
        joining = np.zeros(C.NUM_NEURONS, bool)
        joining[first:last] = True
        joining[e.active_first:e.active_last] = False
        if joining.any():
            for arr in e.state.values():
                arr[joining] = 0.0
            e.state["v"][joining] = e.physical["e_leak"][joining]
            e.state["spike_offset"][joining] = -1.0
        e.active_first, e.active_last = first, last

    # --- input preparation ---
    def _input_events(self, spikes, background, t0, t_stop):
        """The run's events, sorted by time: `spikes` (checked) and the
        generators' `background` events (times, labels, generators)."""
        times, labels = [], []
        if spikes is not None:
            st, sl = spikes
            st = np.asarray(st, dtype=np.float64).ravel()
            sl = np.asarray(sl).ravel()
            if st.shape != sl.shape:
                raise ConfigurationError(f"spikes: {st.size} times but {sl.size} labels")
            check_range("spikes.labels", sl, 0, C.EVENT_LABEL_MAX)
            check_range("spikes.times", st, t0, t_stop, integer=False, high_exclusive=True)
            times.append(st)
            labels.append(sl.astype(np.int32))
        times.append(background[0])
        labels.append(background[1])
        t = np.concatenate(times)
        l = np.concatenate(labels)
        order = np.argsort(t, kind="stable")
        return np.ascontiguousarray(t[order]), np.ascontiguousarray(l[order], dtype=np.int32)

    def run_ppu(self, callback):
        """Run the PPU program `callback` now, between runs, as a real chip's
        PPUs run programs while no experiment does.  Its random numbers come
        from a stream fixed by the chip's seed, its runs so far and the
        programs run since the last of them.  The configuration is applied
        first, as a run applies it."""
        self._apply_config()
        self._between_runs += 1
        callback(PPUAccess(self, self.time, np.random.default_rng(
            [self.seed, self._runs, self._between_runs, 0xB7EE1])))

    def preview_ppu(self, callback):
        """The synapse weights, [2, 256, 256] (a copy), that the PPU program
        `callback` would leave if it ran now, between runs; the chip stays as
        it was.  The program reads the chip as it stands (sensors, counters,
        membranes), but its weight writes go to the copy and its resets are
        left out (PPUAccess.previewing).  Its random numbers come from a
        stream of their own, fixed by the chip's seed and its runs so far: a
        preview changes nothing that follows, and a second one between the
        same runs gives the same weights."""
        access = PPUAccess(self, self.time,
                           np.random.default_rng([self.seed, self._runs, 0x9E71E3]), preview=True)
        callback(access)
        return access._written[0]

    def background_events(self, t_start, t_stop, generators=False):
        """(times, labels) the enabled on-chip generators emit in [t_start, t_stop),
        sorted by time (with `generators`, also the generator of each event).  A
        Poisson generator's train is fixed by its seed and the window start."""
        self.config.generators.validate()
        return self._background_events(t_start, t_stop, generators)

    def _background_events(self, t_start, t_stop, generators):
        """background_events of generators the caller has validated (run()
        applied the configuration, which validates them, ~0.06 ms)."""
        times, labels, sources = [np.zeros(0)], [np.zeros(0, np.int32)], [np.zeros(0, np.int64)]
        gen = self.config.generators
        enabled = np.flatnonzero(gen.enable)
        if not len(enabled):
            return (times[0], labels[0], sources[0]) if generators else (times[0], labels[0])
        t0 = t_start
        for g in enabled:
            period = gen.period[g] / C.PPU_CLOCK_MHZ
            if gen.random[g]:
                grng = np.random.default_rng([int(gen.seed[g]), int(g), int(round(t0 * 1000))])
                n = int((t_stop - t0) / period * 1.5 + 10 * np.sqrt((t_stop - t0) / period) + 10)
                gt = t0 + np.cumsum(grng.exponential(period, n))
                while gt[-1] < t_stop:
                    gt = np.concatenate([gt, gt[-1] + np.cumsum(grng.exponential(period, n))])
            else:
                gt = t0 + period * np.arange(1, int((t_stop - t0) / period) + 2)
            # the generator's clock ticks at 250 MHz
            gt = np.ceil(gt * C.PPU_CLOCK_MHZ - 1e-6) / C.PPU_CLOCK_MHZ
            gt = gt[(gt >= t0) & (gt < t_stop)]
            times.append(gt)
            label = np.full(gt.size, gen.label[g], np.int32)
            mask = int(gen.mask[g])
            if mask:
                bits = np.random.default_rng([int(gen.seed[g]), int(g), int(round(t0 * 1000)),
                                              1]).integers(0, 256, gt.size)
                label = (label & ~mask) | (bits & mask).astype(np.int32)
            labels.append(label)
            sources.append(np.full(gt.size, g, np.int64))
        t = np.concatenate(times)
        l = np.concatenate(labels)
        order = np.argsort(t, kind="stable")
        out = (np.ascontiguousarray(t[order]), np.ascontiguousarray(l[order], dtype=np.int32))
        return out + (np.concatenate(sources)[order],) if generators else out

    def _offset_schedule(self, schedule, t0, t_stop):
        empty = (np.zeros(0), np.zeros(0, np.int32), np.zeros(0, np.float32), np.zeros(0))
        if schedule is None:
            return empty
        st, sn, sv = (np.asarray(x).ravel() for x in schedule)
        if not (st.shape == sn.shape == sv.shape):
            raise ConfigurationError("offset_current_schedule: times, neurons and values "
                                     "must have the same length")
        if st.size == 0:
            return empty
        check_range("offset_current_schedule.times", st.astype(float), t0, t_stop,
                    integer=False, high_exclusive=True)
        check_range("offset_current_schedule.neurons", sn, 0, C.NUM_NEURONS - 1)
        check_range("offset_current_schedule.values (constant_current_i_offset)", sv, 0,
                    C.CAPMEM_MAX, integer=not self.ideal)
        order = np.argsort(st, kind="stable")
        st, sn, sv = st[order].astype(float), sn[order].astype(np.int32), sv[order]
        current = (M.offset_current(sv, self.mismatch, sn)
                   * self.config.neurons.constant_current_enable[sn])
        return (np.ascontiguousarray(st), np.ascontiguousarray(sn),
                np.ascontiguousarray(current, dtype=np.float32), sv)

    def _madc_plan(self, madc, t0, t_stop):
        if madc is None:
            return np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros(0)
        neurons = np.atleast_1d(np.asarray(madc.neurons))
        check_range("madc.neurons", neurons, 0, C.NUM_NEURONS - 1)
        obs = madc.observable
        obs = [obs] * len(neurons) if isinstance(obs, str) else list(obs)
        if len(obs) != len(neurons):
            raise ConfigurationError(f"madc.observable: {len(obs)} entries for "
                                     f"{len(neurons)} neurons")
        for o in obs:
            if o not in OBSERVABLES:
                raise ConfigurationError(f"madc.observable: value {o!r} is not one of "
                                         f"{sorted(OBSERVABLES)}")
        check_range("madc.interval", float(madc.interval), 0.001, 1e6, integer=False)
        n = int(np.floor((t_stop - t0) / madc.interval + 1e-9)) + 1
        times = t0 + madc.interval * np.arange(n)
        return (np.ascontiguousarray(neurons, dtype=np.int32),
                np.array([OBSERVABLES[o] for o in obs], dtype=np.int32), times)

    def _cadc_plan(self, cadc, t0, t_stop):
        if cadc is None:
            return np.zeros(0, np.int32), np.zeros(0)
        neurons = np.atleast_1d(np.asarray(cadc.neurons))
        check_range("cadc.neurons", neurons, 0, C.NUM_NEURONS - 1)
        check_range("cadc.interval", float(cadc.interval), self.dt, 1e6, integer=False)
        # reads happen at step ends: the first after one interval
        n = int(np.floor((t_stop - t0) / cadc.interval + 1e-9))
        times = t0 + cadc.interval * np.arange(1, n + 1)
        return np.ascontiguousarray(neurons, dtype=np.int32), times

    def _ppu_calls(self, programs, t0, t_stop):
        calls = []
        for program in programs:
            times = np.asarray(program.times, dtype=np.float64).ravel()
            if times.size == 0:
                continue
            check_range("ppu.times", times, t0, t_stop, integer=False)
            steps = np.ceil((times - t0) / self.dt - 1e-9).astype(np.int64)
            calls.extend((int(k), program) for k in steps)
        calls.sort(key=lambda c: c[0])
        return calls
