"""From biological PyNN units to the circuit's, and back.

The translation is linear and documented here once; recorded data invert it.

* time: the chip runs 1000x faster than biology.  1 ms biological = 1 us of
  hardware time, so times and time constants keep their numbers (ms -> us).
* voltage: V_hw = offset + VOLTAGE_GAIN * V_bio, i.e. 10 mV of hardware per mV
  of biology: 120 mV of biology span the circuit's 0..1200 mV rails.  With this
  gain the exponential term's fixed slope factor (20 mV on the chip) is
  delta_T = 2 mV.  The offset is chosen per neuron (`voltage_offsets`): the
  middle of the offsets that put all of its potentials (rest, reset,
  threshold, reversal potentials) inside the reach of their circuits.  A
  neuron's potentials only meet each other, never another neuron's, so each
  neuron may sit elsewhere on the chip's voltage axis.
* per neuron, every neuron uses the full membrane capacitance (2.2 pF); kappa =
  2.2 pF / cm scales that neuron's conductances (g_hw = kappa g_bio, uS) and
  currents (I_hw = kappa VOLTAGE_GAIN I_bio, nA), so that tau = C/g keeps its
  number and the membrane moves 10 mV on chip for every mV of biology.
"""
import numpy as np
from pyNN.errors import InvalidParameterValueError

from cython_core import constants as C
from cython_core.config import refractory_reach, refractory_setting
from cython_core import mismatch as M
from cython_core import readout

VOLTAGE_GAIN = 10.0
HW_CAPACITANCE_PF = M.MEMBRANE_CAPACITANCE_FULL_PF
GM_BIAS = 500.0            # synaptic OTA bias every neuron runs with (calibrated)
SYNAPSE_DAC_BIAS = 600.0
COBA_BIAS = 500.0
SLOPE_FACTOR_BIO_MV = M.EXPONENTIAL_SLOPE_MV / VOLTAGE_GAIN   # delta_T the circuit realises


def v_to_hw(v, offset):
    return np.asarray(offset, float) + VOLTAGE_GAIN * np.asarray(v, float)


def v_hw_line(offset):
    """v_to_hw's inverse as a line, v = (v_hw - zero) * per_mv: (zero, per_mv)
    per circuit of `offset`."""
    offset = np.asarray(offset, float)
    return offset, np.full(offset.shape, 1.0 / VOLTAGE_GAIN)


# Where each kind of potential can be put (hardware mV): on an ideal chip the
# reach of its CapMem cell, on a real chip also what the calibration can reach
# (leak/reset 50..160, threshold 50..220, reversal 10..220 CADC LSB).
_cadc_mv = readout.cadc_design_mv


REACH_MV = {
    True: {"potential": (0.0, M.POTENTIAL_OFFSET_MV + M.POTENTIAL_SLOPE_MV * C.CAPMEM_MAX),
           "threshold": (M.THRESHOLD_OFFSET_MV, M.SUPPLY_MV),
           "reversal": (0.0, M.SUPPLY_MV)},
    False: {"potential": (_cadc_mv(50), _cadc_mv(160)),
            "threshold": (_cadc_mv(50), _cadc_mv(220)),
            "reversal": (_cadc_mv(10), _cadc_mv(220))},
}
POTENTIAL_KINDS = {"v_rest": "potential", "v_reset": "potential", "v_thresh": "threshold",
                   "v_spike": "threshold", "e_rev_E": "reversal", "e_rev_I": "reversal"}


def voltage_offsets(cell, params, ideal):
    """Per-neuron offset (hardware mV at 0 mV biological), see the module doc."""
    n = len(np.asarray(params["v_rest"]))
    low = np.full(n, -np.inf)
    high = np.full(n, np.inf)
    used = {}
    for name, kind in POTENTIAL_KINDS.items():
        if name not in params:
            continue
        if name == "v_thresh" and "v_spike" in params:
            kind = "potential"          # EIF: v_thresh is the exponential term's V_T
        lo, hi = REACH_MV[ideal][kind]
        v = VOLTAGE_GAIN * np.asarray(params[name], float)
        low = np.maximum(low, lo - v)
        high = np.minimum(high, hi - v)
        used[name] = (lo, hi)
    bad = low > high
    if np.any(bad):
        i = int(np.flatnonzero(bad)[0])
        values = {k: float(np.asarray(params[k], float)[i]) for k in used}
        span = max(values.values()) - min(values.values())
        raise InvalidParameterValueError(
            f"{cell}: potentials {values} (mV) span {span:g} mV, more than the circuit can "
            f"hold ({'ideal' if ideal else 'calibrated'} chip; 1 mV of biology is "
            f"{VOLTAGE_GAIN:g} mV on the chip; reaches in chip mV: "
            f"{ {k: REACH_MV[ideal][POTENTIAL_KINDS[k]] for k in used} })")
    return (low + high) / 2


def kappa(cm):
    """Capacitance scale pF (hardware) per nF (biology) of each neuron."""
    return HW_CAPACITANCE_PF / np.asarray(cm, float)


# CADC code of a hardware potential on the design transfer curve (calibration
# targets are in CADC LSB)
cadc_lsb = readout.cadc_design_code


def synapse_step_mv():
    """Synaptic-line voltage step per hardware weight LSB (mV)."""
    return M.SYNAPSE_STEP_PER_DAC_LSB_MV * SYNAPSE_DAC_BIAS


def current_per_weight_lsb():
    """Peak synaptic current (hw nA) per weight LSB at the nominal gm (both
    receptors: the inhibitory gm is set to match the excitatory strength)."""
    return M.GM_PER_LSB_US["excitatory"] * GM_BIAS * synapse_step_mv()


def conductance_per_weight_lsb():
    """Peak COBA conductance (hw uS) per weight LSB at the nominal gm and COBA bias."""
    return current_per_weight_lsb() * COBA_BIAS / M.COBA_NORM_NUMERATOR_MV


def weight_unit(post_kappa, conductance_based):
    """Biological weight (uS for conductance-based, nA for current-based targets)
    of one hardware weight LSB, per target neuron."""
    return np.where(conductance_based, conductance_per_weight_lsb() / post_kappa,
                    current_per_weight_lsb() / (post_kappa * VOLTAGE_GAIN))


def weight_to_hw(weights, post_kappa, conductance_based, unit=None):
    """Hardware weights (float, in weight LSB) of biological weights (nA or uS);
    `unit`: weight_unit() of the targets where the caller has it already."""
    unit = weight_unit(post_kappa, conductance_based) if unit is None else unit
    return np.abs(np.asarray(weights, float)) / unit


def weight_from_hw(w_hw, post_kappa, conductance_based, unit=None):
    unit = weight_unit(post_kappa, conductance_based) if unit is None else unit
    # float64 units: the product is float64 whatever the weights' type
    return np.multiply(w_hw, unit, dtype=float)


def check_reach(name, value, low, high, unit, cell):
    value = np.atleast_1d(np.asarray(value, float))
    bad = ~np.isfinite(value) | (value < low) | (value > high)
    if np.any(bad):
        unit = f" {unit}" if unit else ""
        raise InvalidParameterValueError(
            f"{cell}.{name}: value {value[bad][0]:g}{unit} is outside the circuit's reach "
            f"{low:.4g}..{high:.4g}{unit}")


def _check_each(name, value, reach, unit, cell):
    """|value| <= reach, both per neuron."""
    value, reach = np.broadcast_arrays(np.asarray(value, float), np.asarray(reach, float))
    bad = ~np.isfinite(value) | (np.abs(value) > reach)
    if np.any(bad):
        i = int(np.flatnonzero(bad)[0])
        raise InvalidParameterValueError(
            f"{cell}.{name}: value {value[i]:g} {unit} is outside the circuit's reach "
            f"-{reach[i]:.4g}..{reach[i]:.4g} {unit} (for this neuron's cm)")


# --- inverse nominal transfer curves (exact on an ideal chip) --------------
def _capmem_potential(v_hw):
    return (np.asarray(v_hw) - M.POTENTIAL_OFFSET_MV) / M.POTENTIAL_SLOPE_MV


def _capmem_threshold(v_hw):
    return (np.asarray(v_hw) - M.THRESHOLD_OFFSET_MV) / M.THRESHOLD_SLOPE_MV


def _capmem_reversal(v_hw):
    return (np.asarray(v_hw) - M.REVERSAL_OFFSET_MV) / M.REVERSAL_SLOPE_MV


def neuron_config(cell, params, kappa_n, offset, ideal, slow_scaler=4):
    """Per-neuron configuration fields (name -> array) for cells of type `cell`
    with biological parameter arrays `params`.  On an ideal chip the CapMem
    values are exact (fractional) inverses of the nominal transfer curves; on a
    real chip the calibration overwrites leak, reset, threshold, time
    constants and reversal potentials with calibrated values."""
    n = len(kappa_n)
    f = {}
    name = cell

    def potential(field, pname, inverse):
        # voltage_offsets() has put every potential inside its cell's reach
        f[field] = np.clip(inverse(v_to_hw(params[pname], offset)), 0, C.CAPMEM_MAX)

    potential("leak_v_leak", "v_rest", _capmem_potential)
    potential("reset_v_reset", "v_reset", _capmem_potential)
    spike = "v_spike" if "v_spike" in params else "v_thresh"
    potential("threshold_v_threshold", spike, _capmem_threshold)
    f["threshold_enable"] = np.ones(n, bool)
    f["membrane_capacitance_capacitance"] = np.full(n, C.MEMBRANE_CAPACITANCE_MAX)

    # leak conductance: bias with the x8 / :8 switches where needed
    tau_m = np.asarray(params["tau_m"], float)
    check_reach("tau_m", tau_m, 0.05, 1000.0, "ms", name)
    g = HW_CAPACITANCE_PF / tau_m
    bias = g / M.LEAK_CONDUCTANCE_PER_LSB_US
    divide = bias < 30.0
    multiply = bias > C.CAPMEM_MAX
    bias = np.where(divide, bias * M.LEAK_SWITCH_FACTOR,
                    np.where(multiply, bias / M.LEAK_SWITCH_FACTOR, bias))
    reach = (HW_CAPACITANCE_PF / (M.LEAK_CONDUCTANCE_PER_LSB_US * C.CAPMEM_MAX * 8),
             HW_CAPACITANCE_PF * M.LEAK_SWITCH_FACTOR / (M.LEAK_CONDUCTANCE_PER_LSB_US * 1.0))
    check_reach("tau_m", tau_m, reach[0], reach[1], "ms", name)
    f["leak_i_bias"] = bias
    f["leak_enable_division"] = divide
    f["leak_enable_multiplication"] = multiply

    # refractory period: digital, fast clock (8 ns ticks, up to 2.04 us) or the
    # slow clock, whose divider the backend sets for the longest period in use
    t_ref = np.asarray(params["tau_refrac"], float)
    check_reach("tau_refrac", t_ref, 0.0, refractory_reach(), "ms", name)
    (f["refractory_period_refractory_time"],
     f["refractory_period_input_clock"]) = refractory_setting(t_ref, slow_scaler)

    conductance = "e_rev_E" in params
    for receptor, suffix in (("excitatory", "E"), ("inhibitory", "I")):
        f[f"{receptor}_input_enable"] = np.ones(n, bool)
        tau = np.asarray(params[f"tau_syn_{suffix}"], float)
        ref_bias = M.TAU_SYN_REF_BIAS[receptor]
        small_tau = tau < 0.6
        long_tau = tau > 25.0
        effective = tau / np.where(small_tau, M.SMALL_CAPACITANCE_FACTOR, 1.0) / np.where(
            long_tau, M.HIGH_RESISTANCE_FACTOR, 1.0)
        bias = ref_bias * (M.TAU_SYN_REF_US / effective) ** (1.0 / M.TAU_SYN_EXPONENT)
        tau_reach = (M.TAU_SYN_REF_US * (ref_bias / C.CAPMEM_MAX) ** M.TAU_SYN_EXPONENT
                     * M.SMALL_CAPACITANCE_FACTOR,
                     M.TAU_SYN_REF_US * (ref_bias / 1.0) ** M.TAU_SYN_EXPONENT
                     * M.HIGH_RESISTANCE_FACTOR)
        check_reach(f"tau_syn_{suffix}", tau, tau_reach[0], tau_reach[1], "ms", name)
        f[f"{receptor}_input_i_bias_tau"] = bias
        f[f"{receptor}_input_enable_small_capacitance"] = small_tau
        f[f"{receptor}_input_enable_high_resistance"] = long_tau
        f[f"{receptor}_input_i_bias_gm"] = np.full(
            n, GM_BIAS * M.GM_PER_LSB_US["excitatory"] / M.GM_PER_LSB_US[receptor])
        f[f"{receptor}_input_i_shift_reference"] = np.full(
            n, M.NOMINAL_OTA_OFFSET_MV[receptor] / M.SHIFT_PER_LSB_MV)
        f[f"{receptor}_input_enable_coba_mode"] = np.full(n, conductance)
        if conductance:
            potential(f"{receptor}_input_v_rev_coba", f"e_rev_{suffix}", _capmem_reversal)
            f[f"{receptor}_input_i_bias_coba"] = np.full(n, COBA_BIAS)

    if "a" in params:       # adaptive exponential
        a_hw = kappa_n * np.asarray(params["a"], float) * 1e-3        # nS -> uS
        b_hw = kappa_n * VOLTAGE_GAIN * np.asarray(params["b"], float)
        # reach per neuron: the CapMem range, back in biological units (depends on cm)
        _check_each("a", np.asarray(params["a"], float),
                    M.ADAPTATION_A_PER_LSB_US * C.CAPMEM_MAX * 1e3 / kappa_n, "nS", name)
        _check_each("b", np.asarray(params["b"], float),
                    M.ADAPTATION_B_PER_LSB_NA * C.CAPMEM_MAX / (kappa_n * VOLTAGE_GAIN),
                    "nA", name)
        tau_w = np.asarray(params["tau_w"], float)
        check_reach("tau_w", tau_w, M.ADAPTATION_TAU_NUMERATOR_US / C.CAPMEM_MAX,
               M.ADAPTATION_TAU_NUMERATOR_US, "ms", name)
        f["adaptation_enable"] = np.ones(n, bool)
        f["adaptation_i_bias_a"] = np.abs(a_hw) / M.ADAPTATION_A_PER_LSB_US
        f["adaptation_invert_a"] = a_hw < 0
        f["adaptation_i_bias_b"] = np.abs(b_hw) / M.ADAPTATION_B_PER_LSB_NA
        f["adaptation_invert_b"] = b_hw < 0
        f["adaptation_i_bias_tau"] = M.ADAPTATION_TAU_NUMERATOR_US / tau_w
        f["adaptation_v_ref"] = f["leak_v_leak"]
        delta_t = np.asarray(params["delta_T"], float)
        check_reach("delta_T", delta_t, SLOPE_FACTOR_BIO_MV * 0.999, SLOPE_FACTOR_BIO_MV * 1.001,
               "mV (the exponential term's slope factor is fixed by the circuit)", name)
        # AdEx: I = g_L delta_T exp((V - V_T) / delta_T)
        i_t = g * M.EXPONENTIAL_SLOPE_MV
        f["exponential_enable"] = np.ones(n, bool)
        f["exponential_i_bias"] = i_t / M.EXPONENTIAL_CURRENT_PER_LSB_NA
        potential("exponential_v_exp", "v_thresh", _capmem_potential)
        check_reach("exponential current", f["exponential_i_bias"], 0, C.CAPMEM_MAX, "CapMem", name)
    if not ideal:
        # integer CapMem values, every analog field in one block (rounding and
        # clipping field by field took ~0.15 ms)
        analog = [key for key, value in f.items() if np.asarray(value).dtype.kind == "f"]
        block = np.empty((len(analog), n))
        for row, key in zip(block, analog):
            row[...] = f[key]
        np.clip(np.rint(block, out=block), 0, C.CAPMEM_MAX, out=block)
        f.update(zip(analog, block))
    return f


def offset_current_capmem(i_bio, kappa_n, what="i_offset"):
    """CapMem setting of the offset current for biological currents (nA)."""
    i_hw = kappa_n * VOLTAGE_GAIN * np.asarray(i_bio, float)
    capmem = i_hw / M.OFFSET_CURRENT_PER_LSB_NA
    reach = C.CAPMEM_MAX * M.OFFSET_CURRENT_PER_LSB_NA / (kappa_n * VOLTAGE_GAIN)
    bad = (capmem < -1e-9) | (capmem > C.CAPMEM_MAX + 1e-9)
    if np.any(bad):
        i = np.flatnonzero(np.atleast_1d(bad))[0]
        raise InvalidParameterValueError(
            f"{what}: value {np.atleast_1d(i_bio)[i]:g} nA is outside the offset current's "
            f"reach 0..{np.atleast_1d(reach)[i]:.4g} nA (the circuit only sources current)")
    return np.clip(capmem, 0, C.CAPMEM_MAX)
