"""BSS-2-style tutorial: postsynaptic potentials.

One presynaptic spike source reaches four calibrated neurons through
excitatory synapses of weight 10, 20, 40 and 63; the MADC records their
membranes.  Then the same for inhibitory synapses.  Saves bss2_psp.png.

    python examples/bss2_psp.py [--chip SEED]
"""
import argparse

import matplotlib
import numpy as np

import calibration
import pynn_brainscales.brainscales2 as pynn

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--chip", type=int, default=0)
args = parser.parse_args()
calib = calibration.cached(args.chip)
weights = [10, 20, 40, 63]

fig, axes = plt.subplots(1, 2, figsize=(12, 4), sharey=True)
for ax, receptor, sign in ((axes[0], "excitatory", 1), (axes[1], "inhibitory", -1)):
    pynn.setup(chip=args.chip, initial_config=calib)
    neurons = pynn.Population(len(weights), pynn.cells.HXNeuron(threshold_enable=False))
    source = pynn.Population(1, pynn.cells.SpikeSourceArray(spike_times=[0.02]))
    pynn.Projection(source, neurons,
                    pynn.FromListConnector([(0, i, sign * w, 0.0) for i, w in enumerate(weights)]),
                    synapse_type=pynn.synapses.StaticSynapse(), receptor_type=receptor)
    neurons.record("v")
    pynn.run(0.08)                              # 80 us of hardware time
    for w, signal in zip(weights, neurons.get_data().segments[0].irregularlysampledsignals):
        t = signal.times.rescale("us").magnitude
        v = signal.magnitude[:, 0]
        ax.plot(t, v - np.median(v[t < 19]), lw=0.8, label=f"weight {sign * w}")
    pynn.end()
    ax.set_title(f"{receptor} PSPs (one spike at 20 us)")
    ax.set_xlabel("hardware time (us)")
    ax.legend(fontsize=8)
axes[0].set_ylabel("MADC code above rest")
fig.tight_layout()
fig.savefig("bss2_psp.png", dpi=110)
print("figure saved to bss2_psp.png")
