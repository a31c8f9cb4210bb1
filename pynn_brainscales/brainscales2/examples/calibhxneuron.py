"""Calibrated neurons: CalibHXNeuronCuba takes targets (potentials in CADC LSB,
time constants in hardware us) instead of CapMem values; the first run
calibrates the chip's circuits to them (cached) and runs.  Four neurons with
leak potentials 60..90 LSB under the same Poisson input fire the more, the
higher their rest.  Saves calibhxneuron.png.

    python -m pynn_brainscales.brainscales2.examples.calibhxneuron
"""
import pynn_brainscales.brainscales2 as pynn

from ._plot import save_membranes

LEAK_TARGETS = [60, 70, 80, 90]          # CADC LSB


def main():
    """Run 0.2 ms of hardware time; return the four neurons' spike trains."""
    pynn.setup()
    neurons = pynn.Population(len(LEAK_TARGETS), pynn.cells.CalibHXNeuronCuba(
        v_rest=LEAK_TARGETS, v_reset=60, v_thresh=110, tau_m=10, tau_syn_E=5))
    neurons.record(["spikes", "v"])
    source = pynn.Population(20, pynn.cells.SpikeSourcePoisson(rate=5e4, start=0.0,
                                                               duration=0.2))
    pynn.Projection(source, neurons, pynn.AllToAllConnector(),
                    synapse_type=pynn.standardmodels.synapses.StaticSynapse(weight=20),
                    receptor_type="excitatory")
    pynn.run(0.2)
    segment = neurons.get_data().segments[-1]
    pynn.end()
    counts = [len(train) for train in segment.spiketrains]
    pynn.logger.get("calibhxneuron").info(f"spikes per neuron (leak {LEAK_TARGETS}): {counts}")
    save_membranes("calibhxneuron.png",
                   [(f"leak target {target} CADC LSB", signal, train) for target, signal, train
                    in zip(LEAK_TARGETS, segment.irregularlysampledsignals, segment.spiketrains)],
                   "calibrated neurons under one Poisson input")
    return segment.spiketrains


if __name__ == "__main__":
    main()
