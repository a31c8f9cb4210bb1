"""The configuration a chip holds: CapMem cells, switches, synapse SRAM, routing.

Every field is declared once in a table with its allowed range; all writes go
through :func:`check_range`, and :meth:`ChipConfig.validate` checks the whole
configuration again before a run (arrays are numpy and may be edited in place).
"""
from dataclasses import dataclass

import numpy as np

from . import constants as C


class ConfigurationError(ValueError):
    """A configuration value outside what the hardware can hold."""


def _show(value):
    """A value as a user wrote it: 5000 rather than 5000.0."""
    value = value.item() if isinstance(value, np.generic) else value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return repr(value) if isinstance(value, str) else str(value)


def check_range(field, value, low, high, integer=True, high_exclusive=False):
    """Raise ConfigurationError naming `field` when `value` leaves [low, high]
    (or [low, high) with `high_exclusive`)."""
    if type(value) in (int, float) and (low <= value < high if high_exclusive
                                         else low <= value <= high):
        if not integer or float(value).is_integer():
            return                                  # a plain scalar in range: no numpy
    arr = np.asarray(value)
    if arr.dtype == bool:
        return
    if arr.size == 0:
        return
    if not np.issubdtype(arr.dtype, np.number):
        raise ConfigurationError(
            f"{field}: value {value!r} is not numeric; allowed range is {low}..{high}")
    lowest, highest = arr.min(), arr.max()       # NaN propagates into both
    if (lowest >= low and (highest < high if high_exclusive else highest <= high)
            and not (integer and np.issubdtype(arr.dtype, np.floating)
                     and np.any(arr != np.round(arr)))):
        return                                      # the common case: all in range
    if np.issubdtype(arr.dtype, np.floating):
        bad = ~np.isfinite(arr)
        if bad.any():
            raise ConfigurationError(
                f"{field}: value {arr[bad].flat[0]} is not finite; allowed range is {low}..{high}")
        if integer and np.any(arr != np.round(arr)):
            frac = arr[arr != np.round(arr)].flat[0]
            raise ConfigurationError(
                f"{field}: value {frac} is not an integer; allowed range is {low}..{high}")
    out = (arr < low) | ((arr >= high) if high_exclusive else (arr > high))
    if out.any():
        idx = np.argwhere(out)[0]
        where = f" at index {tuple(int(i) for i in idx)}" if arr.ndim else ""
        raise ConfigurationError(
            f"{field}: value {_show(arr[tuple(idx)] if arr.ndim else arr.item())}{where} is "
            f"out of range; allowed range is {_show(low)}..{_show(high)}"
            + (" (exclusive)" if high_exclusive else ""))


@dataclass(frozen=True)
class Field:
    """One configurable quantity: its range and its default.  `analog` marks a
    CapMem cell: an ideal chip accepts fractional values there."""
    low: int
    high: int
    default: int
    boolean: bool = False
    analog: bool = False


def _capmem(default):
    return Field(0, C.CAPMEM_MAX, default, analog=True)


def _switch(default):
    return Field(0, 1, int(default), boolean=True)


# Per-neuron fields, named <circuit member>_<field> as in the BSS-2 software.
# Defaults form a silent neuron near calix's default operating point: leak ~80,
# reset ~70, threshold ~125 CADC LSB, tau_m ~10 us, synaptic inputs and the
# threshold comparator switched off.
NEURON_FIELDS = {
    "leak_v_leak": _capmem(620),
    "leak_i_bias": _capmem(95),
    "leak_enable_division": _switch(False),
    "leak_enable_multiplication": _switch(False),
    "reset_v_reset": _capmem(575),
    "threshold_v_threshold": _capmem(315),
    "threshold_enable": _switch(False),
    "membrane_capacitance_capacitance": Field(0, C.MEMBRANE_CAPACITANCE_MAX, 63),
    "refractory_period_refractory_time": Field(0, C.REFRACTORY_COUNTER_MAX, 250),
    "refractory_period_input_clock": Field(0, 1, 0),
    "constant_current_enable": _switch(False),
    "constant_current_i_offset": _capmem(0),
    "adaptation_enable": _switch(False),
    "adaptation_v_ref": _capmem(620),
    "adaptation_i_bias_a": _capmem(0),
    "adaptation_i_bias_b": _capmem(0),
    "adaptation_i_bias_tau": _capmem(100),
    "adaptation_invert_a": _switch(False),
    "adaptation_invert_b": _switch(False),
    "exponential_enable": _switch(False),
    "exponential_v_exp": _capmem(400),
    "exponential_i_bias": _capmem(0),
    "event_routing_enable_digital": _switch(True),
    "event_routing_label": Field(0, C.EVENT_LABEL_MAX, 0),
    "event_routing_enable_recurrent": _switch(False),
    # bypass circuits: an event reaching the input through a synapse with a
    # nonzero weight makes the neuron spike at once, whatever its membrane
    "event_routing_enable_bypass_excitatory": _switch(False),
    "event_routing_enable_bypass_inhibitory": _switch(False),
}
for _receptor, _shift in (("excitatory", 314), ("inhibitory", 294)):
    NEURON_FIELDS.update({
        f"{_receptor}_input_enable": _switch(False),
        f"{_receptor}_input_i_bias_tau": _capmem(50),
        f"{_receptor}_input_i_bias_gm": _capmem(500),
        f"{_receptor}_input_i_shift_reference": _capmem(_shift),
        f"{_receptor}_input_enable_small_capacitance": _switch(False),
        f"{_receptor}_input_enable_high_resistance": _switch(False),
        f"{_receptor}_input_enable_coba_mode": _switch(False),
        f"{_receptor}_input_v_rev_coba": _capmem(833 if _receptor == "excitatory" else 250),
        f"{_receptor}_input_i_bias_coba": _capmem(500),
    })

# Per-quadrant global CapMem cells.
QUADRANT_FIELDS = {
    "synapse_dac_bias": _capmem(600),
    "correlation_i_bias_amplitude": _capmem(250),
    "correlation_i_bias_tau": _capmem(500),
    "correlation_v_res_meas": _capmem(900),
    "cadc_v_ramp_offset": _capmem(120),
    "cadc_i_ramp_slope": _capmem(300),
}

# Per background generator (8 on the chip).
GENERATOR_FIELDS = {
    "enable": _switch(False),
    "random": _switch(True),          # Poisson if set, regular otherwise
    "period": Field(1, 65535, 1000),  # mean inter-spike interval in 250 MHz cycles
    "label": Field(0, C.EVENT_LABEL_MAX, 0),
    # label bits drawn at random per event (the low 8 bits of the label at most):
    # one generator then serves several sources, one per address
    "mask": Field(0, 255, 0),
    "seed": Field(0, 2**31 - 1, 0),
}


STP_TAU_MAX_US = 1e7           # short-term plasticity time constants (emulator model)


# --- the refractory counter: 8 bit, on a 250 MHz clock divided by 2**(scaler+1) ---
FAST_REFRACTORY_SCALER = 0     # 8 ns ticks: up to 2.04 us


def refractory_tick(scaler):
    """One count of the refractory counter (us) on the clock with `scaler`."""
    return 2.0 ** (scaler + 1) / C.REFRACTORY_BASE_CLOCK_MHZ


def refractory_reach():
    """The longest refractory period (us): full count on the slowest clock."""
    return refractory_tick(C.REFRACTORY_CLOCK_SCALER_MAX) * C.REFRACTORY_COUNTER_MAX


def slowest_needed_scaler(longest_us, minimum=4):
    """The finest slow-clock scaler (>= minimum) whose full count reaches `longest_us`."""
    for scaler in range(minimum, C.REFRACTORY_CLOCK_SCALER_MAX + 1):
        if refractory_tick(scaler) * C.REFRACTORY_COUNTER_MAX >= longest_us:
            return scaler
    return C.REFRACTORY_CLOCK_SCALER_MAX


def refractory_setting(target_us, slow_scaler):
    """Counts and clock selects (0 fast, 1 slow) for refractory periods in us:
    the fast clock where its 255 counts suffice, the slow one beyond."""
    target = np.asarray(target_us, float)
    fast_tick = refractory_tick(FAST_REFRACTORY_SCALER)
    slow = target > fast_tick * C.REFRACTORY_COUNTER_MAX
    counts = np.rint(np.where(slow, target / refractory_tick(slow_scaler), target / fast_tick))
    return np.clip(counts, 0, C.REFRACTORY_COUNTER_MAX).astype(np.int64), slow.astype(np.int64)


class _Table:
    """Arrays of one entity kind (neurons, quadrants, generators), one per field.

    CapMem cells are stored as float64: on an ideal chip (`integer_capmem`
    False) they may hold fractional values; on a real chip they must be integers.
    """

    def __init__(self, kind, fields, count, integer_capmem=True):
        object.__setattr__(self, "_kind", kind)
        object.__setattr__(self, "_fields", fields)
        object.__setattr__(self, "_count", count)
        object.__setattr__(self, "_integer_capmem", integer_capmem)
        for name, field in fields.items():
            dtype = bool if field.boolean else (np.float64 if field.analog else np.int64)
            object.__setattr__(self, name, np.full(count, field.default, dtype=dtype))

    def __setattr__(self, name, value):
        self.set(name, value)

    def names(self):
        return list(self._fields)

    def set(self, name, value, index=None):
        """Write `value` to field `name` for `index` (default: all), validated."""
        if name not in self._fields:
            raise KeyError(f"unknown {self._kind} field {name!r}; known fields: "
                           f"{', '.join(sorted(self._fields))}")
        field = self._fields[name]
        label = f"{self._kind}.{name}"
        if index is not None:
            idx = np.asarray(index)
            if idx.dtype == bool:
                if idx.shape != (self._count,):
                    raise ConfigurationError(
                        f"{label}: boolean index of shape {idx.shape} must have shape "
                        f"({self._count},)")
            else:
                check_range(f"{label} index", idx, 0, self._count - 1)
        check_range(label, value, field.low, field.high, integer=self._integer(field))
        arr = getattr(self, name)
        if index is None:
            arr[...] = value
        else:
            arr[index] = value

    def _integer(self, field):
        return self._integer_capmem or not field.analog

    def validate(self):
        if self._all_valid():
            return
        for name, field in self._fields.items():
            arr = getattr(self, name)
            if arr.shape != (self._count,):
                raise ConfigurationError(
                    f"{self._kind}.{name}: shape {arr.shape} must be ({self._count},)")
            check_range(f"{self._kind}.{name}", arr, field.low, field.high,
                        integer=self._integer(field))

    def _all_valid(self):
        """Whether every field is in its range at once (one stacked comparison);
        on False, validate() looks field by field for the message."""
        numeric = [(n, f) for n, f in self._fields.items() if not f.boolean]
        arrays = [getattr(self, n) for n, _ in numeric]
        if any(np.shape(a) != (self._count,) for a in arrays):
            return False
        if not arrays:
            return True
        stack = np.array(arrays, dtype=np.float64)
        low = np.array([f.low for _, f in numeric], float)[:, None]
        high = np.array([f.high for _, f in numeric], float)[:, None]
        integer = np.array([self._integer(f) for _, f in numeric])
        whole = stack[integer]
        return bool(np.all((stack >= low) & (stack <= high))
                    and np.all(whole == np.round(whole)))

    def copy_from(self, other):
        for name in self._fields:
            getattr(self, name)[...] = getattr(other, name)


class SynapseArrays:
    """Synapse SRAM, row modes and driver label matching of both hemispheres.

    `weights` is float32 so that an ideal chip can hold non-integer weights; on a
    real chip every weight must be an integer 0..63.
    """

    def __init__(self):
        shape = (C.NUM_HEMISPHERES, C.ROWS_PER_HEMISPHERE, C.COLUMNS_PER_HEMISPHERE)
        self.weights = np.zeros(shape, dtype=np.float32)
        self.labels = np.zeros(shape, dtype=np.int64)
        self.row_modes = np.zeros(shape[:2], dtype=np.int64)
        self.driver_enable = np.zeros((C.NUM_HEMISPHERES, C.DRIVERS_PER_HEMISPHERE), dtype=bool)
        self.driver_row_select = np.zeros((C.NUM_HEMISPHERES, C.DRIVERS_PER_HEMISPHERE),
                                          dtype=np.int64)
        # short-term plasticity per row (the emulator's model of the drivers' STP):
        # utilisation U (0..1), recovery and facilitation time constants (us, 0 = off)
        rows = (C.NUM_HEMISPHERES, C.ROWS_PER_HEMISPHERE)
        self.stp_enable = np.zeros(rows, dtype=bool)
        self.stp_U = np.full(rows, 0.5)
        self.stp_tau_rec = np.full(rows, 100.0)
        self.stp_tau_facil = np.zeros(rows)

    def validate(self, integer_weights=True, weights=True):
        """Raise ConfigurationError where a value leaves its range; `weights`
        False leaves the weights to the caller (Chip loads them in one checked
        pass)."""
        if weights:
            check_range("synapses.weights", self.weights, 0, C.WEIGHT_MAX,
                        integer=integer_weights)
        check_range("synapses.labels", self.labels, 0, C.ADDRESS_MAX)
        check_range("synapses.row_modes", self.row_modes, C.ROW_DISABLED, C.ROW_INHIBITORY)
        check_range("synapses.driver_row_select", self.driver_row_select, 0, C.ROW_SELECT_MAX)
        check_range("synapses.stp_U", self.stp_U, 0.0, 1.0, integer=False)
        check_range("synapses.stp_tau_rec", self.stp_tau_rec, 0.0, STP_TAU_MAX_US, integer=False)
        check_range("synapses.stp_tau_facil", self.stp_tau_facil, 0.0, STP_TAU_MAX_US,
                    integer=False)
        for name in ("weights", "labels"):
            if getattr(self, name).shape != (2, 256, 256):
                raise ConfigurationError(f"synapses.{name}: shape must be (2, 256, 256)")

    def copy_from(self, other):
        for name in ("weights", "labels", "row_modes", "driver_enable", "driver_row_select",
                     "stp_enable", "stp_U", "stp_tau_rec", "stp_tau_facil"):
            getattr(self, name)[...] = getattr(other, name)


class ChipConfig:
    """The whole configuration of one chip.  `integer_capmem=False` (an ideal
    chip) lets CapMem cells hold fractional values."""

    def __init__(self, integer_capmem=True):
        self.integer_capmem = integer_capmem
        self.neurons = _Table("neurons", NEURON_FIELDS, C.NUM_NEURONS, integer_capmem)
        self.quadrants = _Table("quadrants", QUADRANT_FIELDS, C.NUM_QUADRANTS, integer_capmem)
        self.generators = _Table("generators", GENERATOR_FIELDS, C.NUM_BACKGROUND_GENERATORS)
        self.synapses = SynapseArrays()
        # Digital offset added to every CADC channel: [hemisphere, causal/acausal, column].
        self.cadc_channel_offsets = np.zeros(
            (C.NUM_HEMISPHERES, 2, C.COLUMNS_PER_HEMISPHERE), dtype=np.int64)
        self.refractory_clock_scaler = np.array([0, 4], dtype=np.int64)  # fast, slow
        self.correlation_sensors_enable = True
        # FPGA event loopback: a spike of neuron loopback_neurons[i] re-enters the
        # chip as an event with label loopback_labels[i] after loopback_delays[i] us
        self.loopback_neurons = np.zeros(0, dtype=np.int64)
        self.loopback_labels = np.zeros(0, dtype=np.int64)
        self.loopback_delays = np.zeros(0, dtype=np.float64)

    def validate(self, integer_weights=True, synapses=True):
        self.neurons.validate()
        self.quadrants.validate()
        self.generators.validate()
        if synapses:
            self.synapses.validate(integer_weights)
        check_range("cadc_channel_offsets", self.cadc_channel_offsets,
                    C.CADC_CHANNEL_OFFSET_MIN, C.CADC_CHANNEL_OFFSET_MAX)
        check_range("refractory_clock_scaler", self.refractory_clock_scaler,
                    0, C.REFRACTORY_CLOCK_SCALER_MAX)
        n = len(self.loopback_neurons)
        if not (len(self.loopback_labels) == n == len(self.loopback_delays)):
            raise ConfigurationError("loopback_neurons, loopback_labels and loopback_delays "
                                     "must have the same length")
        check_range("loopback_neurons", self.loopback_neurons, 0, C.NUM_NEURONS - 1)
        check_range("loopback_labels", self.loopback_labels, 0, C.EVENT_LABEL_MAX)
        check_range("loopback_delays", self.loopback_delays, 0.0, 1e9, integer=False)

    def copy(self):
        new = ChipConfig(self.integer_capmem)
        new.neurons.copy_from(self.neurons)
        new.quadrants.copy_from(self.quadrants)
        new.generators.copy_from(self.generators)
        new.synapses.copy_from(self.synapses)
        new.cadc_channel_offsets[...] = self.cadc_channel_offsets
        new.refractory_clock_scaler[...] = self.refractory_clock_scaler
        new.correlation_sensors_enable = self.correlation_sensors_enable
        new.loopback_neurons = self.loopback_neurons.copy()
        new.loopback_labels = self.loopback_labels.copy()
        new.loopback_delays = self.loopback_delays.copy()
        return new
