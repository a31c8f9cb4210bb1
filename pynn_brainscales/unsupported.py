"""Standard models that cannot exist on BrainScaleS-2: using one raises
NotImplementedError naming what is supported."""
from pyNN.standardmodels import cells, ion_channels, receptors, synapses

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
    "PointNeuron": "composed point neurons (any receptor set) do not exist: a neuron circuit "
                   "has two exponential synaptic inputs, excitatory and inhibitory",
    "AdExp": "composed point neurons do not exist; the AdEx circuit is EIF_cond_exp_isfa_ista",
    "LIF": "composed point neurons do not exist; the LIF circuit is IF_curr_exp / IF_cond_exp",
    "MultiCompartmentNeuron": "the emulator has no multicompartment neurons (the chip joins "
                              "AdEx circuits into compartments; PyNN's morphologies with ion "
                              "channels have no counterpart there)",
}
HH_CHANNEL = "the chip has no Hodgkin-Huxley ion channels"
CHANNEL_REASONS = {"NaChannel": HH_CHANNEL, "KdrChannel": HH_CHANNEL, "PassiveLeakHH": HH_CHANNEL,
                   "PassiveLeak": "ion channels belong to multicompartment neurons, which the "
                                  "emulator lacks"}
COMPOSED = "composed point neurons do not exist; the synaptic inputs are part of the cell types"
RECEPTOR_REASONS = {name: COMPOSED for name in (
    "CondAlphaPostSynapticResponse", "CondBetaPostSynapticResponse",
    "CondExpPostSynapticResponse", "CurrExpPostSynapticResponse")}
RECEPTOR_REASONS["AlphaPSR"] = COMPOSED
SUPPORTED_SYNAPSES = ["StaticSynapse", "TsodyksMarkramSynapse",
                      "SimpleStochasticSynapse (from spike sources)",
                      "STDPMechanism (SpikePairRule with additive, multiplicative, "
                      "additive-multiplicative or Gutig weight dependence)"]
SYNAPSE_REASONS = {
    "StochasticTsodyksMarkramSynapse": "synapses transmit every event (no stochastic release)",
    "MultiQuantalSynapse": "synapses transmit every event (no quantal release)",
    "ElectricalSynapse": "there are no gap junctions between neuron circuits (outside "
                         "multicompartment neurons)",
    "Vogels2011Rule": "its depression per pre spike needs a presynaptic spike count per synapse, "
                      "which the correlation sensors do not provide",
}


def _unsupported(base, reason, kind, supported):
    def __init__(self, *args, **kwargs):
        raise NotImplementedError(
            f"{base.__name__} cannot be emulated on BrainScaleS-2: {reason}. Supported {kind} "
            f"types: {', '.join(supported)}")
    return type(base.__name__, (base,), {"__init__": __init__, "unsupported": True,
                                         "__doc__": base.__doc__})


__all__ = []
for _module, _reasons, _kind, _supported in (
        (cells, REASONS, "cell", SUPPORTED_CELLS),
        (receptors, RECEPTOR_REASONS, "cell", SUPPORTED_CELLS),
        (ion_channels, CHANNEL_REASONS, "cell", SUPPORTED_CELLS),
        (synapses, SYNAPSE_REASONS, "synapse", SUPPORTED_SYNAPSES)):
    for _name, _reason in _reasons.items():
        base = getattr(_module, _name, None)
        if base is None and _name == "AlphaPSR":
            base = receptors.CondAlphaPostSynapticResponse
        if base is not None:
            globals()[_name] = _unsupported(base, _reason, _kind, _supported)
            __all__.append(_name)
