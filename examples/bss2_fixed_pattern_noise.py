"""BSS-2-style tutorial: fixed-pattern noise before and after calibration.

All 512 neuron circuits with one and the same configuration rest at different
potentials and have different time constants (the chip's fixed-pattern noise);
with the calibration applied they agree.  Their resting potentials are read
through the CADC.  Saves bss2_fixed_pattern_noise.png.

    python examples/bss2_fixed_pattern_noise.py [--chip SEED]
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

rests = {}
for label, config in (("uncalibrated (all at the median setting)", None), ("calibrated", calib)):
    pynn.setup(chip=args.chip, initial_config=config)
    cells = pynn.cells.HXNeuron()
    if config is None:       # every circuit gets the median of the calibrated settings
        cells = pynn.cells.HXNeuron(**{k: float(np.median(v)) for k, v in calib.neurons.items()
                                       if k.startswith(("leak_v", "leak_i"))})
    pop = pynn.Population(512, cells)
    pop.record("v", device="cadc")
    pynn.run(0.04)
    reads = np.concatenate([np.asarray(s) for s in
                            pop.get_data().segments[0].irregularlysampledsignals], axis=1)
    rests[label] = reads[5:].mean(axis=0)
    pynn.end()
    print(f"{label:42s} resting potential {rests[label].mean():6.1f} +- "
          f"{rests[label].std():4.1f} CADC LSB")

fig, ax = plt.subplots(figsize=(7, 4))
bins = np.linspace(40, 120, 81)
for label, values in rests.items():
    ax.hist(values, bins, alpha=0.6, label=f"{label}: sd {values.std():.1f} LSB")
ax.set_xlabel("resting potential (CADC LSB)")
ax.set_ylabel("neurons")
ax.set_title(f"chip {args.chip}: 512 neurons, same target (80 LSB)")
ax.legend(fontsize=8)
fig.tight_layout()
fig.savefig("bss2_fixed_pattern_noise.png", dpi=110)
print("figure saved to bss2_fixed_pattern_noise.png")
