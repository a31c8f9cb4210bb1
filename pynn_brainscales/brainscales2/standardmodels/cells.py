"""Cell types of the BSS-2-native API.

`HXNeuron` exposes the neuron circuit's configuration directly: one parameter
per CapMem cell or switch, named <member>_<field> (e.g. `leak_v_leak`,
`threshold_enable`), in hardware units (CapMem 0..1022).  The defaults form a
silent neuron.  `CalibHXNeuronCuba` / `CalibHXNeuronCoba` take calibration
targets (potentials in CADC LSB, times in hardware us) and are calibrated on
first use (cached per chip and target set).  Spike sources are played in by
the backend; `SpikeSourcePoissonOnChip` uses the chip's own background
generators.
"""
from enum import IntEnum

import numpy as np
from pyNN.standardmodels import StandardCellType, build_translations

from cython_core.config import NEURON_FIELDS
from cython_core.mismatch import READOUT_NODES

from ...standardmodels import cells as _standard
from ..plasticity_rules import PlasticityRuleHandle


# Fields of the real neuron circuit (lola's AtomicNeuron) that the emulated one
# does not have.  Accepted at any value, without effect: readout and routing
# details the backend sets itself, and biases of parts the emulator models at
# their working point (an instantaneous reset, a linear leak, the refractory
# counter without hold-off or pause, the synaptic input without its drop).
UNMODELLED_FIELDS = (
    "readout_enable_buffered_access", "readout_enable_amplifier",
    "readout_enable_unbuffered_access", "readout_source", "event_routing_analog_output",
    "event_routing_address", "event_routing_enable_post_overwrite", "reset_i_bias",
    "reset_enable_degeneration", "reset_enable_division", "reset_enable_multiplication",
    "leak_enable_degeneration", "refractory_period_reset_holdoff",
    "refractory_period_enable_pause", "excitatory_input_i_drop_input",
    "inhibitory_input_i_drop_input", "adaptation_v_leak", "multicompartment_i_bias_nmda",
    "multicompartment_enable_conductance_division",
    "multicompartment_enable_conductance_multiplication")
# ... and those that switch on what the emulated circuit lacks: they must stay 0
# (multi-compartment neurons, the Bayesian fire coupling, adaptation pulses, a
# sinking offset current).
UNSUPPORTED_FIELDS = (
    "multicompartment_connect_soma", "multicompartment_connect_soma_right",
    "multicompartment_connect_right", "multicompartment_connect_vertical",
    "multicompartment_enable_conductance", "bayesian_enable", "bayesian_connect_fire_vertical",
    "bayesian_connect_fire_to_right", "bayesian_connect_fire_from_right",
    "bayesian_enable_master", "bayesian_enable_slave", "bayesian_enable_0", "bayesian_enable_1",
    "adaptation_enable_pulse", "constant_current_type")


class HXNeuron(StandardCellType, PlasticityRuleHandle):
    """The BrainScaleS-2 neuron circuit, parameters in hardware units.
    `plasticity_rule`: a rule that sees these neurons (spike counters, CADC
    reads) as `neurons` in its kernel; `neurons[i].get_readout()` reads the
    node `plasticity_rule_readout_source` (a `ReadoutSource`) selects where
    `plasticity_rule_enable_readout_source` is on, else the membrane.  Fields
    of the real circuit the emulator lacks: see UNMODELLED_FIELDS and
    UNSUPPORTED_FIELDS."""

    class ReadoutSource(IntEnum):
        membrane = 0
        exc_synin = 1
        inh_synin = 2
        adaptation = 3

    # the nodes the readout sources show, in ReadoutSource order
    READOUT_NODES = tuple(READOUT_NODES)
    RULE_PARAMETERS = ("plasticity_rule_enable_readout_source", "plasticity_rule_readout_source")
    default_parameters = {**{name: float(f.default) for name, f in NEURON_FIELDS.items()},
                          **{name: 0.0 for name in UNMODELLED_FIELDS + UNSUPPORTED_FIELDS},
                          **{name: 0.0 for name in RULE_PARAMETERS}}
    default_initial_values = {}
    units = {name: "dimensionless" for name in
             list(default_parameters) + ["v", "exc_synin", "inh_synin", "adaptation"]}
    recordable = ["spikes", "v", "exc_synin", "inh_synin", "adaptation"]
    receptor_types = ["excitatory", "inhibitory"]
    translations = build_translations(*[(n, n) for n in default_parameters])
    is_source = False
    conductance_based = False
    native_cell = True

    def __init__(self, parameters=None, plasticity_rule=None, **kwargs):
        # the older form HXNeuron({...}) of the BSS-2 software
        if parameters is not None:
            kwargs = {**parameters, **kwargs}
        PlasticityRuleHandle.__init__(self, plasticity_rule)
        unknown = set(kwargs) - set(self.default_parameters)
        if unknown:
            raise KeyError(f"HXNeuron: unknown parameter(s) {sorted(unknown)}; parameters are "
                           f"the circuit's fields, e.g. leak_v_leak, threshold_enable")
        if "plasticity_rule_readout_source" in kwargs:
            source = kwargs["plasticity_rule_readout_source"]
            codes = np.asarray([int(v) for v in np.atleast_1d(source)])
            if np.any((codes < 0) | (codes >= len(self.READOUT_NODES))):
                raise ValueError(f"plasticity_rule_readout_source: value {codes.tolist()}; one "
                                 f"of {[s.name for s in self.ReadoutSource]}")
            kwargs["plasticity_rule_readout_source"] = (
                float(codes[0]) if np.ndim(source) == 0 else codes.astype(float))
        # what the script set: setup(initial_config=...) leaves these alone
        self.given_parameters = frozenset(kwargs)
        super().__init__(**kwargs)


RECORDED_UNITS = {"v": "dimensionless", "exc_synin": "dimensionless",
                  "inh_synin": "dimensionless", "adaptation": "dimensionless"}


class _Calib(StandardCellType):
    receptor_types = ["excitatory", "inhibitory"]
    recordable = ["spikes", "v", "exc_synin", "inh_synin", "adaptation"]
    default_initial_values = {}
    is_source = False
    conductance_based = False
    calibrated = True


class CalibHXNeuronCuba(_Calib):
    """Calibrated neuron with current-based synaptic inputs.  Potentials in CADC
    LSB, time constants in hardware us; `cm` is the membrane capacitance
    setting (0..63); gm and DAC biases in CapMem LSB."""
    default_parameters = {"v_rest": 80.0, "v_reset": 70.0, "v_thresh": 125.0,
                          "tau_m": 10.0, "tau_syn_E": 10.0, "tau_syn_I": 10.0,
                          "cm": 63.0, "tau_refrac": 2.0, "i_synin_gm_E": 500.0,
                          "i_synin_gm_I": 500.0, "synapse_dac_bias": 600.0}
    units = {**{k: "dimensionless" for k in default_parameters}, **RECORDED_UNITS}
    translations = build_translations(*[(n, n) for n in default_parameters])


class CalibHXNeuronCoba(_Calib):
    """Calibrated neuron with conductance-based synaptic inputs: adds the
    reversal potentials `e_rev_E`, `e_rev_I` (CADC LSB)."""
    default_parameters = {**CalibHXNeuronCuba.default_parameters,
                          "e_rev_E": 150.0, "e_rev_I": 40.0}
    units = {**{k: "dimensionless" for k in default_parameters}, **RECORDED_UNITS}
    translations = build_translations(*[(n, n) for n in default_parameters])
    conductance_based = True


class SpikeSourceArray(_standard.SpikeSourceArray):
    """Spike times in hardware ms."""


class SpikeSourcePoisson(_standard.SpikeSourcePoisson):
    """Rate in Hz of hardware time (e.g. 1e4 = 10 kHz), start and duration in ms."""


class SpikeSourcePoissonOnChip(StandardCellType):
    """Poisson spikes from the chip's background generators (8 on the chip;
    all cells of a population share one generator's rate and seed).  Their
    spikes can be recorded: the FPGA sees the generator's events."""
    default_parameters = {"rate": 1e4, "seed": 0.0}
    units = {"rate": "Hz", "seed": "dimensionless"}
    recordable = ["spikes"]
    default_initial_values = {}
    translations = build_translations(("rate", "rate"), ("seed", "seed"))
    is_source = True
    on_chip = True
    conductance_based = False
    injectable = False

    def generate(self, params, i, t0, t1, rng):
        return np.zeros(0)            # the chip generates these itself
