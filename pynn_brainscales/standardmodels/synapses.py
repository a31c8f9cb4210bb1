"""Synapse types."""
from pyNN.standardmodels import build_translations, synapses

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

    def _get_minimum_delay(self):
        return simulator.state.min_delay
