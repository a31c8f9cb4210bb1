"""Plasticity rules of the native API: user programs for the chip's embedded
processors (PPUs), run at their timer's times inside the emulation.

On the real system a rule is C++ code for the PPU (`generate_kernel`).  Here a
rule is Python: subclass `PlasticityRule` and define

    def kernel(self, synapses, neurons, recording):
        ...

`synapses`: one `SynapseView` per projection whose synapse type holds the rule
(in order of creation); `neurons`: one `NeuronView` per population whose cell
type holds it; `recording`: set the rule's observables as attributes
(`recording.weights = ...`).  Vectorised numpy is the expected style: a view
reads and writes all of its projection's synapses at once, as the PPU's vector
unit does row by row.  Reads go through the chip's interfaces (CADC codes,
8-bit rate counters); writes are 6-bit weights.  Integration pauses while a
rule runs (the rule takes no emulated time).
"""
from dataclasses import dataclass
from enum import Enum

import numpy as np

from cython_core import PPUProgram, constants as C

from .. import plasticity as P

US_PER_MS = 1000.0


class Timer:
    """Periodic execution: at `start`, `start + period`, ... (`num_periods`
    times), hardware ms.  Further keyword parameters are kept in `parameters`."""

    def __init__(self, start, period, num_periods, **parameters):
        self.start = start
        self.period = period
        self.num_periods = num_periods
        self.parameters = parameters

    def __setattr__(self, name, value):
        if name in ("start", "period") and not (np.isfinite(value) and value >= 0):
            raise ValueError(f"Timer.{name}: value {value!r}; must be a time >= 0 ms")
        if name == "period" and value == 0:
            raise ValueError("Timer.period: value 0; must be > 0 ms")
        if name == "num_periods" and not (float(value).is_integer() and value >= 0):
            raise ValueError(f"Timer.num_periods: value {value!r}; must be an integer >= 0")
        super().__setattr__(name, value)

    def times(self):
        """Execution times, hardware ms."""
        return self.start + self.period * np.arange(int(self.num_periods))


class _Type(Enum):
    int8 = (np.int8, -128, 127)
    uint8 = (np.uint8, 0, 255)
    int16 = (np.int16, -32768, 32767)
    uint16 = (np.uint16, 0, 65535)


class ObservablePerSynapse:
    """One value per synapse of each of the rule's projections and execution.
    `layout_per_row` is the real PPU's memory layout; here the data are arrays
    shaped like the projection's views ([pre, post])."""
    Type = _Type

    class LayoutPerRow(Enum):
        complete_rows = 0
        packed_active_columns = 1

    def __init__(self):
        self.type = self.Type.int8
        self.layout_per_row = self.LayoutPerRow.packed_active_columns


class ObservablePerNeuron:
    """One value per neuron of each of the rule's populations and execution."""
    Type = _Type

    class Layout(Enum):
        complete_row = 0
        packed_active_columns = 1

    def __init__(self):
        self.type = self.Type.int8
        self.layout = self.Layout.packed_active_columns


class ObservableArray:
    """An array of `size` values per execution, free for the rule to fill."""
    Type = _Type

    def __init__(self):
        self.type = self.Type.uint8
        self.size = 0


@dataclass
class Record:
    """One execution's recorded data: `time`, when the rule ran, in FPGA clock
    cycles (125 MHz) since the experiment's start, as the real system stamps
    its records, and `data`."""
    time: int
    data: np.ndarray


@dataclass
class RecordingData:
    """One snippet (executed run): per observable, per projection / population
    (or the array) the records of every execution."""
    data_per_synapse: dict
    data_per_neuron: dict
    data_array: dict


class PlasticityRule:
    """Base of plasticity rules; `timer`: when the rule runs; `observables`:
    name -> ObservablePerSynapse / ObservablePerNeuron / ObservableArray, the
    data the rule records (set as attributes of `recording` in `kernel`)."""
    ObservablePerSynapse = ObservablePerSynapse
    ObservablePerNeuron = ObservablePerNeuron
    ObservableArray = ObservableArray

    def __init__(self, timer, observables=None):
        if not isinstance(timer, Timer):
            raise TypeError(f"timer: {timer!r} is not a Timer")
        self.timer = timer
        self.observables = dict(observables or {})
        for name, obs in self.observables.items():
            if not isinstance(obs, (ObservablePerSynapse, ObservablePerNeuron, ObservableArray)):
                raise TypeError(f"observable {name!r}: {obs!r} is not an ObservablePerSynapse, "
                                f"ObservablePerNeuron or ObservableArray")
        self._projections = []
        self._populations = []
        self._recording_data = None

    def kernel(self, synapses, neurons, recording):
        """The rule, run at each timer time.  The base rule does nothing."""

    def generate_kernel(self):
        """The real system's C++ kernel.  The emulator runs `kernel` instead."""
        return ""

    def _check_runnable(self):
        cls = type(self)
        if cls.generate_kernel is not PlasticityRule.generate_kernel and \
                cls.kernel is PlasticityRule.kernel:
            raise NotImplementedError(
                f"{cls.__name__} provides only a C++ PPU kernel (generate_kernel), which the "
                f"emulated PPU cannot run.  Write the rule in Python: define "
                f"`def kernel(self, synapses, neurons, recording)` on {cls.__name__}; "
                f"`synapses[i].get_weights()`/`set_weights(w)`, "
                f"`get_causal_correlation()`, `get_acausal_correlation()`, "
                f"`reset_correlation()` act on the rule's projections, "
                f"`neurons[i].get_spike_counts(reset=...)` and `get_membrane()` on its "
                f"populations (see pynn_brainscales.brainscales2.plasticity_rules)")

    def _add_projection(self, projection):
        if projection not in self._projections:
            self._projections.append(projection)

    def _add_population(self, population):
        if population not in self._populations:
            self._populations.append(population)

    def get_observable_array(self, observable):
        """Per snippet, the records of an ObservableArray observable (None where
        the rule did not run)."""
        self._check_observable(observable, ObservableArray, "get_observable_array")
        return [None if snippet is None else snippet.data_array.get(observable)
                for snippet in self._recording_data]

    def _records(self, observable, owner, kind):
        """Per snippet, the records of `owner` (a projection or population of
        this rule) for an observable of `kind` (None where the rule did not run)."""
        per_synapse = kind is ObservablePerSynapse
        accessor = "Projection.get_data" if per_synapse else "get_plasticity_data"
        self._check_observable(observable, kind, accessor)
        index = (self._projections if per_synapse else self._populations).index(owner)
        return [None if snippet is None else
                (snippet.data_per_synapse if per_synapse else snippet.data_per_neuron)[
                    observable][index]
                for snippet in self._recording_data]

    def _check_observable(self, observable, kind, accessor):
        if observable not in self.observables:
            raise RuntimeError(f"{type(self).__name__} has no observable {observable!r}; "
                               f"it has {sorted(self.observables)}")
        if not isinstance(self.observables[observable], kind):
            raise TypeError(f"observable {observable!r} is a "
                            f"{type(self.observables[observable]).__name__}, not read with "
                            f"{accessor}")
        if self._recording_data is None:
            raise RuntimeError("plasticity rule observables are only available after a run")

    # --- execution (by the backend) ---
    def _start_snippet(self, runs=True):
        """A new snippet (executed run); None in the data where the rule does not
        run in it."""
        if self._recording_data is None:
            self._recording_data = []
        if not runs:
            self._recording_data.append(None)
            return
        self._recording_data.append(RecordingData(
            data_per_synapse={n: [[] for _ in self._projections] for n, o in
                              self.observables.items() if isinstance(o, ObservablePerSynapse)},
            data_per_neuron={n: [[] for _ in self._populations] for n, o in
                             self.observables.items() if isinstance(o, ObservablePerNeuron)},
            data_array={n: [] for n, o in self.observables.items()
                        if isinstance(o, ObservableArray)}))

    def _execute(self, ppu, state):
        time_ms = ppu.time / US_PER_MS
        synapses = [SynapseView(prj, state, ppu) for prj in self._projections]
        neurons = [NeuronView(pop, ppu) for pop in self._populations]
        recording = Recording(self)
        try:
            self.kernel(synapses, neurons, recording)
            recording._store(self._recording_data[-1],
                             int(round(ppu.time * C.FPGA_CLOCK_MHZ)), synapses, neurons)
        except Exception as err:
            raise PlasticityRuleError(
                f"plasticity rule {type(self).__name__} failed at {time_ms:g} ms (hardware "
                f"time): {type(err).__name__}: {err}") from err


def observable_records(model, owner, observable, kind, owner_kind):
    """Per snippet, the records of `owner` (a projection or population) for an
    observable of the plasticity rule its synapse or cell type `model` holds."""
    rule = getattr(model, "plasticity_rule", None)
    if rule is None:
        raise RuntimeError(f"{type(model).__name__} holds no plasticity rule, so the "
                           f"{owner_kind} has no observables")
    return rule._records(observable, owner, kind)


class PlasticityRuleError(RuntimeError):
    """A rule raised: the run stops; the rule's traceback is chained."""


class PlasticityRuleHandle:
    """Mixin of synapse and cell types that hold a plasticity rule."""

    def __init__(self, plasticity_rule=None):
        if plasticity_rule is not None and not isinstance(plasticity_rule, PlasticityRule):
            raise TypeError(f"plasticity_rule: {plasticity_rule!r} is not a PlasticityRule")
        self.plasticity_rule = plasticity_rule


class Recording:
    """Where a rule leaves its observables: `recording.<name> = data`."""

    def __init__(self, rule):
        object.__setattr__(self, "_rule", rule)
        object.__setattr__(self, "_values", {})

    def __setattr__(self, name, value):
        if name not in self._rule.observables:
            raise AttributeError(f"recording.{name}: not an observable of "
                                 f"{type(self._rule).__name__}; observables: "
                                 f"{sorted(self._rule.observables)}")
        self._values[name] = value

    def __getattr__(self, name):
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(name) from None

    def _store(self, snippet, cycles, synapses, neurons):
        for name, value in self._values.items():
            obs = self._rule.observables[name]
            if isinstance(obs, ObservableArray):
                data = _typed(name, obs, np.ravel(value))
                if data.size != obs.size:
                    raise ValueError(f"recording.{name}: {data.size} values; the "
                                     f"ObservableArray has size {obs.size}")
                snippet.data_array[name].append(Record(cycles, data))
                continue
            views = synapses if isinstance(obs, ObservablePerSynapse) else neurons
            kind = "projection" if views is synapses else "population"
            values = [value] if len(views) == 1 and not isinstance(value, (list, tuple)) \
                else list(value)
            if len(values) != len(views):
                raise ValueError(f"recording.{name}: {len(values)} arrays for the rule's "
                                 f"{len(views)} {kind}(s)")
            target = (snippet.data_per_synapse if views is synapses
                      else snippet.data_per_neuron)[name]
            for i, (view, v) in enumerate(zip(views, values)):
                data = _typed(name, obs, np.asarray(v))
                if data.shape != view.shape:
                    raise ValueError(f"recording.{name}: shape {data.shape} for {kind} {i}; "
                                     f"expected {view.shape}")
                target[i].append(Record(cycles, data))


def _typed(name, obs, values):
    dtype, low, high = obs.type.value
    values = np.asarray(values, float)
    bad = ~np.isfinite(values) | (values < low) | (values > high) | (values != np.rint(values))
    if np.any(bad):
        raise ValueError(f"recording.{name}: value {values[bad][0]:g} does not fit the "
                         f"observable's type {obs.type.name} ({low}..{high}, integers)")
    return values.astype(dtype)


class SynapseView:
    """The synapses of one projection as the PPU sees them, as dense arrays
    [pre, post] (entries without a connection: `connected` is False; weights 0,
    correlation NaN).  Weights are the synapse memory's magnitudes (0..63 per
    synapse, summed over the parallel synapses of |w| > 63)."""

    def __init__(self, projection, state, ppu):
        self.projection = projection
        self.shape = (projection.pre.size, projection.post.size)
        self._ppu = ppu
        self._placement = state._placements.get(projection) or P.SynapsePlacement(
            np.zeros(0, np.int64), np.zeros((0, 1), np.int64), np.zeros(0, np.int64))
        self._integer = not state.ideal
        self._pre = np.asarray(projection.connections_pre)
        self._post = np.asarray(projection.connections_post)
        self.connected = np.zeros(self.shape, bool)
        self.connected[self._pre, self._post] = True

    def _dense(self, values, fill):
        out = np.full(self.shape, fill, dtype=float)
        out[self._pre, self._post] = values
        return out

    def get_weights(self):
        weights = np.stack([self._ppu.get_weights(h) for h in range(C.NUM_HEMISPHERES)])
        return self._dense(self._placement.weights(weights), 0.0)

    def set_weights(self, weights):
        """Write weights [pre, post] (entries without a connection are ignored)."""
        weights = np.broadcast_to(np.asarray(weights, float), self.shape)
        values = weights[self._pre, self._post]
        capacity = C.WEIGHT_MAX * self._placement.parts
        bad = ~np.isfinite(values) | (values < 0) | (values > capacity)
        if self._integer:
            bad |= values != np.rint(values)
        if np.any(bad):
            raise ValueError(f"set_weights: value {values[bad][0]!r}; synapse weights are "
                             f"{'integers ' if self._integer else ''}0..{capacity}")
        p = self._placement
        for h in np.unique(p.hemisphere):
            sel = p.hemisphere == h
            rows = np.unique(p.rows[sel])
            current = self._ppu.get_weights(h)
            P.write_parts(current, p.rows[sel], p.columns[sel], values[sel], self._integer)
            self._ppu.set_weights(h, current[rows], rows=rows)

    def _correlation(self, branch):
        p = self._placement
        values = np.zeros(len(self._pre))
        for h in np.unique(p.hemisphere):
            sel = p.hemisphere == h
            rows = np.unique(p.rows[sel])
            codes = self._ppu.read_correlation(h, rows)[branch]
            position = np.searchsorted(rows, p.rows[sel])
            values[sel] = codes[position, p.columns[sel][:, None]].mean(axis=1)
        return self._dense(values, np.nan)

    def get_causal_correlation(self):
        """CADC codes of the causal sensors (fall from the reset level as
        pre-before-post pairs accumulate)."""
        return self._correlation(0)

    def get_acausal_correlation(self):
        """CADC codes of the acausal sensors (post-before-pre pairs)."""
        return self._correlation(1)

    def reset_correlation(self):
        p = self._placement
        for h in np.unique(p.hemisphere):
            self._ppu.reset_correlation(h, np.unique(p.rows[p.hemisphere == h]))


class NeuronView:
    """The neurons of one population as the PPU sees them: rate counters and
    CADC membrane reads, arrays over the population's neurons."""

    def __init__(self, population, ppu):
        self.population = population
        self.shape = (population.size,)
        self._slots = np.asarray(population.slots)
        self._ppu = ppu

    def get_spike_counts(self, reset=False):
        """8-bit saturating spike counters since their last reset."""
        return self._ppu.read_spike_counters(reset=reset, neurons=self._slots)

    def get_membrane(self):
        """CADC codes (8 bit) of the membrane potentials."""
        return self._ppu.read_membrane(self._slots)

    def get_readout(self):
        """CADC codes (8 bit) of each neuron's readout source (HXNeuron's
        plasticity_rule_readout_source where enabled, else the membrane)."""
        params = self.population.hardware_parameters()
        nodes = getattr(self.population.celltype, "READOUT_NODES", ("v",))
        enabled = np.asarray(params.get("plasticity_rule_enable_readout_source",
                                        np.zeros(self.shape)), bool)
        chosen = np.asarray(params.get("plasticity_rule_readout_source",
                                       np.zeros(self.shape)), int)
        sources = [nodes[c] if on else "v" for on, c in zip(enabled, chosen)]
        return self._ppu.read_membrane(self._slots, source=sources)


class RecordingRule(PlasticityRule):
    """The "rule" of a StaticRecordingSynapse: records weights and correlation
    of its projections at the timer's times and changes nothing."""
    POSSIBLE_OBSERVABLES = ("weights", "correlation_causal", "correlation_acausal")

    def __init__(self, timer, observables):
        unknown = set(observables) - set(self.POSSIBLE_OBSERVABLES)
        if unknown:
            raise ValueError(f"observables: {sorted(unknown)} unknown; possible: "
                             f"{list(self.POSSIBLE_OBSERVABLES)}")
        recorded = {}
        for name in observables:
            obs = ObservablePerSynapse()
            obs.type = ObservablePerSynapse.Type.uint8
            recorded[name] = obs
        super().__init__(timer, recorded)

    def kernel(self, synapses, neurons, recording):
        read = {"weights": lambda s: s.get_weights(),
                "correlation_causal": lambda s: np.nan_to_num(s.get_causal_correlation()),
                "correlation_acausal": lambda s: np.nan_to_num(s.get_acausal_correlation())}
        for name in self.observables:
            setattr(recording, name, [np.rint(read[name](s)) for s in synapses])


def rules_of(state):
    """The rules of the network, in order of first use."""
    rules = []
    for obj in list(state.projections) + list(state.populations):
        holder = getattr(obj, "synapse_type", None) or getattr(obj, "celltype", None)
        rule = getattr(holder, "plasticity_rule", None)
        if rule is not None and rule not in rules:
            rules.append(rule)
    return rules


def programs(state, t0, t1):
    """PPUPrograms of the network's rules for a run over [t0, t1) chip us."""
    out = []
    for rule in rules_of(state):
        rule._check_runnable()
        times = rule.timer.times() * US_PER_MS
        times = times[(times >= t0 - 1e-9) & (times < t1 - 1e-9)]
        rule._start_snippet(runs=bool(times.size))
        if times.size:
            out.append(PPUProgram(np.maximum(times, t0),
                                  lambda ppu, rule=rule: rule._execute(ppu, state)))
    return out

