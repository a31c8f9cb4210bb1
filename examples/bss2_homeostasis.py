"""BSS-2-style tutorial: homeostatic rate control by an on-chip plasticity rule.

Eight calibrated neurons receive the same 48 Poisson inputs; each has its own
target rate.  Every 0.2 ms of hardware time the PPU reads each neuron's spike
counter and moves all of the neuron's input weights one step towards its target
(up when it fired too little, down when too much): the rates settle at their
targets, whatever the neurons' fixed-pattern noise.  Saves bss2_homeostasis.png.

    python examples/bss2_homeostasis.py [--chip SEED]
"""
import argparse

import matplotlib
import numpy as np

import calibration
from cython_core import constants as C
import pynn_brainscales.brainscales2 as pynn

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--chip", type=int, default=0)
args = parser.parse_args()

PERIOD = 0.2                                     # ms of hardware time between updates
TARGETS = np.array([2, 4, 6, 8, 10, 12, 14, 16])  # spikes per period


class Homeostasis(pynn.PlasticityRule):
    def __init__(self, timer, targets):
        rate = pynn.PlasticityRule.ObservablePerNeuron()
        rate.type = rate.Type.uint8
        weight = pynn.PlasticityRule.ObservablePerSynapse()
        weight.type = weight.Type.uint8
        super().__init__(timer, observables={"rate": rate, "weight": weight})
        self.targets = targets

    def kernel(self, synapses, neurons, recording):
        counts = neurons[0].get_spike_counts(reset=True).astype(int)
        weights = synapses[0].get_weights()
        step = np.sign(self.targets - counts)[None, :]
        weights = np.clip(weights + step, 0, 63)
        synapses[0].set_weights(weights)
        recording.rate = counts
        recording.weight = weights


pynn.setup(chip=args.chip, initial_config=calibration.cached(args.chip))
rule = Homeostasis(pynn.Timer(start=PERIOD, period=PERIOD, num_periods=60), TARGETS)
neurons = pynn.Population(len(TARGETS), pynn.cells.HXNeuron(plasticity_rule=rule))
inputs = pynn.Population(48, pynn.cells.SpikeSourcePoisson(rate=3e4, start=0.0, duration=12.0))
projection = pynn.Projection(inputs, neurons, pynn.AllToAllConnector(),
                             pynn.synapses.PlasticSynapse(weight=20, plasticity_rule=rule),
                             receptor_type="excitatory")
pynn.run(12.0)                                   # 12 ms of hardware time = 12 s biological

rates = neurons.get_plasticity_data("rate")[0]
weights = projection.get_data("weight")[0]
times = np.array([r.time for r in rates]) / (C.FPGA_CLOCK_MHZ * 1000.0)   # cycles -> ms
counts = np.array([r.data for r in rates]).astype(float)
mean_weight = np.array([r.data.mean(axis=0) for r in weights])
pynn.end()

fig, axes = plt.subplots(1, 2, figsize=(11, 4))
for j, target in enumerate(TARGETS):
    color = f"C{j}"
    axes[0].plot(times, counts[:, j] / PERIOD, color=color, lw=1)
    axes[0].axhline(target / PERIOD, color=color, ls=":", lw=0.8)
    axes[1].plot(times, mean_weight[:, j], color=color, lw=1, label=f"target {target / PERIOD:g}")
axes[0].set_ylabel("rate (spikes per ms of hardware time)")
axes[1].set_ylabel("mean input weight (6-bit)")
for ax in axes:
    ax.set_xlabel("hardware time (ms)")
axes[1].legend(fontsize=7, ncol=2)
axes[0].set_title("rates settle at their targets (dotted)")
fig.tight_layout()
fig.savefig("bss2_homeostasis.png", dpi=110)
late = counts[-20:].mean(axis=0)
for target, rate in zip(TARGETS, late):
    print(f"target {target:3d} spikes per period: last 20 periods {rate:5.1f}")
print("figure saved to bss2_homeostasis.png")
