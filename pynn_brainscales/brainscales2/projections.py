"""Projections of the native API: integer 6-bit weights, signed by receptor,
no delays."""
import numpy as np

from .. import projections as core
from .standardmodels.synapses import StaticSynapse


class Projection(core.Projection):
    __doc__ = core.Projection.__doc__
    _static_synapse_class = StaticSynapse

    def _convergent_connect(self, presynaptic_indices, postsynaptic_index,
                            location_selector=None, **connection_parameters):
        delay = np.asarray(connection_parameters.get("delay", 0.0), float)
        if np.any(delay != 0):
            raise ValueError(f"delay: value {np.atleast_1d(delay)[delay != 0][0]} ms; "
                             f"BrainScaleS-2 has no configurable delays, the delay must be 0")
        connection_parameters["delay"] = np.zeros_like(delay)
        super()._convergent_connect(presynaptic_indices, postsynaptic_index, location_selector,
                                    **connection_parameters)

    def _check_weights(self, weight, post_indices):
        if self.receptor_type == "excitatory" and np.any(weight < 0):
            raise ValueError(f"weight: value {weight[weight < 0][0]:g} on an excitatory "
                             f"projection; excitatory weights are >= 0")
        if self.receptor_type == "inhibitory" and np.any(weight > 0):
            raise ValueError(f"weight: value {weight[weight > 0][0]:g} on an inhibitory "
                             f"projection; inhibitory weights are <= 0")

    def _quantise(self, weight, post):
        """Weights are integers on the chip (|w| > 63: parallel synapses)."""
        return np.rint(weight)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        rule = getattr(self.synapse_type, "plasticity_rule", None)
        if rule is not None:
            rule._add_projection(self)

    def get_data(self, observable):
        """Per snippet (executed run), the records (`.time` in FPGA clock cycles,
        `.data` [pre, post]) of a per-synapse observable of this projection's
        plasticity rule; None for a snippet in which the rule did not run."""
        from .plasticity_rules import ObservablePerSynapse, observable_records
        return observable_records(self.synapse_type, self, observable, ObservablePerSynapse,
                                  "projection")
