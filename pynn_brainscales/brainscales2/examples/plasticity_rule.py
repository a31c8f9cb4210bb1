"""Hybrid plasticity: a rule in the PPU reads the synapses' correlation
sensors and rewrites their weights while the network runs.

A neuron is made to fire by volleys of 16 "teacher" sources (static synapses)
every 20 us, for 0.6 ms.  Eight "student" sources reach it through plastic
synapses: four fire 3 us before each volley (their pairs are causal), four
3 us after it (acausal).  The chip's correlation sensors are calibrated first
(cached).  Every 20 us the rule moves each student's weight by its causal
minus its acausal correlation (stochastic rounding to the 6-bit grid) and
records the weights: the early students grow, the late ones shrink.  Saves
plasticity_rule.png.

The real system's rules are C++ kernels for the PPU (`generate_kernel`); the
emulated PPU runs a rule's Python `kernel` method instead.

    python -m pynn_brainscales.brainscales2.examples.plasticity_rule
"""
import numpy as np

import calibration
import pynn_brainscales.brainscales2 as pynn

from ._plot import figure
from .external_input import SOURCES, cell_params as _driven

# one spike per volley: a refractory time of ~13 us on the slow clock
cell_params = {**_driven, "refractory_period_input_clock": 1,
               "refractory_period_refractory_time": 100}

DURATION = 0.6                                       # hardware ms
PERIOD = 0.02                                        # hardware ms
VOLLEY_TIMES = np.arange(0.01, DURATION, PERIOD)
STUDENT_OFFSETS = np.repeat([-0.003, 0.003], 4)      # hardware ms around each volley
LEARNING_RATE = 0.4                                  # weight LSB per CADC LSB
# each CADC read carries ~1.5 LSB of noise: the reset level is the mean of 8
# reads, each update's correlation that of 4
BASELINE_READS, UPDATE_READS = 8, 4


class HebbianRule(pynn.PlasticityRule):
    """w += rate x (causal - acausal correlation), in CADC LSB below the
    sensors' reset level; the weights recorded at every run of the rule."""

    def __init__(self, timer: pynn.Timer, seed=0):
        weights = pynn.PlasticityRule.ObservablePerSynapse()
        weights.type = weights.Type.uint8
        super().__init__(timer, observables={"weights": weights})
        self.rng = np.random.default_rng(seed)
        self.baseline = None

    def kernel(self, synapses, neurons, recording):
        students = synapses[0]
        if self.baseline is None:           # the sensors' reset level, once
            students.reset_correlation()
            self.baseline = _mean_reads(students, BASELINE_READS)
        causal, acausal = (base - now for base, now in
                           zip(self.baseline, _mean_reads(students, UPDATE_READS)))
        students.reset_correlation()
        weights = students.get_weights() + LEARNING_RATE * (causal - acausal)
        weights = np.floor(weights + self.rng.random(weights.shape))
        students.set_weights(np.clip(weights, 0, 63))
        recording.weights = students.get_weights()


def _mean_reads(synapses, reads):
    """Causal and acausal correlation (CADC codes), each the mean of `reads` reads."""
    pairs = [(synapses.get_causal_correlation(), synapses.get_acausal_correlation())
             for _ in range(reads)]
    return tuple(np.mean(branch, axis=0) for branch in zip(*pairs))


def main(params: dict):
    """Run 0.6 ms of hardware time; return the neuron's spike train."""
    # the correlation sensors calibrated (1.5 CADC LSB per pair, 10 us), as
    # the real system's nightly calibration provides them; cached
    pynn.setup(initial_config=calibration.cached(
        0, calibration.Targets(correlation_amplitude=1.5, correlation_tau=10.0),
        correlation=True))
    rule = HebbianRule(pynn.Timer(start=0.0, period=PERIOD,
                                  num_periods=len(VOLLEY_TIMES) + 1))
    neuron = pynn.Population(1, pynn.cells.HXNeuron(**params))
    neuron.record("spikes")
    teachers = pynn.Population(SOURCES, pynn.cells.SpikeSourceArray(spike_times=VOLLEY_TIMES))
    students = pynn.Population(len(STUDENT_OFFSETS), pynn.cells.SpikeSourceArray(
        spike_times=[np.round(VOLLEY_TIMES + offset, 6) for offset in STUDENT_OFFSETS]))
    pynn.Projection(teachers, neuron, pynn.AllToAllConnector(),
                    synapse_type=pynn.standardmodels.synapses.StaticSynapse(weight=63),
                    receptor_type="excitatory")
    plastic = pynn.Projection(students, neuron, pynn.AllToAllConnector(),
                              synapse_type=pynn.standardmodels.synapses.PlasticSynapse(
                                  weight=32, plasticity_rule=rule),
                              receptor_type="excitatory")
    pynn.run(DURATION)
    spiketrain = neuron.get_data("spikes").segments[-1].spiketrains[0]
    records = plastic.get_data("weights")[0]
    pynn.end()
    times = np.array([r.time for r in records]) / 125e3            # FPGA cycles -> ms
    weights = np.array([np.ravel(r.data) for r in records])         # [time, student]
    fig, (ax,) = figure(1, height=3.4)
    for group, (label, colour) in enumerate((("3 us before the volleys", "C2"),
                                             ("3 us after", "C3"))):
        ax.plot(times, weights[:, 4 * group:4 * group + 4], color=colour, lw=1,
                label=[label, None, None, None])
    ax.set_xlabel("hardware time (ms)")
    ax.set_ylabel("student weight (6 bit)")
    ax.legend()
    fig.tight_layout()
    fig.savefig("plasticity_rule.png", dpi=110)
    pynn.logger.get("plasticity_rule").info(
        f"{len(spiketrain)} spikes; mean weight of the early students "
        f"{weights[-1, :4].mean():.1f}, of the late ones {weights[-1, 4:].mean():.1f}")
    return spiketrain


if __name__ == "__main__":
    main(cell_params)
