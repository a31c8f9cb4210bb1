"""A neuron whose leak potential lies above its threshold fires on its own,
regularly: its membrane climbs towards the leak potential, crosses the
threshold, is held at the reset potential for the refractory time, and climbs
again.  Records the membrane through the MADC and saves
leak_over_threshold.png.

    python -m pynn_brainscales.brainscales2.examples.leak_over_threshold
"""
import pynn_brainscales.brainscales2 as pynn

from ._plot import save_membranes

# CapMem values: leak potential far above the threshold, a strong reset
cell_params = {"threshold_enable": True,
               "threshold_v_threshold": 350,
               "leak_v_leak": 1000,
               "leak_i_bias": 200,
               "reset_v_reset": 300,
               "reset_i_bias": 1000,
               "reset_enable_multiplication": True,
               "membrane_capacitance_capacitance": 63,
               "refractory_period_refractory_time": 50}


def main(params: dict):
    """Run one neuron with `params` for 0.2 ms of hardware time and save the
    figure of its membrane and spikes."""
    log = pynn.logger.get("leak_over_threshold")
    pynn.setup()
    neuron = pynn.Population(1, pynn.cells.HXNeuron(**params))
    neuron.record(["spikes", "v"])
    pynn.run(0.2)
    segment = neuron.get_data().segments[-1]
    spikes = segment.spiketrains[0]
    pynn.end()
    log.info(f"{len(spikes)} spikes in 0.2 ms of hardware time")
    save_membranes("leak_over_threshold.png",
                   [("leak potential above the threshold", segment.irregularlysampledsignals[0],
                     spikes)], "leak over threshold")


if __name__ == "__main__":
    main(cell_params)
