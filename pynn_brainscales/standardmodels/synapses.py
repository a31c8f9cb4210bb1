"""Synapse types."""
from pyNN.standardmodels import build_translations, synapses

from cython_core.config import STP_TAU_MAX_US

from .. import simulator


class StaticSynapse(synapses.StaticSynapse):
    __doc__ = synapses.StaticSynapse.__doc__
    translations = build_translations(("weight", "weight"), ("delay", "delay"))

    def _get_minimum_delay(self):
        return simulator.state.min_delay


class TsodyksMarkramSynapse(synapses.TsodyksMarkramSynapse):
    """Depressing / facilitating synapse (Tsodyks-Markram, updated as NEST's
    tsodyks2_synapse), realised by the short-term plasticity of the synapse row
    the presynaptic cell drives: each (source, delay, U, tau_rec, tau_facil)
    gets a synapse driver of its own."""
    translations = build_translations(("weight", "weight"), ("delay", "delay"), ("U", "U"),
                                      ("tau_rec", "tau_rec"), ("tau_facil", "tau_facil"))

    def parameter_ranges(self):
        """name: (low, high, unit) the synapse drivers can realise."""
        tau_max = STP_TAU_MAX_US / simulator.state.time_scale
        return {"U": (0.0, 1.0, ""), "tau_rec": (0.0, tau_max, "ms"),
                "tau_facil": (0.0, tau_max, "ms")}

    def _get_minimum_delay(self):
        return simulator.state.min_delay
