"""Neurons that drive neurons on the chip: four neurons fire on their own (leak
potential above threshold); their spikes return through the routing onto
synapses of a fifth, silent neuron, each through a weight of 126 (two 6-bit
synapses in parallel, as the real system realises weights above 63).  The
fifth neuron fires in answer.  Saves internal_projections.png.

    python -m pynn_brainscales.brainscales2.examples.internal_projections
"""
import pynn_brainscales.brainscales2 as pynn

from ._plot import save_membranes
from .external_input import cell_params as receiver_params     # at rest below threshold
from .leak_over_threshold import cell_params as firing_params


def main():
    """Run for 0.2 ms of hardware time; return the receiving neuron's number
    of spikes."""
    log = pynn.logger.get("internal_projections")
    pynn.setup()
    drivers = pynn.Population(4, pynn.cells.HXNeuron(**firing_params))
    receiver = pynn.Population(1, pynn.cells.HXNeuron(**receiver_params))
    drivers[:1].record(["spikes", "v"])
    drivers.record("spikes")
    receiver.record(["spikes", "v"])
    pynn.Projection(drivers, receiver, pynn.AllToAllConnector(),
                    synapse_type=pynn.standardmodels.synapses.StaticSynapse(weight=126),
                    receptor_type="excitatory")
    pynn.run(0.2)
    driver_data = drivers.get_data().segments[-1]
    received = receiver.get_data().segments[-1]
    driver_spikes = sum(len(train) for train in driver_data.spiketrains)
    answer = received.spiketrains[0]
    pynn.end()
    log.info(f"the four drivers fired {driver_spikes} spikes, the receiver {len(answer)}")
    save_membranes("internal_projections.png",
                   [("driver 0 (leak above threshold)", driver_data.irregularlysampledsignals[0],
                     driver_data.spiketrains[0]),
                    ("receiver", received.irregularlysampledsignals[0], answer)],
                   "neurons driving a neuron on the chip")
    return len(answer)


if __name__ == "__main__":
    main()
