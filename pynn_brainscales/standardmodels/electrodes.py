"""Current sources: realised through each neuron's offset current, rewritten
(as a CapMem value) wherever the injected current changes."""
import numpy as np
from pyNN.parameters import LazyArray, ParameterSpace, Sequence
from pyNN.standardmodels import build_translations, electrodes

from cython_core import constants as C

from .. import simulator


class _Source:
    """Piecewise-constant current into a set of chip neurons."""

    def __init__(self, **parameters):
        object.__setattr__(self, "_slots", np.zeros(0, np.int64))
        object.__setattr__(self, "_params", {
            k: (v.value if isinstance(v, Sequence) else v)
            for k, v in self.default_parameters.items()})
        object.__setattr__(self, "_recording", False)
        super().__init__(**parameters)
        if parameters:
            self.set_parameters(**parameters)
        simulator.state.current_sources.append(self)

    def set_native_parameters(self, parameters):
        parameters.evaluate(simplify=True)
        params = dict(self._params)
        for name, value in parameters.items():
            params[name] = value.value if isinstance(value, Sequence) else value
        object.__setattr__(self, "_params", self._checked(params))

    def _checked(self, params):
        return params

    def record(self):
        """Record the injected current (reconstructed from the source's definition)."""
        object.__setattr__(self, "_recording", True)

    def get_native_parameters(self):
        return ParameterSpace({k: (Sequence(v) if isinstance(v, np.ndarray) else v)
                               for k, v in self._params.items()}, self.get_schema(), (1,))

    def get_parameters(self):
        """Scalars as numbers, step times and amplitudes as arrays (lazily)."""
        return {k: (LazyArray(np.asarray(v, float), shape=np.shape(v))
                    if isinstance(v, np.ndarray) else v) for k, v in self._params.items()}

    def inject_into(self, cells):
        ids = cells.all_cells if hasattr(cells, "all_cells") else list(cells)
        if any(getattr(id.parent, "is_source", False) for id in ids):
            raise TypeError("current sources can only be injected into neurons, "
                            "not into spike sources")
        object.__setattr__(self, "_slots", np.concatenate(
            [self._slots, simulator.slots_of(ids)]))

    def amplitude_at(self, t):
        out = np.zeros(C.NUM_NEURONS)
        out[self._slots] += self.value_at(t)
        return out

    def _get_data(self):
        t = np.arange(0.0, simulator.state.t + simulator.state.dt / 2, simulator.state.dt)
        return t, np.array([self.value_at(x) for x in t])


class DCSource(_Source, electrodes.DCSource):
    __doc__ = electrodes.DCSource.__doc__
    translations = build_translations(("amplitude", "amplitude"), ("start", "start"),
                                      ("stop", "stop"))

    def value_at(self, t):
        p = self._params
        return p["amplitude"] if p["start"] <= t < p["stop"] else 0.0

    def lower_bound(self):
        return float(self._params["amplitude"])

    def change_times(self, t0, t1):
        return [self._params["start"], self._params["stop"]]


class StepCurrentSource(_Source, electrodes.StepCurrentSource):
    __doc__ = electrodes.StepCurrentSource.__doc__
    translations = build_translations(("amplitudes", "amplitudes"), ("times", "times"))

    def _checked(self, params):
        """Times must be >= 0 and increasing; they are put on the time-step grid,
        and of several steps landing on one grid point the last wins."""
        times = np.asarray(params["times"], float)
        amps = np.asarray(params["amplitudes"], float)
        if times.shape != amps.shape:
            raise ValueError(f"StepCurrentSource: {times.size} times but {amps.size} amplitudes")
        if np.any(times < 0):
            raise ValueError(f"StepCurrentSource.times: value {times[times < 0][0]} ms is "
                             f"negative; times must be >= 0")
        if np.any(np.diff(times) <= 0):
            raise ValueError("StepCurrentSource.times must increase monotonically")
        dt = simulator.state.dt
        grid = np.round(times / dt) * dt
        keep = np.r_[np.diff(grid) > dt / 2, True] if grid.size else np.zeros(0, bool)
        return {**params, "times": grid[keep], "amplitudes": amps[keep]}

    def value_at(self, t):
        times = np.asarray(self._params["times"], float)
        amps = np.asarray(self._params["amplitudes"], float)
        k = np.searchsorted(times, t, side="right") - 1
        return float(amps[k]) if k >= 0 else 0.0

    def change_times(self, t0, t1):
        return list(np.asarray(self._params["times"], float))

    def lower_bound(self):
        amps = np.asarray(self._params["amplitudes"], float)
        return float(amps.min()) if amps.size else 0.0


class ACSource(_Source, electrodes.ACSource):
    __doc__ = electrodes.ACSource.__doc__
    translations = build_translations(("amplitude", "amplitude"), ("start", "start"),
                                      ("stop", "stop"), ("frequency", "frequency"),
                                      ("offset", "offset"), ("phase", "phase"))

    def value_at(self, t):
        p = self._params
        if not p["start"] <= t < p["stop"]:
            return 0.0
        # the phase holds at the start time
        return p["offset"] + p["amplitude"] * np.sin(
            2 * np.pi * p["frequency"] * (t - p["start"]) / 1000.0 + np.deg2rad(p["phase"]))

    def lower_bound(self):
        return float(self._params["offset"] - abs(self._params["amplitude"]))

    def change_times(self, t0, t1):
        # sampled on the time step
        dt = simulator.state.dt
        return list(np.arange(np.ceil(t0 / dt) * dt, t1, dt)) + [self._params["start"],
                                                                 self._params["stop"]]


class NoisyCurrentSource(_Source, electrodes.NoisyCurrentSource):
    __doc__ = electrodes.NoisyCurrentSource.__doc__
    translations = build_translations(("mean", "mean"), ("start", "start"), ("stop", "stop"),
                                      ("stdev", "stdev"), ("dt", "dt"))

    def value_at(self, t):
        p = self._params
        if not p["start"] <= t < p["stop"]:
            return 0.0
        step = int(np.floor((t - p["start"]) / p["dt"] + 1e-9))
        index = simulator.state.current_sources.index(self)
        rng = np.random.default_rng([simulator.state.seed or 0, index, step])
        return p["mean"] + p["stdev"] * rng.standard_normal()

    def change_times(self, t0, t1):
        p = self._params
        return list(np.arange(p["start"], min(t1, p["stop"]), p["dt"])) + [p["stop"]]

    def lower_bound(self):
        # Gaussian noise: room for 6 standard deviations below the mean
        return float(self._params["mean"] - 6.0 * self._params["stdev"])
