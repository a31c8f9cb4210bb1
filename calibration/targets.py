"""Calibration targets as data: scalars or one value per neuron, validated
against what the calibration can reach [calix]."""
import hashlib
import json
from dataclasses import asdict, dataclass, fields

import numpy as np

from cython_core import constants as C

# name: (unit, low, high) of what the calibration can reach [calix]
FEASIBLE = {
    "leak": ("CADC LSB", 50.0, 160.0),
    "reset": ("CADC LSB", 50.0, 160.0),
    "threshold": ("CADC LSB", 50.0, 220.0),
    "tau_mem": ("us", 0.5, 60.0),
    "tau_syn_exc": ("us", 0.3, 30.0),
    "tau_syn_inh": ("us", 0.3, 30.0),
    "refractory": ("us", 0.04, 32.0),
    "i_synin_gm_exc": ("CapMem LSB", 30.0, 800.0),
    "i_synin_gm_inh": ("CapMem LSB", 30.0, 800.0),
    "synapse_dac_bias": ("CapMem LSB", 30.0, 1022.0),
    "e_rev_exc": ("CADC LSB", 10.0, 220.0),
    "e_rev_inh": ("CADC LSB", 10.0, 220.0),
    "adaptation_tau": ("us", 5.0, 1000.0),
    "adaptation_a": ("uS", -0.2, 0.2),
    "adaptation_b": ("nA", -80.0, 80.0),
    "exponential_v_t": ("CADC LSB", 55.0, 200.0),
    "correlation_amplitude": ("CADC LSB per pair", 0.2, 2.0),
    "correlation_tau": ("us", 2.0, 30.0),
}
CHIP_WIDE = ("synapse_dac_bias",)
# the correlation sensors' biases are per quadrant: one value, or one per quadrant
PER_QUADRANT = ("correlation_amplitude", "correlation_tau")


class InfeasibleTargetError(ValueError):
    """A target outside what the calibration can reach."""


def _infeasible(name, value):
    """The error for target `name`'s infeasible `value`, with its range."""
    unit, low, high = FEASIBLE[name]
    return InfeasibleTargetError(f"target {name}: value {value} {unit} is not feasible; "
                                 f"feasible range is {low}..{high} {unit}")


@dataclass
class Targets:
    """Defaults: calix's (leak 80, reset 70, threshold 125 CADC LSB; tau_m and
    tau_syn 10 us; refractory 2 us; synaptic gm bias 500; synapse DAC bias 600)."""
    leak: object = 80.0
    reset: object = 70.0
    threshold: object = 125.0
    tau_mem: object = 10.0
    tau_syn_exc: object = 10.0
    tau_syn_inh: object = 10.0
    refractory: object = 2.0
    i_synin_gm_exc: object = 500.0
    i_synin_gm_inh: object = 500.0
    synapse_dac_bias: object = 600.0
    e_rev_exc: object = 150.0
    e_rev_inh: object = 40.0
    adaptation_tau: object = 100.0
    adaptation_a: object = 0.02
    adaptation_b: object = 2.0
    exponential_v_t: object = 115.0
    correlation_amplitude: object = 0.5
    correlation_tau: object = 5.0

    def __post_init__(self):
        for f in fields(self):
            value = getattr(self, f.name)
            _, low, high = FEASIBLE[f.name]
            if type(value) in (int, float):
                # a plain number, checked without numpy (its reductions took
                # ~0.3 ms of the 18 defaults)
                if not low <= value <= high:            # NaN fails too
                    raise _infeasible(f.name, float(value))
                setattr(self, f.name, float(value))
                continue
            value = np.asarray(value, dtype=float)
            if f.name in CHIP_WIDE and value.ndim:
                raise InfeasibleTargetError(f"target {f.name}: one value for the chip")
            count = C.NUM_QUADRANTS if f.name in PER_QUADRANT else C.NUM_NEURONS
            if value.ndim > 1 or (value.ndim == 1 and value.shape != (count,)):
                raise InfeasibleTargetError(
                    f"target {f.name}: shape {value.shape}; give a scalar or {count} values")
            # two reductions (NaN fails both comparisons), the search for the
            # message only where they found a value outside
            lowest, highest = (value.min(), value.max()) if value.size else (low, high)
            if not (np.isfinite(lowest) and np.isfinite(highest)
                    and low <= lowest and highest <= high):
                bad = ~np.isfinite(value) | (value < low) | (value > high)
                raise _infeasible(f.name, np.atleast_1d(value)[np.atleast_1d(bad)][0])
            setattr(self, f.name, value if value.ndim else float(value))

    def per_neuron(self, name):
        return np.broadcast_to(np.asarray(getattr(self, name), float), (C.NUM_NEURONS,))

    def digest(self):
        """A short key of all the targets' values (cheaper than to_json for
        in-memory lookups: the per-neuron arrays are hashed as bytes)."""
        h = hashlib.blake2b(digest_size=16)
        for f in fields(self):
            value = np.asarray(getattr(self, f.name), float)
            h.update(f"{f.name}{value.shape}".encode())
            h.update(value.tobytes())
        return h.digest()

    def to_json(self):
        return json.dumps({k: (v.tolist() if isinstance(v, np.ndarray) else v)
                           for k, v in asdict(self).items()}, sort_keys=True)

    @classmethod
    def from_json(cls, text):
        data = json.loads(text)
        unknown = set(data) - {f.name for f in fields(cls)}
        if unknown:
            raise KeyError(f"unknown calibration target(s) {sorted(unknown)}; known: "
                           f"{sorted(f.name for f in fields(cls))}")
        return cls(**data)
