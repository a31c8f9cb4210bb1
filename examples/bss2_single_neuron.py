"""BSS-2-style tutorial: one neuron circuit and its parameters.

A neuron circuit driven by its offset current, recorded with the MADC, for a
few settings of its leak potential and threshold -- in the circuit's own units
(CapMem values 0..1022), as on the real system.  Saves bss2_single_neuron.png.

    python examples/bss2_single_neuron.py [--chip SEED]
"""
import argparse

import matplotlib

import calibration
import pynn_brainscales.brainscales2 as pynn

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--chip", type=int, default=0)
args = parser.parse_args()
calib = calibration.cached(args.chip)          # calibrates once (~3 s), then from the cache

fig, axes = plt.subplots(1, 2, figsize=(12, 4), sharey=True)
for ax, (name, values) in zip(axes, (("leak_v_leak", [500, 600, 700]),
                                     ("threshold_v_threshold", [280, 320, 360]))):
    for value in values:
        pynn.setup(chip=args.chip, initial_config=calib)
        neuron = pynn.Population(1, pynn.cells.HXNeuron(constant_current_enable=True,
                                                         constant_current_i_offset=400))
        neuron.set(**{name: value})
        neuron.record(["spikes", "v"])
        pynn.run(0.1)                          # 100 us of hardware time
        seg = neuron.get_data().segments[0]
        v = seg.irregularlysampledsignals[0]
        ax.plot(v.times.rescale("us").magnitude, v.magnitude[:, 0], lw=0.8,
                label=f"{name} = {value}: {len(seg.spiketrains[0])} spikes")
        pynn.end()
    ax.set_xlabel("hardware time (us)")
    ax.set_title(f"varying {name}")
    ax.legend(fontsize=8)
axes[0].set_ylabel("MADC code")
fig.tight_layout()
fig.savefig("bss2_single_neuron.png", dpi=110)
print("figure saved to bss2_single_neuron.png")
