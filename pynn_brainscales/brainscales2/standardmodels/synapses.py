"""Synapse types of the native API: integer 6-bit weights, no delays."""
from pyNN.standardmodels import build_translations, synapses

from ..plasticity_rules import PlasticityRuleHandle, RecordingRule


class StaticSynapse(synapses.StaticSynapse):
    """Weights in hardware units: integers, >= 0 on excitatory and <= 0 on
    inhibitory projections; |w| > 63 is realised by parallel synapses.  The
    chip has no delays: `delay` must be 0."""
    translations = build_translations(("weight", "weight"), ("delay", "delay"))
    default_parameters = {"weight": 0.0, "delay": 0.0}

    def _get_minimum_delay(self):
        return 0.0


class PlasticSynapse(StaticSynapse, PlasticityRuleHandle):
    """A synapse whose weight a plasticity rule may rewrite while the network
    runs; `weight` is the initial weight.  After a run, the projection's
    weights are the ones the rule left."""

    def __init__(self, weight=0.0, delay=0.0, plasticity_rule=None):
        StaticSynapse.__init__(self, weight=weight, delay=delay)
        PlasticityRuleHandle.__init__(self, plasticity_rule)


class StaticRecordingSynapse(StaticSynapse, PlasticityRuleHandle):
    """A static synapse whose weights and correlation sensors are recorded at
    the `timer`'s times: `observables` a subset of {"weights",
    "correlation_causal", "correlation_acausal"}, read back with
    `projection.get_data(name)`."""
    POSSIBLE_OBSERVABLES = RecordingRule.POSSIBLE_OBSERVABLES

    def __init__(self, timer, weight, observables):
        StaticSynapse.__init__(self, weight=weight)
        PlasticityRuleHandle.__init__(self, RecordingRule(timer, set(observables)))
        self.observables = set(observables)
