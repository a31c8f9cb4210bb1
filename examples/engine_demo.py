"""Engine demo: one emulated BrainScaleS-2 chip, driven like the hardware.

Eight neurons get the same configuration.  Their fixed-pattern noise makes
them differ: leak, threshold and time constants scatter around the nominal
values, as on a real chip before calibration.  Each neuron receives the same
Poisson input through one excitatory synapse row; the MADC records neuron 0's
membrane, and the spike times of all eight are read back.  The same run on an
ideal chip (no mismatch, no noise) shows eight identical neurons.

    python examples/engine_demo.py [--output engine_demo.png]
"""
import argparse

import numpy as np

from cython_core import Chip, MadcRecording, constants as C
from cython_core import mismatch as M

NEURONS = np.arange(8)


def configure(chip):
    n = chip.config.neurons
    n.set("threshold_enable", True, NEURONS)
    n.set("excitatory_input_enable", True, NEURONS)
    n.set("constant_current_enable", True, NEURONS)
    n.set("constant_current_i_offset", 350, NEURONS)   # a bias just below threshold
    syn = chip.config.synapses
    syn.driver_enable[0, 0] = True                  # driver 0 listens to row_select 0
    syn.row_modes[0, 0] = C.ROW_EXCITATORY          # its first row is excitatory
    syn.labels[0, 0, :] = 1
    syn.labels[0, 0, NEURONS] = 0                   # columns 0..7 accept address 0
    syn.weights[0, 0, NEURONS] = 40


def experiment(chip, duration=200.0, seed=3):
    rng = np.random.default_rng(seed)
    times = np.sort(rng.uniform(0.0, duration, int(duration * 0.2)))   # 200 kHz = 200 Hz bio
    return chip.run(duration, spikes=(times, np.zeros(len(times), int)),
                    madc=MadcRecording([0]))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default="engine_demo.png")
    parser.add_argument("--chip", type=int, default=0, help="chip seed")
    args = parser.parse_args()

    results = {}
    for label, chip in (("chip %d" % args.chip, Chip(seed=args.chip)),
                        ("ideal chip", Chip(seed=args.chip, ideal=True))):
        configure(chip)
        results[label] = experiment(chip)
        counts = np.bincount(results[label].spike_neurons, minlength=8)[NEURONS]
        print(f"{label:>10s}: spikes per neuron {counts.tolist()}")

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(11, 6), sharex=True)
    for col, (label, res) in enumerate(results.items()):
        mv = res.madc_codes[:, 0] / M.MADC_GAIN_CODES_PER_MV + M.MADC_OFFSET_MV
        axes[0, col].plot(res.madc_times, res.madc_codes[:, 0], lw=0.6)
        axes[0, col].set_title(f"{label}: neuron 0 membrane (MADC)")
        axes[0, col].set_ylabel("MADC code")
        ax2 = axes[0, col].twinx()
        ax2.set_ylim(*(np.array(axes[0, col].get_ylim()) / M.MADC_GAIN_CODES_PER_MV
                       + M.MADC_OFFSET_MV))
        ax2.set_ylabel("mV (nominal)")
        axes[1, col].plot(res.spike_times, res.spike_neurons, "|", ms=8)
        axes[1, col].set_ylabel("neuron")
        axes[1, col].set_xlabel("hardware time (us) = biological ms")
        axes[1, col].set_title(f"{label}: spikes of neurons 0-7, same input")
        print(f"{label:>10s}: neuron 0 membrane {mv.min():.0f}..{mv.max():.0f} mV")
    fig.tight_layout()
    fig.savefig(args.output, dpi=120)
    print(f"figure saved to {args.output}")


if __name__ == "__main__":
    main()
