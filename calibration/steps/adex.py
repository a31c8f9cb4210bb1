"""AdEx parts (beyond calix): adaptation time constant, subthreshold coupling
a, spike-triggered jump b, and the exponential term's threshold.

The adaptation current is observed on its node through the MADC; its design
gain (mV per nA) converts node voltages into current, as the CADC's design
curve does for potentials.
"""
import numpy as np

from cython_core import constants as C
from cython_core import mismatch as M
from cython_core.readout import CADC_DESIGN_LSB_PER_MV

from .. import measure
from .base import NeuronFieldStep, fit_exponential_decay
from .neuron import LeakPotential, fire_continuously


def adaptation_current(node_mv):
    """Adaptation current (nA) from its node voltage (design gain)."""
    return (np.asarray(node_mv) - M.ADAPTATION_BASELINE_MV) / M.ADAPTATION_MV_PER_NA


class _Adaptation(NeuronFieldStep):
    unit = ""

    def prepare(self):
        n = self.chip.config.neurons
        n.adaptation_enable = True
        n.exponential_enable = False        # no runaway at the raised potentials
        n.threshold_enable = False
        n.constant_current_enable = True
        n.constant_current_i_offset = 0


class AdaptationTau(_Adaptation):
    """tau_w: a current pulse makes each neuron spike once; the spike-triggered
    adaptation current (a = 0, so no feedback through the membrane) then decays
    with tau_w alone.  More bias, shorter tau_w.

    How long a neuron takes to reach threshold depends on its calibrated leak,
    threshold and tau_m targets (tens of us for a leak far below threshold), so
    a probe run finds each neuron's first spike under the strongest offset
    current, and each neuron's pulse then ends just after it: one jump each.
    """
    name = "adaptation tau"
    unit = "us"
    field = "adaptation_i_bias_tau"
    inverted = True
    PULSE_START = 2.0            # us
    PROBE = 200.0                # us of the strongest current: every neuron spikes
    # the pulse ends this long after the first spike, well before a second one
    # (reset to threshold again takes ~10 us and more)
    AFTER_SPIKE = 1.0

    def __init__(self, chip, target_us):
        super().__init__(chip)
        self.target_us = np.asarray(target_us, float)
        self.interval = max(0.1, round(float(np.min(target_us)) / 200.0, 1))

    def prepare(self):
        super().prepare()
        n = self.chip.config.neurons
        n.adaptation_i_bias_a = 0
        n.adaptation_i_bias_b = 400       # a jump of ~200 mV on the node
        n.threshold_enable = True
        first = measure.first_spikes(self.chip, self._pulse(self.PULSE_START + self.PROBE),
                                     self.PULSE_START + self.PROBE + 1.0)
        self.pulse_end = np.where(np.isfinite(first), first + self.AFTER_SPIKE,
                                  self.PULSE_START + self.PROBE)
        self.duration = round(min(float(self.pulse_end.max()) + 5.0 * float(self.target_us.max())
                                  + 20.0, 3000.0), 1)

    def _pulse(self, end):
        """Offset current schedule: the strongest current from PULSE_START to `end`
        (one value, or one per neuron)."""
        neurons = np.arange(C.NUM_NEURONS)
        return (np.r_[np.full(C.NUM_NEURONS, self.PULSE_START),
                      np.broadcast_to(end, (C.NUM_NEURONS,))],
                np.r_[neurons, neurons],
                np.r_[np.full(C.NUM_NEURONS, C.CAPMEM_MAX), np.zeros(C.NUM_NEURONS)])

    def measure(self):
        t, w = measure.madc_trace(self.chip, self.duration, "adaptation", interval=self.interval,
                                  offset_current_schedule=self._pulse(self.pulse_end))
        self.chip.config.neurons.constant_current_i_offset = 0
        baseline = w[t < self.PULSE_START].mean(axis=0)
        return fit_exponential_decay(t, w, baseline, start=self.pulse_end + 1.0, floor=0.1)


class AdaptationA(_Adaptation):
    """a: the steady adaptation current per mV of membrane potential, from two
    offset currents (both read through the MADC, so the membrane's own shift
    by the adaptation current is measured, not assumed)."""
    name = "adaptation a"
    unit = "uS"
    field = "adaptation_i_bias_a"

    def __init__(self, chip, tau_w_us):
        super().__init__(chip)
        self.duration = round(min(8.0 * float(np.max(tau_w_us)) + 20.0, 4000.0), 1)

    def prepare(self):
        super().prepare()
        self.chip.config.neurons.adaptation_i_bias_b = 0

    def measure(self):
        n = self.chip.config.neurons
        levels = []
        # the settled tail: the last tenth of the run, at least 5 us
        tail = max(5.0, round(self.duration / 10.0))
        for current in (100, 400):
            n.constant_current_i_offset = current
            [(_, trace)] = measure.madc_windows(self.chip, [self.duration - tail], tail,
                                                ("v", "adaptation"), interval=1.0)
            v, w = trace[:, :C.NUM_NEURONS], trace[:, C.NUM_NEURONS:]
            levels.append((v.mean(axis=0), adaptation_current(w.mean(axis=0))))
        n.constant_current_i_offset = 0
        (v0, w0), (v1, w1) = levels
        return (w1 - w0) / np.where(np.abs(v1 - v0) > 1e-3, v1 - v0, 1e-3)


class AdaptationB(_Adaptation):
    """b: the jump of the adaptation current at a spike (a = 0), on the node's
    MADC trace around each neuron's first spike."""
    name = "adaptation b"
    unit = "nA"
    field = "adaptation_i_bias_b"

    def prepare(self):
        super().prepare()
        self.chip.config.neurons.adaptation_i_bias_a = 0
        fire_continuously(self.chip.config, C.REFRACTORY_COUNTER_MAX, slow_clock=False)

    def measure(self):
        chip = self.chip
        chip.reset_state()
        from cython_core import MadcRecording
        res = chip.run(40.0, madc=MadcRecording(np.arange(C.NUM_NEURONS), "adaptation", 0.034))
        w = adaptation_current(measure.madc_to_mv(res.madc_codes, chip))
        jumps = np.zeros(C.NUM_NEURONS)
        for n in range(C.NUM_NEURONS):
            spikes = res.spike_times[res.spike_neurons == n]
            k = np.searchsorted(res.madc_times, spikes[spikes < res.madc_times[-8]])
            if k.size == 0:
                continue
            # each spike's jump from 4 samples before to 4 after; the median over
            # the spikes beats down the MADC's code noise
            before = np.array([w[max(0, i - 6):max(1, i - 2), n].mean() for i in k])
            after = np.array([w[i + 3:i + 7, n].mean() for i in k])
            jumps[n] = np.median(after - before)
        return jumps


class AdaptationReference(_Adaptation):
    """The adaptation's reference potential: at rest the adaptation current must
    vanish, so the resting potential (CADC) must not move when adaptation is
    switched on.  A higher reference, a smaller current a (V - E_ref) pulling
    the membrane down: the rest rises."""
    name = "adaptation reference"
    unit = "LSB"
    field = "adaptation_v_ref"

    def prepare(self):
        super().prepare()
        n = self.chip.config.neurons
        n.constant_current_enable = False
        n.adaptation_enable = False
        self.rest_without = measure.cadc_membrane(self.chip, reads=40)
        n.adaptation_enable = True
        n.adaptation_i_bias_b = 0
        # a strong coupling while searching: a reference offset then moves the
        # rest by several CADC LSB, well above the reads' noise
        n.adaptation_i_bias_a = 800

    def measure(self):
        return measure.cadc_membrane(self.chip, settle=200.0, reads=40) - self.rest_without


class ExponentialThreshold(NeuronFieldStep):
    """The exponential term's threshold V_T (CADC LSB).  With its prefactor at
    g_L * delta_T, a membrane whose leak potential lies a * delta_T below V_T
    (a > 1) rests where x + a = exp(x), x = (V - V_T) / delta_T: the term raises
    the rest by (x + a) * delta_T.  The leak is calibrated to the target minus
    a * delta_T, the rise is measured (the rest with the term on minus off, both
    through the CADC) and v_exp searched until the rise is the one predicted
    for the target from the measured leak; the result is the measured rise
    minus the predicted one (LSB).  Higher v_exp, less rise.

    (Searching on whether a membrane at V_T - delta_T runs away within a time
    window depends on the window: noise lets it escape early, the slow passage
    near the saddle-node late; on chip 0 the result moved by 12 mV between
    windows of 100 and 20 us.)"""
    name = "exponential threshold"
    unit = "LSB"
    field = "exponential_v_exp"
    inverted = True
    # a: the leak this many delta_T below V_T rests 0.4 delta_T higher with the
    # term on, 0.69 LSB less per LSB of V_T; the unstable fixed point lies 1.6
    # delta_T above it, far beyond the membrane's noise
    BELOW = 1.3
    READS = 60

    # delta_T in CADC LSB on the design curve
    SLOPE_LSB = M.EXPONENTIAL_SLOPE_MV * CADC_DESIGN_LSB_PER_MV

    def __init__(self, chip, target_lsb, tau_m_us, algorithm):
        super().__init__(chip)
        self.target = np.asarray(target_lsb, float) * np.ones(C.NUM_NEURONS)
        self.tau_m = np.asarray(tau_m_us, float) * np.ones(C.NUM_NEURONS)
        self.algorithm = algorithm

    def prefactor_bias(self):
        """exponential_i_bias for a prefactor g_L delta_T, g_L from the calibrated
        tau_m and the nominal capacitance."""
        g_leak = M.MEMBRANE_CAPACITANCE_FULL_PF / self.tau_m
        return np.clip(np.rint(g_leak * M.EXPONENTIAL_SLOPE_MV
                               / M.EXPONENTIAL_CURRENT_PER_LSB_NA), 0, C.CAPMEM_MAX)

    def prepare(self):
        n = self.chip.config.neurons
        # adaptation off before the leak is placed: its current at rest would
        # move the rest the leak was searched for
        n.adaptation_enable = False
        n.exponential_enable = False
        leak = LeakPotential(self.chip)
        leak.prepare()
        self.algorithm.run(leak, self.target - self.BELOW * self.SLOPE_LSB, C.NUM_NEURONS)
        rest = measure.cadc_membrane(self.chip, reads=self.READS)
        below = np.maximum((self.target - rest) / self.SLOPE_LSB, 1.05)
        self.rest_without = rest
        self.predicted_rise = rest_rise(below) * self.SLOPE_LSB
        n.exponential_enable = True
        n.exponential_i_bias = self.prefactor_bias()

    def measure(self):
        rise = measure.cadc_membrane(self.chip, reads=self.READS) - self.rest_without
        return rise - self.predicted_rise


def rest_rise(below):
    """(x + a) for the stable root of x + a = exp(x), a > 1 (x < 0): the rest's
    rise, in delta_T, of a membrane whose leak lies a delta_T below V_T."""
    a = np.asarray(below, float)
    x = -a
    for _ in range(30):            # Newton on exp(x) - x - a, convex: monotone from -a
        x = x - (np.exp(x) - x - a) / (np.exp(x) - 1.0)
    return x + a
