"""Acceptance measurement of a calibration [calix hardware tests]: per parameter
the trimmed spread (5 % cut per tail) over neurons with the calibrated settings,
against the spread with every neuron at the median calibrated setting."""
from dataclasses import dataclass

import numpy as np

from cython_core import Chip, constants as C

from . import measure
from .steps.base import Step, trimmed_std
from .steps.cadc import MID_REFERENCE, design_code
from .steps.neuron import (LeakPotential, MembraneTimeConstant, ResetPotential,
                           fire_continuously)
from .steps.synapse import SynTimeConstant

# calix's acceptance bounds on trimmed sd after / sd before
BOUNDS = {"leak": 0.3, "reset": 0.2, "threshold": 0.35, "tau_m": 0.45,
          "tau_syn_exc": 0.2, "tau_syn_inh": 0.2}
CADC_CHANNEL_SD_BOUND = 3.0


class ThresholdValue(Step):
    """Threshold potential per neuron (CADC LSB, like the other potentials): a
    neuron pulled far above threshold fires continuously; the top percentile
    of its CADC reads is its threshold (biased by the readout noise the same
    way for every neuron)."""
    name = "threshold"
    field = "threshold_v_threshold"
    unit = "LSB"

    def prepare(self):
        # 25 ticks of the fast clock = 0.2 us: many upswings per run
        fire_continuously(self.chip.config, 25, slow_clock=False)

    def configure(self, settings):
        self.chip.config.neurons.set(self.field, np.asarray(settings, np.int64))

    def measure(self):
        reads = measure.cadc_membrane_samples(self.chip, duration=200.0, interval=0.2)
        return np.percentile(reads, 98, axis=0)


@dataclass
class Spread:
    name: str
    unit: str
    before: float
    after: float
    failed: int
    bound: float

    @property
    def ratio(self):
        return self.after / self.before if self.before > 0 else np.inf

    @property
    def passed(self):
        return self.ratio < self.bound


def _steps(chip, targets):
    return [
        ("leak", LeakPotential(chip)),
        ("reset", ResetPotential(chip)),
        ("threshold", ThresholdValue(chip)),
        ("tau_m", MembraneTimeConstant(chip, targets.per_neuron("tau_mem"))),
        ("tau_syn_exc", SynTimeConstant(chip, "excitatory", targets.per_neuron("tau_syn_exc"))),
        ("tau_syn_inh", SynTimeConstant(chip, "inhibitory", targets.per_neuron("tau_syn_inh"))),
    ]


@dataclass
class Comparison:
    """One parameter measured with calibrated settings (after) and with every
    neuron at the median calibrated setting (before)."""
    name: str
    unit: str
    before: np.ndarray
    after: np.ndarray


def compare(result, chip=None):
    """Measure every accepted parameter of `result` before and after; the last
    entry is the CADC channels (before: without channel offsets)."""
    chip = chip or Chip(seed=result.chip_seed)
    result.apply(chip.config)
    # calix's parameters belong to the passive neuron they were calibrated on: an
    # AdEx calibration's adaptation and exponential term would enter the tau_m
    # and potential measurements (tau_m's spread came out larger than before)
    chip.config.neurons.adaptation_enable = False
    chip.config.neurons.exponential_enable = False
    calibrated = chip.config.copy()
    out = []
    for name, step in _steps(chip, result.targets):
        chip.config = calibrated.copy()
        step.prepare()
        after = step.measure()
        settings = getattr(chip.config.neurons, step.field)
        step.configure(np.full(C.NUM_NEURONS, int(np.median(settings[result.success]))))
        out.append(Comparison(name, step.unit, step.measure(), after))
    chip.config = calibrated.copy()
    chip.config.quadrants.correlation_v_res_meas = MID_REFERENCE
    after = measure.correlation_reset_reads(chip, reads=16) - design_code(MID_REFERENCE)
    chip.config.cadc_channel_offsets[...] = 0
    before = measure.correlation_reset_reads(chip, reads=16) - design_code(MID_REFERENCE)
    out.append(Comparison("CADC channels", "LSB", before.ravel(), after.ravel()))
    chip.config = calibrated
    return out


def verify(result, chip=None):
    """Spreads of `result` on its chip against calix's acceptance bounds."""
    return spreads(result, compare(result, chip))


def spreads(result, comparisons):
    """Trimmed sd over the neurons that succeeded; CADC channels: plain sd."""
    ok = result.success
    out = []
    for c in comparisons:
        if c.name == "CADC channels":
            out.append(Spread(c.name, c.unit, float(np.std(c.before)),
                              float(np.std(c.after)), 0, np.inf))
        else:
            out.append(Spread(c.name, c.unit, trimmed_std(c.before[ok]),
                              trimmed_std(c.after[ok]), int((~ok).sum()), BOUNDS[c.name]))
    return out


def verify_correlation(result, chip=None, percentiles=(30, 50, 70)):
    """Per-synapse correlation amplitude and tau percentiles, per branch:
    {("causal"|"acausal", "amplitude"|"tau"): values at `percentiles`}.
    Acceptance [calix]: within a factor 2 of the target."""
    from .steps.correlation import BRANCHES, fit_per_synapse, measure_runs, wire_all_synapses
    chip = chip or Chip(seed=result.chip_seed)
    result.apply(chip.config)
    wire_all_synapses(chip.config)
    amps, taus = fit_per_synapse(measure_runs(chip, reads=8, duration=600.0))
    out = {}
    for b, branch in enumerate(BRANCHES):
        out[branch, "amplitude"] = np.nanpercentile(amps[b], percentiles)
        out[branch, "tau"] = np.nanpercentile(taus[b], percentiles)
    return out


def format_table(spreads):
    lines = [f"{'parameter':<14s} {'sd before':>12s} {'sd after':>12s} {'ratio':>7s} "
             f"{'bound':>6s} {'failed':>7s}"]
    for s in spreads:
        bound = "" if not np.isfinite(s.bound) else f"{s.bound:.2f}"
        lines.append(f"{s.name:<14s} {s.before:9.3f} {s.unit:<3s}{s.after:8.3f} {s.unit:<3s}"
                     f"{s.ratio:7.3f} {bound:>6s} {s.failed:7d}")
    return "\n".join(lines)
