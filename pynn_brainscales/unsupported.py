"""Standard models that cannot exist on BrainScaleS-2: using one raises
NotImplementedError naming what is supported."""
from pyNN.standardmodels import cells

SUPPORTED_CELLS = ["IF_curr_exp", "IF_cond_exp", "EIF_cond_exp_isfa_ista", "SpikeSourceArray",
                   "SpikeSourcePoisson", "SpikeSourcePoissonRefractory", "SpikeSourceGamma"]
REASONS = {
    "HH_cond_exp": "the chip's neurons are AdEx circuits, without Hodgkin-Huxley channels",
    "Izhikevich": "the chip's neurons are AdEx circuits, not Izhikevich neurons",
    "IF_curr_alpha": "the synaptic inputs are exponential; alpha-shaped currents do not exist",
    "IF_cond_alpha": "the synaptic inputs are exponential; alpha-shaped conductances do not exist",
    "EIF_cond_alpha_isfa_ista": "the synaptic inputs are exponential, not alpha-shaped",
    "IF_cond_exp_gsfa_grr": "no relative-refractory conductance exists on the chip",
    "IF_facets_hardware1": "this is the FACETS wafer-scale model, not BrainScaleS-2",
    "IF_curr_delta": "synaptic inputs always have a time constant (>= 0.1 us)",
    "GIF_cond_exp": "no generalised integrate-and-fire circuit exists on the chip",
    "PointNeuron": "multi-synapse point neurons are not available",
}


def _unsupported(base, reason):
    def __init__(self, *args, **kwargs):
        raise NotImplementedError(
            f"{base.__name__} cannot be emulated on BrainScaleS-2: {reason}. Supported cell "
            f"types: {', '.join(SUPPORTED_CELLS)}")
    return type(base.__name__, (base,), {"__init__": __init__, "unsupported": True,
                                         "__doc__": base.__doc__})


__all__ = []
for _name, _reason in REASONS.items():
    if hasattr(cells, _name):
        globals()[_name] = _unsupported(getattr(cells, _name), _reason)
        __all__.append(_name)
