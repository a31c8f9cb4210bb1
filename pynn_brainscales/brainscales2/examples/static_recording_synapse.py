"""Reading synapse weights back during an experiment: a StaticRecordingSynapse
is a static synapse whose weights a PPU program records when its timer fires
(here once, 5 ms of hardware time into a 10 ms run).  The records carry their
time in FPGA clock cycles (125 per us) and the weights per synapse.

    python -m pynn_brainscales.brainscales2.examples.static_recording_synapse
"""
import numpy as np

import pynn_brainscales.brainscales2 as pynn


def main():
    """Run 10 ms of hardware time; return the projection's weight records."""
    pynn.setup()
    neuron = pynn.Population(1, pynn.cells.HXNeuron())
    neuron.record(["spikes", "v"])
    source = pynn.Population(1, pynn.cells.SpikeSourceArray(spike_times=np.arange(0, 10, 0.01)))
    synapse = pynn.standardmodels.synapses.StaticRecordingSynapse(
        timer=pynn.Timer(start=5, period=10, num_periods=1), weight=63,
        observables={"weights"})
    projection = pynn.Projection(source, neuron, pynn.AllToAllConnector(),
                                 synapse_type=synapse)
    pynn.run(10)
    weights = projection.get_data("weights")[0]
    pynn.end()
    return weights


if __name__ == "__main__":
    for record in main():
        pynn.logger.get("static_recording_synapse").info(
            f"at {record.time} FPGA cycles: weights {record.data}")
