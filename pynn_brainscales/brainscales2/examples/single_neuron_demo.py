"""A first session with one neuron circuit, in three experiments:

1. a silent neuron: the membrane rests at its leak potential;
2. the leak potential above the threshold: the neuron fires on its own;
3. synaptic input: excitatory spikes lift the membrane, an inhibitory one
   lowers it (postsynaptic potentials).

The chip here is uncalibrated (chip 0's fixed-pattern noise as it comes), so
the potentials differ from the CapMem values' nominal ones, as on a real chip.

Each run records the membrane through the MADC; the script saves
single_neuron_demo.png.  Running (or importing) it does all of this:

    python -m pynn_brainscales.brainscales2.examples.single_neuron_demo
"""
import pynn_brainscales.brainscales2 as pynn
from pynn_brainscales.brainscales2.standardmodels.cells import SpikeSourceArray
from pynn_brainscales.brainscales2.standardmodels.synapses import StaticSynapse

from ._plot import save_membranes
from .leak_over_threshold import cell_params as firing_params

log = pynn.logger.get("single_neuron_demo")


def record_membrane(cell, inputs=(), duration=0.2):
    """Run one neuron `cell` (with `inputs`: (spike times, receptor, weight)
    each) for `duration` hardware ms; its membrane signal and spike train."""
    pynn.setup()
    neuron = pynn.Population(1, cell)
    neuron.record(["spikes", "v"])
    for times, receptor, weight in inputs:
        source = pynn.Population(1, SpikeSourceArray(spike_times=times))
        pynn.Projection(source, neuron, pynn.AllToAllConnector(),
                        synapse_type=StaticSynapse(weight=weight), receptor_type=receptor)
    pynn.run(duration)
    segment = neuron.get_data().segments[-1]
    pynn.end()
    return segment.irregularlysampledsignals[0], segment.spiketrains[0]


# 1. silent: no threshold, the membrane at its leak potential (CapMem 700)
silent = record_membrane(pynn.cells.HXNeuron(leak_v_leak=700, leak_i_bias=500))
log.info(f"silent neuron: membrane at {float(silent[0].mean()):.0f} MADC codes")

# 2. leak potential above the threshold
firing = record_membrane(pynn.cells.HXNeuron(**firing_params))
log.info(f"leak over threshold: {len(firing[1])} spikes in 0.2 ms")

# 3. once the membrane has settled (the synaptic inputs' offsets shift its
# rest), excitatory spikes at 60, 100, 120 and 130 us, an inhibitory one at 80 us
synaptic = record_membrane(
    pynn.cells.HXNeuron(leak_v_leak=650, leak_i_bias=100,
                        excitatory_input_enable=True, excitatory_input_i_bias_tau=100,
                        excitatory_input_i_bias_gm=1000,
                        inhibitory_input_enable=True, inhibitory_input_i_bias_tau=100,
                        inhibitory_input_i_bias_gm=1000),
    inputs=[([0.06, 0.10, 0.12, 0.13], "excitatory", 63), ([0.08], "inhibitory", -63)])

save_membranes("single_neuron_demo.png",
               [("1. silent neuron (leak potential 700)", *silent),
                ("2. leak potential above the threshold", *firing),
                ("3. excitatory spikes at 60, 100, 120, 130 us; an inhibitory one at 80 us",
                 *synaptic)],
               "one neuron circuit")
