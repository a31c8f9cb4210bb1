"""Calibrate a neuron's inter-spike interval with its refractory time: a
neuron that fires on its own (leak potential above threshold) is run with
refractory counter values chosen by bisection until its mean ISI meets the
target.  The refractory counter runs on the slow refractory clock here (128
ns per count), so that 255 counts span ~5..35 us.  Saves isi_calib.png.

    python -m pynn_brainscales.brainscales2.examples.isi_calib [TARGET_MS]
"""
import sys

import numpy as np

import pynn_brainscales.brainscales2 as pynn

from ._plot import figure
from .leak_over_threshold import cell_params as _firing

cell_params = {**_firing, "refractory_period_input_clock": 1}
COUNTER_MAX = 255


def get_isi(tau_ref: int):
    """Mean inter-spike interval (hardware ms) over 0.2 ms with the refractory
    counter at `tau_ref`; 0 if the neuron fired fewer than twice."""
    pynn.setup()
    neuron = pynn.Population(1, pynn.cells.HXNeuron(
        **{**cell_params, "refractory_period_refractory_time": tau_ref}))
    neuron.record("spikes")
    pynn.run(0.2)
    spikes = np.asarray(neuron.get_data("spikes").segments[-1].spiketrains[0])
    pynn.end()
    return float(np.mean(np.diff(spikes))) if len(spikes) > 1 else 0.0


def calibrate_isi(target_isi: float):
    """The refractory counter value whose ISI comes closest to `target_isi`
    (hardware ms), by bisection (the ISI grows with the counter); returns
    (that ISI, that counter value) and saves the ISIs tried."""
    tried = {}

    def isi(count):
        if count not in tried:
            tried[count] = get_isi(count)
        return tried[count]

    low, high = 0, COUNTER_MAX
    if not isi(low) <= target_isi <= isi(high):
        raise ValueError(f"target_isi: value {target_isi} ms is out of range; this neuron reaches "
                         f"{isi(low):.4f}..{isi(high):.4f} ms")
    while high - low > 1:
        middle = (low + high) // 2
        if isi(middle) < target_isi:
            low = middle
        else:
            high = middle
    best = min((low, high), key=lambda count: abs(isi(count) - target_isi))
    counts = sorted(tried)
    fig, (ax,) = figure(1, height=3.2)
    ax.plot(counts, [1e3 * tried[c] for c in counts], "o-")
    ax.axhline(1e3 * target_isi, color="C3", lw=0.8, label="target")
    ax.set_xlabel("refractory counter (slow clock)")
    ax.set_ylabel("mean ISI (us, hardware)")
    ax.legend()
    fig.tight_layout()
    fig.savefig("isi_calib.png", dpi=110)
    return tried[best], best


if __name__ == "__main__":
    target = float(sys.argv[1]) if len(sys.argv) > 1 else 0.01
    calibrated, count = calibrate_isi(target)
    pynn.logger.get("isi_calib").info(
        f"refractory counter {count}: ISI {calibrated * 1e3:.2f} us (target {target * 1e3:.2f} us)")
