"""Synapse types of the native API: integer 6-bit weights, no delays."""
from pyNN.standardmodels import build_translations, synapses


class StaticSynapse(synapses.StaticSynapse):
    """Weights in hardware units: integers, >= 0 on excitatory and <= 0 on
    inhibitory projections; |w| > 63 is realised by parallel synapses.  The
    chip has no delays: `delay` must be 0."""
    translations = build_translations(("weight", "weight"), ("delay", "delay"))
    default_parameters = {"weight": 0.0, "delay": 0.0}

    def _get_minimum_delay(self):
        return 0.0
