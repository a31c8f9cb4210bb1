"""BSS-2-style tutorial: a feed-forward network in hardware units.

Sixty Poisson sources drive a layer of 40 calibrated neurons, which drives a
second layer of 20 (random connections, 6-bit weights).  Rasters of all three
layers show the activity passing through.  Saves bss2_feedforward.png.

    python examples/bss2_feedforward.py [--chip SEED]
"""
import argparse

import matplotlib
import numpy as np

import pynn_brainscales.brainscales2 as pynn

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--chip", type=int, default=0)
args = parser.parse_args()

pynn.setup(chip=args.chip)
cell = pynn.cells.CalibHXNeuronCuba(v_rest=80, v_reset=70, v_thresh=110, tau_m=10.0,
                                    tau_syn_E=5.0, tau_syn_I=5.0, tau_refrac=2.0)
inputs = pynn.Population(60, pynn.cells.SpikeSourcePoisson(rate=2e4, start=0.0, duration=1.0))
layer1 = pynn.Population(40, cell)
layer2 = pynn.Population(20, cell)
rng = pynn.random.NumpyRNG(seed=5)
pynn.Projection(inputs, layer1, pynn.FixedProbabilityConnector(0.5, rng=rng),
                synapse_type=pynn.synapses.StaticSynapse(weight=63), receptor_type="excitatory")
pynn.Projection(layer1, layer2, pynn.FixedProbabilityConnector(0.3, rng=rng),
                synapse_type=pynn.synapses.StaticSynapse(weight=30), receptor_type="excitatory")
for pop in (inputs, layer1, layer2):
    pop.record("spikes")
pynn.run(0.5)                                    # 500 us of hardware time = 0.5 s biological

fig, ax = plt.subplots(figsize=(9, 5))
offset = 0
for pop, color, name in ((inputs, "0.5", "input"), (layer1, "tab:blue", "layer 1"),
                         (layer2, "tab:red", "layer 2")):
    trains = pop.get_data().segments[0].spiketrains
    for i, train in enumerate(trains):
        ax.plot(train.rescale("us").magnitude, np.full(len(train), offset + i), "|", color=color,
                ms=3)
    rate = np.mean([len(t) for t in trains]) / 0.5       # per ms of hardware time
    print(f"{name}: {rate:.1f} spikes per neuron per ms of hardware time "
          f"(= Hz of biological time)")
    offset += len(trains)
ax.set_xlabel("hardware time (us)")
ax.set_ylabel("input | layer 1 | layer 2")
ax.set_title(f"feed-forward network on chip {args.chip}")
fig.tight_layout()
fig.savefig("bss2_feedforward.png", dpi=110)
print("figure saved to bss2_feedforward.png")
pynn.end()
