"""A neuron driven from outside the chip: 16 spike sources (the FPGA replays
their spikes into the chip) fire together every 20 us onto one neuron through
excitatory synapses of the largest weight; each volley lifts the membrane over
its threshold.  Saves external_input.png.

    python -m pynn_brainscales.brainscales2.examples.external_input
"""
import numpy as np

import pynn_brainscales.brainscales2 as pynn

from ._plot import save_membranes

# CapMem values: rest well below the threshold, slow leak, strong inputs
cell_params = {"threshold_enable": True,
               "threshold_v_threshold": 300,
               "leak_v_leak": 650,
               "leak_i_bias": 100,
               "reset_v_reset": 600,
               "reset_i_bias": 1000,
               "reset_enable_multiplication": True,
               "membrane_capacitance_capacitance": 63,
               "refractory_period_refractory_time": 200,
               "excitatory_input_enable": True,
               "excitatory_input_i_bias_tau": 100,
               "excitatory_input_i_bias_gm": 1000}

VOLLEY_TIMES = np.arange(0.01, 0.2, 0.02)     # hardware ms
SOURCES = 16


def main(params: dict):
    """Run the network for 0.2 ms of hardware time; return the neuron's spike
    train and that of the first input source."""
    log = pynn.logger.get("external_input")
    pynn.setup()
    neuron = pynn.Population(1, pynn.cells.HXNeuron(**params))
    neuron.record(["spikes", "v"])
    sources = pynn.Population(SOURCES, pynn.cells.SpikeSourceArray(spike_times=VOLLEY_TIMES))
    sources.record("spikes")
    pynn.Projection(sources, neuron, pynn.AllToAllConnector(),
                    synapse_type=pynn.standardmodels.synapses.StaticSynapse(weight=63),
                    receptor_type="excitatory")
    pynn.run(0.2)
    segment = neuron.get_data().segments[-1]
    spiketrain = segment.spiketrains[0]
    spiketrain_input = sources.get_data("spikes").segments[-1].spiketrains[0]
    pynn.end()
    log.info(f"{len(spiketrain_input)} input volleys, {len(spiketrain)} output spikes")
    save_membranes("external_input.png",
                   [(f"{SOURCES} sources fire together (green)",
                     segment.irregularlysampledsignals[0], spiketrain, spiketrain_input)],
                   "a neuron driven by external spikes")
    return spiketrain, spiketrain_input


if __name__ == "__main__":
    main(cell_params)
