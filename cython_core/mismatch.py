"""Fixed-pattern noise and the CapMem-to-physics transfer curves.

Each analog parameter is a nominal monotonic function of its CapMem value,
scaled by a per-instance gain and shifted by a per-instance offset; every
neuron-level term carries a per-quadrant component on top of the per-neuron one.

The magnitudes are set so that calibrating a chip to the real chip's targets
(tau_m = tau_syn = 6 us, leak = reset = 80, threshold = 150 CADC LSB) needs
settings with the statistics measured on a real chip (DESIGN.md section 2):
leak bias 158 +- 21, v_leak 629 +- 39, v_reset 625 +- 40, v_threshold 389 +- 17.5,
syn tau bias 84 +- 22 / 78 +- 20, gm bias 487 +- 116 / 539 +- 132, reference
shift 314 +- 123 / 294 +- 111.  The nominal curves below are chosen to put the
means there; the spreads follow from the sd values in MISMATCH_SD.

Units: mV, us, pF, uS, nA (see constants.py).
"""
import zlib

import numpy as np

from . import constants as C

# --- nominal transfer curves ------------------------------------------------
# Potential cells (leak, reset, reversal, adaptation and exponential reference):
# 1 mV per CapMem LSB behind a source follower that drops 200 mV.
POTENTIAL_OFFSET_MV = -200.0
POTENTIAL_SLOPE_MV = 1.0
# Threshold comparator reference: 1.5 mV per LSB from 150 mV.
THRESHOLD_OFFSET_MV = 150.0
THRESHOLD_SLOPE_MV = 1.5
# COBA reversal potentials: 1.2 mV per LSB from 0, across the whole rail range.
REVERSAL_OFFSET_MV = 0.0
REVERSAL_SLOPE_MV = 1.2
SUPPLY_MV = 1200.0
# Leak OTA: conductance proportional to its bias current; x8 / :8 switches.
LEAK_CONDUCTANCE_PER_LSB_US = 0.002321
LEAK_SWITCH_FACTOR = 8.0
# Membrane capacitance: 63 ~ 2.2 pF.
MEMBRANE_CAPACITANCE_FULL_PF = 2.2
# Synaptic input time constant falls with its bias as a power law:
# tau = TAU_SYN_REF_US * (ref_bias / bias) ** TAU_SYN_EXPONENT.
TAU_SYN_REF_US = 6.0
TAU_SYN_REF_BIAS = {"excitatory": 84.0, "inhibitory": 78.0}
TAU_SYN_EXPONENT = 1.2
SMALL_CAPACITANCE_FACTOR = 1.0 / 3.0   # tau and 1/amplitude of the synaptic line
HIGH_RESISTANCE_FACTOR = 4.0           # tau of the synaptic line
# Synaptic input OTA transconductance (uS per LSB of i_bias_gm).
GM_PER_LSB_US = {"excitatory": 0.001, "inhibitory": 0.00092}
# Reference shift: mV of OTA input offset cancelled per LSB; the nominal offset.
SHIFT_PER_LSB_MV = 0.1
NOMINAL_OTA_OFFSET_MV = {"excitatory": 31.4, "inhibitory": 29.4}
# Synapse DAC: synaptic-line voltage step per weight LSB per LSB of the DAC bias.
SYNAPSE_STEP_PER_DAC_LSB_MV = 0.00095
# COBA: the synaptic current equals its CUBA value at a driving force of
# COBA_NORM_NUMERATOR / i_bias_coba mV.
COBA_NORM_NUMERATOR_MV = 1.0e5
OFFSET_CURRENT_PER_LSB_NA = 0.1
ADAPTATION_A_PER_LSB_US = 2.5e-4
ADAPTATION_B_PER_LSB_NA = 0.1
ADAPTATION_TAU_NUMERATOR_US = 1.0e4
EXPONENTIAL_CURRENT_PER_LSB_NA = 0.05
EXPONENTIAL_SLOPE_MV = 20.0
# Correlation sensor: amplitude per pair and time constant from per-quadrant biases.
CORRELATION_AMPLITUDE_PER_LSB_MV = 0.009     # 250 -> 2.25 mV ~ 0.5 CADC LSB [calix]
CORRELATION_TAU_REF_US = 5.0                 # at bias 500 [calix: ~5 us]
CORRELATION_TAU_REF_BIAS = 500.0
CORRELATION_TAU_EXPONENT = 1.3
CORRELATION_FLOOR_MV = 100.0                 # accumulator saturates at this voltage
# CADC: ramp start 0.5 mV per LSB of its offset cell; slope per LSB of the slope bias.
CADC_RAMP_OFFSET_PER_LSB_MV = 0.5
CADC_SLOPE_PER_LSB = 7.407e-4                # 300 -> 0.2222 LSB/mV: 0.15..1.05 V -> 20..220
# MADC: 10 bit over 100..1100 mV.
MADC_OFFSET_MV = 100.0
MADC_GAIN_CODES_PER_MV = 1.023
# Observed node voltages for the MADC's non-membrane sources.  A synaptic input
# line rests near the top of the MADC's range and drops as its synapses draw
# current (both receptors), with ~700 mV of range below it.
SYNIN_BASELINE_MV = 800.0
SYNIN_MV_PER_MV = -1.0
ADAPTATION_BASELINE_MV = 500.0
ADAPTATION_MV_PER_NA = 5.0
# what each readout source shows (MADC, CADC): node voltage (mV) = base + gain
# x the engine's state variable
READOUT_NODES = {"v": ("v", 0.0, 1.0),
                 "exc_synin": ("u_e", SYNIN_BASELINE_MV, SYNIN_MV_PER_MV),
                 "inh_synin": ("u_i", SYNIN_BASELINE_MV, SYNIN_MV_PER_MV),
                 "adaptation": ("w", ADAPTATION_BASELINE_MV, ADAPTATION_MV_PER_NA)}

# --- temporal noise ------------------------------------------------------
# White current noise on the membrane, as a density: sd of the step-mean
# current is MEMBRANE_NOISE_DENSITY / sqrt(dt).  Gives ~0.5 mV membrane sd at
# tau_m = 10 us.  Readout noise puts trial-to-trial CADC noise at ~1.5 LSB.
MEMBRANE_NOISE_DENSITY_NA_SQRT_US = 0.50
CADC_NOISE_LSB = 1.5
MADC_NOISE_CODES = 1.5

# --- fixed-pattern noise magnitudes ------------------------------------------
# name: (kind, per-instance sd, per-quadrant sd).  "gain": lognormal factor,
# "offset": additive in the unit of the parameter.
MISMATCH_SD = {
    "v_leak": ("offset", 37.0, 10.0),
    "v_reset": ("offset", 38.0, 10.0),
    "v_threshold": ("offset", 25.0, 6.0),
    "g_leak": ("gain", 0.125, 0.04),
    "capacitance": ("gain", 0.02, 0.005),
    "tau_syn_exc": ("gain", 0.30, 0.05),
    "tau_syn_inh": ("gain", 0.30, 0.05),
    "gm_exc": ("gain", 0.23, 0.05),
    "gm_inh": ("gain", 0.24, 0.05),
    "ota_offset_exc": ("offset", 12.3, 0.0),
    "ota_offset_inh": ("offset", 11.1, 0.0),
    "e_rev_exc": ("offset", 20.0, 5.0),
    "e_rev_inh": ("offset", 20.0, 5.0),
    "coba_exc": ("gain", 0.10, 0.03),
    "coba_inh": ("gain", 0.10, 0.03),
    "i_offset": ("gain", 0.10, 0.03),
    "adaptation_a": ("gain", 0.15, 0.03),
    "adaptation_b": ("gain", 0.15, 0.03),
    "adaptation_tau": ("gain", 0.15, 0.03),
    "adaptation_v_ref": ("offset", 20.0, 5.0),
    "exponential_i": ("gain", 0.20, 0.05),
    "exponential_v": ("offset", 20.0, 5.0),
    "exponential_slope": ("gain", 0.10, 0.02),
}
SYNAPSE_WEIGHT_SD = 0.05            # per synapse, lognormal
SYNAPSE_DAC_QUADRANT_SD = 0.08      # per quadrant, lognormal
CORRELATION_AMPLITUDE_SD = (0.20, 0.10)   # per synapse, per quadrant
CORRELATION_TAU_SD = (0.15, 0.10)
CADC_CHANNEL_OFFSET_SD_LSB = 10.0
CADC_CHANNEL_GAIN_SD = 0.02
CADC_RAMP_OFFSET_SD_MV = 10.0
CADC_SLOPE_SD = 0.03
CORRELATION_RESET_SD_MV = 5.0
MADC_OFFSET_SD_CODES = 5.0
MADC_GAIN_SD = 0.02


def quadrant_of_neuron():
    """Quadrant index (0..3) of each of the 512 neurons: hemisphere * 2 + column // 128."""
    n = np.arange(C.NUM_NEURONS)
    hemisphere, column = np.divmod(n, C.COLUMNS_PER_HEMISPHERE)
    return hemisphere * 2 + column // C.NEURONS_PER_QUADRANT


class Mismatch:
    """Per-instance deviations of one chip, drawn from its integer seed.

    Each quantity has its own random stream (seeded by chip seed and name), so
    adding a quantity never changes the others.  `ideal=True` gives unit gains
    and zero offsets everywhere.
    """

    def __init__(self, seed, ideal=False):
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"chip seed: value {seed!r} is not allowed; allowed range is "
                             f"integers 0..2**63-1")
        self.seed = int(seed)
        self.ideal = bool(ideal)
        quadrant = quadrant_of_neuron()
        self.neuron = {}
        for name, (kind, sd, sd_q) in MISMATCH_SD.items():
            if self.ideal:
                values = np.zeros(C.NUM_NEURONS)
            else:
                rng = self._rng(name)
                values = rng.normal(0.0, sd, C.NUM_NEURONS) + rng.normal(
                    0.0, sd_q, C.NUM_QUADRANTS)[quadrant]
            self.neuron[name] = np.exp(values) if kind == "gain" else values
        syn_shape = (C.NUM_HEMISPHERES, C.ROWS_PER_HEMISPHERE, C.COLUMNS_PER_HEMISPHERE)
        self.synapse_weight_gain = self._lognormal("synapse_weight", SYNAPSE_WEIGHT_SD, syn_shape)
        self.synapse_dac_gain = self._lognormal("synapse_dac", SYNAPSE_DAC_QUADRANT_SD,
                                                C.NUM_QUADRANTS)
        col_quadrant = quadrant.reshape(C.NUM_HEMISPHERES, C.COLUMNS_PER_HEMISPHERE)
        self.correlation_gain = {}
        for branch in ("causal", "acausal"):
            for what, (sd, sd_q) in (("amplitude", CORRELATION_AMPLITUDE_SD),
                                     ("tau", CORRELATION_TAU_SD)):
                per_syn = self._lognormal(f"corr_{branch}_{what}", sd, syn_shape)
                per_q = self._lognormal(f"corr_{branch}_{what}_q", sd_q, C.NUM_QUADRANTS)
                self.correlation_gain[branch, what] = (
                    per_syn * per_q[col_quadrant][:, None, :])
        self.correlation_reset_offset = self._normal("corr_reset", CORRELATION_RESET_SD_MV,
                                                     C.NUM_QUADRANTS)
        ch_shape = (C.NUM_HEMISPHERES, 2, C.COLUMNS_PER_HEMISPHERE)
        self.cadc_channel_offset = self._normal("cadc_channel_offset",
                                                CADC_CHANNEL_OFFSET_SD_LSB, ch_shape)
        self.cadc_channel_gain = self._lognormal("cadc_channel_gain", CADC_CHANNEL_GAIN_SD,
                                                 ch_shape)
        self.cadc_ramp_offset = self._normal("cadc_ramp_offset", CADC_RAMP_OFFSET_SD_MV,
                                             C.NUM_QUADRANTS)
        self.cadc_slope_gain = self._lognormal("cadc_slope", CADC_SLOPE_SD, C.NUM_QUADRANTS)
        self.madc_offset = float(self._normal("madc_offset", MADC_OFFSET_SD_CODES, 1)[0])
        self.madc_gain = float(self._lognormal("madc_gain", MADC_GAIN_SD, 1)[0])

    def _rng(self, name):
        return np.random.default_rng([self.seed, zlib.crc32(name.encode())])

    def _normal(self, name, sd, shape):
        if self.ideal:
            return np.zeros(shape)
        return self._rng(name).normal(0.0, sd, shape)

    def _lognormal(self, name, sd, shape):
        return np.exp(self._normal(name, sd, shape))


def _potential(capmem, offset=0.0):
    return np.clip(POTENTIAL_OFFSET_MV + POTENTIAL_SLOPE_MV * capmem + offset, 0.0, SUPPLY_MV)


def _reversal(capmem, offset=0.0):
    return np.clip(REVERSAL_OFFSET_MV + REVERSAL_SLOPE_MV * capmem + offset, 0.0, SUPPLY_MV)


def neuron_parameters(config, mismatch, dt):
    """Physical per-neuron parameters (float32 arrays of 512) for the kernel.

    `config` is a ChipConfig, `dt` the integration step in us.
    """
    nc = config.neurons
    mm = mismatch.neuron
    f = {}
    f["e_leak"] = _potential(nc.leak_v_leak, mm["v_leak"])
    leak_factor = np.where(nc.leak_enable_multiplication, LEAK_SWITCH_FACTOR, 1.0) / np.where(
        nc.leak_enable_division, LEAK_SWITCH_FACTOR, 1.0)
    f["g_leak"] = LEAK_CONDUCTANCE_PER_LSB_US * nc.leak_i_bias * leak_factor * mm["g_leak"]
    capacitance = (MEMBRANE_CAPACITANCE_FULL_PF * (nc.membrane_capacitance_capacitance + 1)
                   / (C.MEMBRANE_CAPACITANCE_MAX + 1) * mm["capacitance"])
    f["inv_c"] = 1.0 / capacitance
    f["e_reset"] = _potential(nc.reset_v_reset, mm["v_reset"])
    f["v_thresh"] = THRESHOLD_OFFSET_MV + THRESHOLD_SLOPE_MV * nc.threshold_v_threshold + mm[
        "v_threshold"]
    f["thresh_on"] = nc.threshold_enable.astype(float)
    scaler = config.refractory_clock_scaler[nc.refractory_period_input_clock]
    f["t_ref"] = (nc.refractory_period_refractory_time * 2.0 ** (scaler + 1)
                  / C.REFRACTORY_BASE_CLOCK_MHZ)
    for receptor, short in (("excitatory", "e"), ("inhibitory", "i")):
        tag = "exc" if short == "e" else "inh"
        enabled = getattr(nc, f"{receptor}_input_enable")
        small = getattr(nc, f"{receptor}_input_enable_small_capacitance")
        high_r = getattr(nc, f"{receptor}_input_enable_high_resistance")
        bias_tau = np.maximum(getattr(nc, f"{receptor}_input_i_bias_tau"), 0.5)
        tau = (TAU_SYN_REF_US * (TAU_SYN_REF_BIAS[receptor] / bias_tau) ** TAU_SYN_EXPONENT
               * mm[f"tau_syn_{tag}"]
               * np.where(small, SMALL_CAPACITANCE_FACTOR, 1.0)
               * np.where(high_r, HIGH_RESISTANCE_FACTOR, 1.0))
        decay = np.exp(-dt / tau)
        f[f"decay_{short}"] = decay
        f[f"mean_{short}"] = tau * -np.expm1(-dt / tau) / dt
        f[f"inv_tau_{short}"] = 1.0 / tau
        f[f"jump_{short}"] = np.where(small, 1.0 / SMALL_CAPACITANCE_FACTOR, 1.0)
        gm = (GM_PER_LSB_US[receptor] * getattr(nc, f"{receptor}_input_i_bias_gm")
              * mm[f"gm_{tag}"])
        f[f"gm_{short}"] = np.where(enabled, gm, 0.0)
        f[f"uoff_{short}"] = (NOMINAL_OTA_OFFSET_MV[receptor] + mm[f"ota_offset_{tag}"]
                              - SHIFT_PER_LSB_MV * getattr(nc, f"{receptor}_input_i_shift_reference"))
        coba = getattr(nc, f"{receptor}_input_enable_coba_mode")
        bias_coba = np.maximum(getattr(nc, f"{receptor}_input_i_bias_coba"), 0.5)
        f[f"k_coba_{short}"] = np.where(
            coba, bias_coba / COBA_NORM_NUMERATOR_MV * mm[f"coba_{tag}"], 0.0)
        f[f"cuba_{short}"] = np.where(coba, 0.0, 1.0)
        f[f"e_rev_{short}"] = _reversal(getattr(nc, f"{receptor}_input_v_rev_coba"),
                                        mm[f"e_rev_{tag}"])
    f["i_offset"] = offset_current(nc.constant_current_i_offset, mismatch) * nc.constant_current_enable
    adapt = nc.adaptation_enable
    f["a"] = np.where(adapt, ADAPTATION_A_PER_LSB_US * nc.adaptation_i_bias_a
                      * mm["adaptation_a"] * np.where(nc.adaptation_invert_a, -1.0, 1.0), 0.0)
    f["b"] = np.where(adapt, ADAPTATION_B_PER_LSB_NA * nc.adaptation_i_bias_b
                      * mm["adaptation_b"] * np.where(nc.adaptation_invert_b, -1.0, 1.0), 0.0)
    tau_w = (ADAPTATION_TAU_NUMERATOR_US / np.maximum(nc.adaptation_i_bias_tau, 0.5)
             * mm["adaptation_tau"])
    f["decay_w"] = np.exp(-dt / tau_w)
    f["e_adapt"] = _potential(nc.adaptation_v_ref, mm["adaptation_v_ref"])
    f["i_t"] = np.where(nc.exponential_enable, EXPONENTIAL_CURRENT_PER_LSB_NA
                        * nc.exponential_i_bias * mm["exponential_i"], 0.0)
    f["v_t"] = _potential(nc.exponential_v_exp, mm["exponential_v"])
    f["inv_d_t"] = 1.0 / (EXPONENTIAL_SLOPE_MV * mm["exponential_slope"])
    uniform_sd = np.sqrt(1.0 / 12.0)
    f["noise"] = np.full(C.NUM_NEURONS, 0.0 if mismatch.ideal else
                         MEMBRANE_NOISE_DENSITY_NA_SQRT_US / np.sqrt(dt) / uniform_sd)
    f["dt"] = np.full(C.NUM_NEURONS, dt)
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in f.items()}


def offset_current(capmem, mismatch, neurons=slice(None)):
    """Offset current in nA of `neurons` for CapMem value(s) `capmem`."""
    return OFFSET_CURRENT_PER_LSB_NA * np.asarray(capmem) * mismatch.neuron["i_offset"][neurons]


def synapse_step_per_weight(config, mismatch):
    """Synaptic-line voltage step (mV) per weight LSB of every synapse, [2, rows,
    columns] (float32): its DAC's per column, times the synapse's own gain."""
    quadrant = quadrant_of_neuron().reshape(C.NUM_HEMISPHERES, C.COLUMNS_PER_HEMISPHERE)
    dac = (SYNAPSE_STEP_PER_DAC_LSB_MV * config.quadrants.synapse_dac_bias
           * mismatch.synapse_dac_gain)[quadrant]            # (2, 256) per column
    # one pass into float32, without a float64 temporary as large
    return np.multiply(mismatch.synapse_weight_gain, dac[:, None, :],
                       out=np.empty(mismatch.synapse_weight_gain.shape, np.float32),
                       casting="same_kind")


def correlation_reset_mv(config, mismatch):
    """The correlation sensors' reset voltage (mV) per quadrant."""
    return _potential(config.quadrants.correlation_v_res_meas, mismatch.correlation_reset_offset)


def correlation_parameters(config, mismatch, out):
    """Write the sensors' per-column amplitude (mV per pair) and rate (1/tau,
    1/us), which the quadrants' biases set, and their saturation level (mV)
    into the engine's per-neuron arrays of `out` ("amplitude", "rate",
    "saturation", [512]); each synapse's sensor scales its column's amplitude
    and rate by its own factors (correlation_synapse_gains)."""
    q = config.quadrants
    quadrant = quadrant_of_neuron()
    tau = CORRELATION_TAU_REF_US * (CORRELATION_TAU_REF_BIAS / np.maximum(
        q.correlation_i_bias_tau, 0.5)) ** CORRELATION_TAU_EXPONENT
    out["amplitude"][...] = (CORRELATION_AMPLITUDE_PER_LSB_MV
                             * q.correlation_i_bias_amplitude)[quadrant]
    out["rate"][...] = (1.0 / tau)[quadrant]
    out["saturation"][...] = np.maximum(
        correlation_reset_mv(config, mismatch)[quadrant] - CORRELATION_FLOOR_MV, 1.0)


def correlation_synapse_gains(mismatch, out):
    """Write each synapse sensor's fixed-pattern factors of its column's
    amplitude and rate into the arrays of `out` in the engine's layouts:
    amp_acausal and rate_acausal [2, rows, columns], amp_causal and
    rate_causal column-major [2, columns, rows]."""
    for branch in ("causal", "acausal"):
        # the causal branch column-major: through transposed views
        layout = (0, 2, 1) if branch == "causal" else (0, 1, 2)
        out[f"amp_{branch}"][...] = np.transpose(
            mismatch.correlation_gain[branch, "amplitude"], layout)
        out[f"rate_{branch}"][...] = np.transpose(
            1.0 / mismatch.correlation_gain[branch, "tau"], layout)
