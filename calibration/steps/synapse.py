"""Synaptic input steps: time constant, synapse DAC bias per quadrant,
transconductance (gm) and reference shift per neuron."""
import copy

import numpy as np

from cython_core import Chip, constants as C
from cython_core.config import NEURON_FIELDS
from cython_core.mismatch import quadrant_of_neuron

from .. import measure
from .base import (EXC_LABEL, INH_LABEL, NeuronFieldStep, Step, fit_exponential_decay,
                   fit_slope, wire_stimulus)

RECEPTORS = ("excitatory", "inhibitory")
LABEL = {"excitatory": EXC_LABEL, "inhibitory": INH_LABEL}
SYNIN = {"excitatory": "exc_synin", "inhibitory": "inh_synin"}


def enable_inputs(config, receptor=None):
    for r in RECEPTORS:
        getattr(config.neurons, f"{r}_input_enable")[...] = receptor is None or r == receptor


class ReceptorFieldStep(NeuronFieldStep):
    """A per-neuron step of one synaptic input; the field is
    `<receptor>_<field_suffix>`, the name `<quantity> <exc|inh>`."""
    quantity = ""
    field_suffix = ""

    def __init__(self, chip, receptor):
        super().__init__(chip)
        self.receptor = receptor
        self.name = f"{self.quantity} {receptor[:3]}"
        self.field = f"{receptor}_{self.field_suffix}"


class SynTimeConstant(ReceptorFieldStep):
    """tau_syn from the decay of the synaptic line (MADC) after one event.
    A larger bias lowers the line's resistance: shorter tau."""
    unit = "us"
    quantity = "tau_syn"
    field_suffix = "input_i_bias_tau"
    inverted = True

    def __init__(self, chip, receptor, target_us):
        super().__init__(chip, receptor)
        longest = float(np.max(target_us))
        self.duration = round(min(6.0 * longest + 3.0, 200.0), 1)
        self.interval = 0.034 if np.min(target_us) < 2.0 else 0.1

    def prepare(self):
        wire_stimulus(self.chip.config, weight=24)
        enable_inputs(self.chip.config, self.receptor)

    def measure(self):
        t_event = 1.0
        t, u = measure.madc_trace(self.chip, self.duration, SYNIN[self.receptor],
                                  interval=self.interval,
                                  spikes=([t_event], [LABEL[self.receptor]]))
        baseline = u[t < t_event].mean(axis=0)
        return fit_exponential_decay(t, u, baseline, start=t_event + 2 * self.chip.dt)


class _DesignReferenced:
    """A strength step whose target is the design's: the same measurement on a
    chip without mismatch, in a copy of this chip's configuration."""
    receptor = "excitatory"

    def _design_defaults(self):
        """Fields the twin takes at their defaults (the one being calibrated)."""
        return ()

    def design_strength(self, gm_bias, dac_bias):
        """Median of this step's measurement on the mismatch-free twin, with the
        receptor's gm at `gm_bias` and every quadrant's synapse DAC at `dac_bias`
        (the measurement's window is short against tau_syn and tau_m, so their
        settings barely enter)."""
        twin = Chip(seed=self.chip.seed, ideal=True)
        twin.config = self.chip.config.copy()
        n = twin.config.neurons
        getattr(n, f"{self.receptor}_input_i_bias_gm")[...] = gm_bias
        for field in self._design_defaults():
            getattr(n, field)[...] = NEURON_FIELDS[field].default
        twin.config.quadrants.synapse_dac_bias = dac_bias
        on_twin = copy.copy(self)
        on_twin.chip = twin
        on_twin.prepare()
        return float(np.median(on_twin.measure()))


def psc_slope(chip, receptor, trials=2, gap=40.0, signed=False):
    """Initial membrane slope (mV/us) after a burst through the stimulus rows:
    the synaptic current over the membrane capacitance.  Averaged over trials;
    the slope just before each burst is subtracted.  Magnitude unless `signed`."""
    t_events = 1.0 + gap * np.arange(trials)
    windows = measure.madc_windows(chip, t_events - 1.0, 1.8, "v", interval=0.034,
                                   spikes=(t_events, np.full(trials, LABEL[receptor])))
    slopes = [fit_slope(t, v, te + 0.1, te + 0.6) - fit_slope(t, v, te - 0.8, te - 0.05)
              for (t, v), te in zip(windows, t_events)]
    mean = np.mean(slopes, axis=0)
    return mean if signed else np.abs(mean)


class SynapseDacBias(_DesignReferenced, Step):
    """Per-quadrant synapse DAC bias: every quadrant's median synaptic strength
    matched to the design's at the target bias, so that weights mean the same
    current on every chip (calix matches the weakest quadrant instead, which
    leaves a chip-dependent scale: 13 % weaker on chip 0).  The design's
    strength is the same measurement on a circuit without mismatch."""
    name = "synapse DAC bias"
    unit = "mV/us"
    field = "synapse_dac_bias"
    instances = C.NUM_QUADRANTS

    def prepare(self):
        wire_stimulus(self.chip.config, weight=63)
        enable_inputs(self.chip.config, "excitatory")

    def configure(self, settings):
        self.chip.config.quadrants.set("synapse_dac_bias", np.asarray(settings, np.int64))

    def measure(self):
        slopes = psc_slope(self.chip, "excitatory")
        q = quadrant_of_neuron()
        return np.array([np.median(slopes[q == k]) for k in range(C.NUM_QUADRANTS)])


class SynapseGm(_DesignReferenced, ReceptorFieldStep):
    """Per-neuron gm bias so that every neuron's synaptic current is the design's
    at the target gm and synapse DAC biases.  (Matched to the chip's median
    neuron instead, as calix does, inhibition came out 5-10 % strong: the DAC
    is matched on the excitatory input, and the inhibitory gm's mismatch has a
    per-quadrant part of its own.)"""
    unit = "mV/us"
    quantity = "gm"
    field_suffix = "input_i_bias_gm"

    def prepare(self):
        wire_stimulus(self.chip.config, weight=63)
        enable_inputs(self.chip.config, self.receptor)

    def measure(self):
        return psc_slope(self.chip, self.receptor)


class ReferenceShift(ReceptorFieldStep):
    """Reference shift that cancels the synaptic OTA's offset current: the
    resting potential (CADC) must not move when the input is switched on.
    More shift lowers the offset current: the excitatory input pushes the
    membrane less up (inverted), the inhibitory one less down."""
    unit = "LSB"
    quantity = "reference shift"
    field_suffix = "input_i_shift_reference"

    def __init__(self, chip, receptor):
        super().__init__(chip, receptor)
        self.inverted = receptor == "excitatory"
        self.rest_without = None

    def prepare(self):
        enable_inputs(self.chip.config, "none")
        self.rest_without = measure.cadc_membrane(self.chip, reads=40)
        enable_inputs(self.chip.config, self.receptor)

    def measure(self):
        return measure.cadc_membrane(self.chip, reads=40) - self.rest_without


class _CobaResponse(ReceptorFieldStep):
    """The burst response (signed membrane slope) in COBA mode at two resting
    potentials read through the CADC: it falls linearly with the potential,
    crossing zero at the reversal potential, with a slope set by the
    conductance."""
    # two operating points of the membrane, set through the leak potential
    LEAK_POINTS = (400, 800)

    def prepare(self):
        wire_stimulus(self.chip.config, weight=63)
        enable_inputs(self.chip.config, self.receptor)
        n = self.chip.config.neurons
        n.threshold_enable = False
        getattr(n, f"{self.receptor}_input_enable_coba_mode")[...] = True

    def responses(self, readouts=("cadc",)):
        """(resting potentials {readout: [2, 512]}: "cadc" in CADC LSB, "madc" in
        mV through the MADC; burst slopes [2, 512] in mV/us)."""
        n = self.chip.config.neurons
        operating = n.leak_v_leak.copy()
        rests, slopes = {readout: [] for readout in readouts}, []
        for leak in self.LEAK_POINTS:
            n.leak_v_leak = leak
            for readout in readouts:
                rests[readout].append(
                    measure.madc_to_mv(measure.madc_mean_codes(self.chip, "v"), self.chip)
                    if readout == "madc" else measure.cadc_membrane(self.chip, reads=20))
            slopes.append(psc_slope(self.chip, self.receptor, trials=6, signed=True))
        n.leak_v_leak = operating
        return rests, slopes

    @staticmethod
    def fall(rests_mv, slopes):
        """The response's fall per mV of resting potential (the conductance)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            fall = (slopes[0] - slopes[1]) / (rests_mv[1] - rests_mv[0])
        return np.where(np.isfinite(fall), fall, 0.0)

    @staticmethod
    def crossing(rests, slopes):
        """Where the response, linear in the resting potential, crosses zero."""
        with np.errstate(divide="ignore", invalid="ignore"):
            crossing = rests[0] + slopes[0] * (rests[1] - rests[0]) / (slopes[0] - slopes[1])
        return np.where(np.isfinite(crossing), crossing, 0.0)


class CobaStrengthAndReversal(_CobaResponse):
    """COBA strength and reversal potential in one search: both come from the
    same burst responses at two resting potentials, the strength (1/us) from
    their fall per mV (rests through the MADC, as CobaStrength), the reversal
    (CADC LSB) from their zero crossing (rests through the CADC, as
    ReversalPotential).  The conductance scales the response and the reversal
    shifts its zero, so each setting moves its own result: instances 0..511 are
    the neurons' COBA biases, 512..1023 their reversal settings.  Searched one
    after the other, the two steps measured the same responses twice."""
    unit = ""
    quantity = "COBA strength and reversal potential"
    field_suffix = "input_i_bias_coba"
    instances = 2 * C.NUM_NEURONS

    def __init__(self, chip, receptor):
        super().__init__(chip, receptor)
        self.fields = (self.field, f"{receptor}_input_v_rev_coba")

    def configure(self, settings):
        settings = np.asarray(settings, np.int64)
        for k, field in enumerate(self.fields):
            self.chip.config.neurons.set(field, settings[k * C.NUM_NEURONS:(k + 1) * C.NUM_NEURONS])

    def measure(self):
        rests, slopes = self.responses(("madc", "cadc"))
        return np.concatenate([self.fall(rests["madc"], slopes),
                               self.crossing(rests["cadc"], slopes)])

    def parts(self, values):
        """(name, unit, per-neuron values) of each result, from per-instance values."""
        short = self.receptor[:3]
        return [(f"COBA strength {short}", "1/us", values[:C.NUM_NEURONS]),
                (f"reversal potential {short}", "LSB", values[C.NUM_NEURONS:])]


class ReversalPotential(_CobaResponse):
    """COBA reversal potential (CADC LSB): the synaptic current vanishes there;
    the zero crossing is extrapolated linearly, so the reversal may lie outside
    the CADC's range.  A higher reversal setting makes the current at a given
    potential more positive."""
    unit = "LSB"
    quantity = "reversal potential"
    field_suffix = "input_v_rev_coba"

    def measure(self):
        rests, slopes = self.responses()
        return self.crossing(rests["cadc"], slopes)


class CobaStrength(_DesignReferenced, _CobaResponse):
    """COBA conductance scale (the COBA bias, per neuron, 10 % mismatch): how
    much the burst response falls per mV of membrane potential, matched to the
    design's at the default bias.  More bias, a larger conductance.  Both read
    through the MADC, one converter calibrated against all quadrants' CADC
    (through the CADC, each quadrant's gain error, ~3 %, stayed in the result)."""
    unit = "1/us"
    quantity = "COBA strength"
    field_suffix = "input_i_bias_coba"

    def measure(self):
        rests, slopes = self.responses(("madc",))
        return self.fall(rests["madc"], slopes)

    def _design_defaults(self):
        return (self.field,)                  # the design's COBA bias
