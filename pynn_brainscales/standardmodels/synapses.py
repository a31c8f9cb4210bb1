"""Synapse types."""
import numpy as np
from pyNN.errors import InvalidParameterValueError
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


class SimpleStochasticSynapse(synapses.SimpleStochasticSynapse):
    """A synapse that transmits each presynaptic spike with probability `p`.
    The chip's synapses transmit every event; the backend realises the release
    for spike sources as it realises delays, on the input side: each connection
    with p < 1 gets a synapse row of its own, and its source's spikes on that
    row are thinned with p, independently per connection.  From chip neurons
    (whose spikes the FPGA replays unthinned) p < 1 raises."""
    translations = build_translations(("weight", "weight"), ("delay", "delay"), ("p", "p"))

    def parameter_ranges(self):
        return {"p": (0.0, 1.0, "")}

    def _get_minimum_delay(self):
        return simulator.state.min_delay


# the correlation sensors' time constant [DESIGN.md: 2..30 us, calix]
SENSOR_TAU_RANGE_US = (2.0, 30.0)


class STDPMechanism(synapses.STDPMechanism):
    """Spike-timing-dependent plasticity as BrainScaleS-2 realises it ("hybrid
    plasticity"): every synapse's analog correlation sensor accumulates the
    pair kernel exp(-|dt| / tau) (causal: each post spike with the last pre;
    acausal: each pre with the last post), and a built-in PPU program reads the
    sensors periodically through the CADC, applies the weight dependence and
    writes new 6-bit weights (stochastic rounding on a real chip, so that small
    changes are not lost on average).  See plasticity.py for how this differs
    from NEST's stdp_synapse."""
    base_translations = build_translations(
        ("weight", "weight"), ("delay", "delay"),
        ("dendritic_delay_fraction", "dendritic_delay_fraction"))

    def _get_minimum_delay(self):
        return simulator.state.min_delay

    def parameter_ranges(self):
        """name: (low, high, unit) the sensors and the rule can realise."""
        low, high = (t / simulator.state.time_scale for t in SENSOR_TAU_RANGE_US)
        return {"tau_plus": (low, high, "ms"), "tau_minus": (low, high, "ms"),
                "A_plus": (0.0, 1.0, ""), "A_minus": (0.0, 1.0, ""),
                "w_min": (0.0, np.inf, ""), "w_max": (0.0, np.inf, ""),
                "mu_plus": (0.0, 10.0, ""), "mu_minus": (0.0, 10.0, ""),
                "dendritic_delay_fraction": (0.0, 1.0, "")}

    def check_connections(self, values):
        """Checks across parameters of the same connections ({name: array})."""
        name = type(self).__name__
        tau_plus, tau_minus = values["tau_plus"], values["tau_minus"]
        differ = ~np.isclose(tau_plus, tau_minus, rtol=1e-9, atol=0.0)
        if np.any(differ):
            i = int(np.flatnonzero(differ)[0])
            raise InvalidParameterValueError(
                f"{name}: tau_plus {tau_plus[i]:g} ms and tau_minus {tau_minus[i]:g} ms differ; "
                f"a synapse's causal and acausal correlation sensors share one time constant "
                f"(one bias per quadrant), so tau_plus must equal tau_minus")
        low, high = values["w_min"], values["w_max"]
        if np.any(low > high):
            i = int(np.flatnonzero(low > high)[0])
            raise InvalidParameterValueError(
                f"{name}: w_min {low[i]:g} is above w_max {high[i]:g}")
        weight = values["weight"]
        if np.any(weight < 0):
            raise InvalidParameterValueError(
                f"{name}: weight {weight[weight < 0][0]:g}: plastic weights are magnitudes "
                f">= 0 (the receptor type gives the sign)")


class _WeightDependence:
    """mu_plus, mu_minus: exponents of the soft bounds (w_max - w)^mu_plus for
    potentiation and (w - w_min)^mu_minus for depression, weights normalised to
    w_max - w_min; changes scale with w_max - w_min (NEST: w_max, w_min = 0)."""
    possible_models = {"ppu_pair_stdp"}
    translations = build_translations(("w_min", "w_min"), ("w_max", "w_max"))


class AdditiveWeightDependence(_WeightDependence, synapses.AdditiveWeightDependence):
    __doc__ = synapses.AdditiveWeightDependence.__doc__
    extra_parameters = {"mu_plus": 0.0, "mu_minus": 0.0}


class MultiplicativeWeightDependence(_WeightDependence,
                                     synapses.MultiplicativeWeightDependence):
    __doc__ = synapses.MultiplicativeWeightDependence.__doc__
    extra_parameters = {"mu_plus": 1.0, "mu_minus": 1.0}


class AdditivePotentiationMultiplicativeDepression(
        _WeightDependence, synapses.AdditivePotentiationMultiplicativeDepression):
    __doc__ = synapses.AdditivePotentiationMultiplicativeDepression.__doc__
    extra_parameters = {"mu_plus": 0.0, "mu_minus": 1.0}


class GutigWeightDependence(_WeightDependence, synapses.GutigWeightDependence):
    __doc__ = synapses.GutigWeightDependence.__doc__
    translations = build_translations(("w_min", "w_min"), ("w_max", "w_max"),
                                      ("mu_plus", "mu_plus"), ("mu_minus", "mu_minus"))
    extra_parameters = {}


class SpikePairRule(synapses.SpikePairRule):
    __doc__ = synapses.SpikePairRule.__doc__
    possible_models = {"ppu_pair_stdp"}
    translations = build_translations(("tau_plus", "tau_plus"), ("tau_minus", "tau_minus"),
                                      ("A_plus", "A_plus"), ("A_minus", "A_minus"))
    extra_parameters = {}
