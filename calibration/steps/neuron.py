"""Neuron steps: leak potential, threshold, reset, membrane time constant, and
the (digital) refractory period."""
import numpy as np

from cython_core import constants as C
from cython_core.config import FAST_REFRACTORY_SCALER
from cython_core.config import refractory_setting as config_refractory_setting
from cython_core import mismatch as M
from cython_core.readout import CADC_DESIGN_LSB_PER_MV

from .. import measure
from .base import NeuronFieldStep, fit_exponential_decay

SLOW_CLOCK_SCALER = 4      # 128 ns ticks: up to 32.6 us


class LeakPotential(NeuronFieldStep):
    """Resting potential read through the CADC, threshold comparator off."""
    name = "leak potential"
    unit = "LSB"
    field = "leak_v_leak"

    def prepare(self):
        self.chip.config.neurons.threshold_enable = False

    def measure(self):
        return measure.cadc_membrane(self.chip, reads=20)


class Threshold(NeuronFieldStep):
    """The threshold sits where a neuron resting exactly at the target starts
    to fire: the leak potential is first calibrated to the threshold target,
    then the comparator reference is searched on whether the neuron, starting
    at rest, spikes at once.  (After a spike it would creep back towards a
    rest just above threshold for a time that depends on tau_m: only the first
    crossing is a clean test.)  A higher reference means fewer spikes."""
    name = "threshold"
    unit = "spiking"
    field = "threshold_v_threshold"
    inverted = True

    def __init__(self, chip, target_lsb, algorithm):
        super().__init__(chip)
        self.target_lsb = target_lsb
        self.algorithm = algorithm

    def prepare(self):
        leak = LeakPotential(self.chip)
        leak.prepare()
        self.algorithm.run(leak, self.target_lsb, C.NUM_NEURONS)
        self.chip.config.neurons.threshold_enable = True

    def measure(self):
        return (measure.spike_counts(self.chip, 2.0, settle=0.0) > 0).astype(float)


def fire_continuously(config, refractory_count, slow_clock):
    """Pull every neuron far above its threshold (leak at the top of its range
    plus an offset current): it fires as fast as its refractory period allows."""
    n = config.neurons
    n.threshold_enable = True
    n.leak_v_leak = C.CAPMEM_MAX
    n.constant_current_enable = True
    n.constant_current_i_offset = 300
    n.refractory_period_refractory_time = refractory_count
    n.refractory_period_input_clock = int(slow_clock)


class ResetPotential(NeuronFieldStep):
    """Reset potential: a neuron pulled far above threshold (leak at its top,
    plus an offset current) fires continuously; with the longest refractory
    period its membrane sits at the reset most of the time, so the median CADC
    read is the reset potential."""
    name = "reset potential"
    unit = "LSB"
    field = "reset_v_reset"

    def prepare(self):
        fire_continuously(self.chip.config, C.REFRACTORY_COUNTER_MAX, slow_clock=True)
        self.chip.config.refractory_clock_scaler[1] = SLOW_CLOCK_SCALER

    def measure(self):
        reads = measure.cadc_membrane_samples(self.chip, duration=100.0, interval=0.5)
        return np.median(reads, axis=0)


class MembraneTimeConstant(NeuronFieldStep):
    """tau_m from the membrane's exponential approach (MADC) after the offset
    current is switched on.  A larger leak bias means a shorter tau.  The
    division / multiplication switches are chosen from the target."""
    name = "tau_m"
    unit = "us"
    field = "leak_i_bias"
    inverted = True

    def __init__(self, chip, target_us):
        super().__init__(chip)
        self.target = np.asarray(target_us, float) * np.ones(C.NUM_NEURONS)
        self.duration = round(min(6.0 * float(self.target.max()) + 5.0, 400.0), 1)
        self.interval = 0.034 if self.target.min() < 2.0 else 0.1

    def prepare(self):
        n = self.chip.config.neurons
        n.threshold_enable = False
        # nominal tau at bias c: tau ~ C / (g_per_lsb * c); keep the bias for the
        # target inside ~30..1000 by switching the leak OTA's range
        nominal_bias = (M.MEMBRANE_CAPACITANCE_FULL_PF / M.LEAK_CONDUCTANCE_PER_LSB_US) / self.target
        n.leak_enable_division = nominal_bias < 30
        n.leak_enable_multiplication = nominal_bias > 900
        # a step of ~150 mV: I = 150 mV * C / tau, within the offset DAC's range
        current_lsb = np.clip(150.0 * M.MEMBRANE_CAPACITANCE_FULL_PF / self.target
                              / M.OFFSET_CURRENT_PER_LSB_NA, 5, C.CAPMEM_MAX)
        self.step_lsb = np.rint(current_lsb).astype(np.int64)
        n.constant_current_enable = True
        n.constant_current_i_offset = 0

    def measure(self):
        t_on = 2.0
        t, v = measure.madc_trace(
            self.chip, self.duration, "v", interval=self.interval,
            offset_current_schedule=(np.full(C.NUM_NEURONS, t_on), np.arange(C.NUM_NEURONS),
                                     self.step_lsb))
        self.chip.config.neurons.constant_current_i_offset = 0
        final = v[-max(5, len(t) // 20):].mean(axis=0)
        return fit_exponential_decay(t, v, final, start=t_on + 2 * self.chip.dt, floor=0.1)


def refractory_setting(target_us):
    """Counter and clock per neuron for refractory target(s) in us (digital:
    exact up to the clock tick).  Returns (counts, clock select, scalers)."""
    target = np.asarray(target_us, float) * np.ones(C.NUM_NEURONS)
    counts, slow = config_refractory_setting(target, SLOW_CLOCK_SCALER)
    return (np.maximum(counts, 1), slow,
            np.array([FAST_REFRACTORY_SCALER, SLOW_CLOCK_SCALER]))


def offset_current_gain(chip, tau_m_us, capmem=200):
    """Per-neuron gain of the offset current (measured / nominal): the resting
    potential (CADC) moves by I / g_leak, g_leak = C / tau_m with the calibrated
    tau_m.  The offset current is set per use, so the backend divides by this
    gain rather than storing a setting."""
    n = chip.config.neurons
    saved = (n.threshold_enable.copy(), n.constant_current_enable.copy(),
             n.constant_current_i_offset.copy())
    n.threshold_enable = False
    n.constant_current_enable = True
    rests = []
    for value in (0, capmem):
        n.constant_current_i_offset = value
        rests.append(measure.cadc_membrane(chip, settle=8.0 * float(np.max(tau_m_us)), reads=40))
    n.threshold_enable, n.constant_current_enable, n.constant_current_i_offset = saved
    shift_mv = (rests[1] - rests[0]) / CADC_DESIGN_LSB_PER_MV
    current = M.MEMBRANE_CAPACITANCE_FULL_PF / np.asarray(tau_m_us, float) * shift_mv
    return current / (M.OFFSET_CURRENT_PER_LSB_NA * capmem)
