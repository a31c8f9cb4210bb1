"""Populations of the native API: placement as the real system (optionally
permuted), calibrated parameters visible at creation, MADC/CADC recording."""
from collections import defaultdict

import numpy as np
from pyNN import errors

from .. import populations as core
from .. import recording as core_recording

ANALOG = ("v", "exc_synin", "inh_synin", "adaptation")
SWITCHES = ("threshold_enable", "excitatory_input_enable", "inhibitory_input_enable")


class Recorder(core_recording.Recorder):
    """Raw ADC codes as dimensionless float32 samples with their times (ms)."""
    analog_variables = ANALOG

    def __init__(self, population, file=None):
        super().__init__(population, file)
        self.device = "madc"

    def _clear_simulator(self):
        super()._clear_simulator()
        self._signals = defaultdict(lambda: defaultdict(list))   # variable -> id -> samples

    def take_samples(self, variable, id, times, values):
        self._signals[variable][id].append((np.asarray(times, float), values))

    def _get_all_signals(self, variable, ids, clear=False):
        columns = [self._signals[variable.name][id] for id in ids]
        times = [np.concatenate([c[0] for c in col]) if col else np.zeros(0) for col in columns]
        values = [np.concatenate([c[1] for c in col]) if col else np.zeros(0, np.float32)
                  for col in columns]
        n = max((len(v) for v in values), default=0)
        t = np.full((n, len(ids)), np.nan)
        data = np.full((n, len(ids)), np.nan, np.float32)
        for j, (tt, vv) in enumerate(zip(times, values)):
            t[:len(tt), j] = tt
            data[:len(vv), j] = vv
        if clear:
            self._signals[variable.name] = type(self._signals[variable.name])(list)
        return data, t


# the members of the real system's lola.AtomicNeuron: a parameter <member>_<field>
# is neuron.<member>.<field> there
MEMBERS = ("excitatory_input", "inhibitory_input", "leak", "reset", "threshold",
           "multicompartment", "constant_current", "membrane_capacitance", "adaptation",
           "exponential", "event_routing", "readout", "refractory_period", "bayesian")


class AtomicNeurons:
    """Circuit settings per neuron, as the real system's list of lola
    AtomicNeurons: `neurons[i].leak.v_leak` reads one (and, where writable,
    sets it for the next run); `neurons["leak_v_leak"]` is the array over all
    of them (this emulator's form)."""

    def __init__(self, fields, write=None):
        self._fields = fields          # name -> array over the neurons
        self._write = write            # (name, index, value), or None: read-only

    def __len__(self):
        return len(next(iter(self._fields.values()))) if self._fields else 0

    def __getitem__(self, key):
        if isinstance(key, str):
            return self._fields[key]
        index = range(len(self))[key]          # IndexError, negative indices as lists
        if isinstance(index, range):           # a slice: a list of neurons, as a list's
            return [_AtomicNeuron(self, i) for i in index]
        return _AtomicNeuron(self, index)

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def keys(self):
        return self._fields.keys()

    def __contains__(self, key):
        return key in self._fields


class _AtomicNeuron:
    def __init__(self, neurons, index):
        self._neurons, self._index = neurons, index

    def __getattr__(self, member):
        if member not in MEMBERS:
            raise AttributeError(f"{member}: not a member of the neuron circuit; members are "
                                 f"{', '.join(MEMBERS)}")
        return _Member(self._neurons, self._index, member)


class _Member:
    def __init__(self, neurons, index, member):
        object.__setattr__(self, "_where", (neurons, index, member))

    def _name(self, field):
        neurons, _, member = self._where
        name = f"{member}_{field}"
        if name not in neurons:
            fields = sorted(n[len(member) + 1:] for n in neurons.keys()
                            if n.startswith(member + "_"))
            raise AttributeError(f"{member}.{field}: no such field; {member} has {fields}")
        return name

    def __getattr__(self, field):
        neurons, index, _ = self._where
        return neurons[self._name(field)][index]

    def __setattr__(self, field, value):
        neurons, index, member = self._where
        name = self._name(field)
        if neurons._write is None:
            raise AttributeError(f"{member}.{field}: the calibration's result is read-only; "
                                 f"change actual_hwparams")
        neurons._write(name, index, value)
        neurons[name][index] = value


class Population(core.Population):
    __doc__ = core.Population.__doc__
    _recorder_class = Recorder

    def _get_view(self, selector, label=None):
        return PopulationView(self, selector, label)

    def _create_cells(self):
        super()._create_cells()
        rule = getattr(self.celltype, "plasticity_rule", None)
        if rule is not None:
            rule._add_population(self)
        self.calibration = None
        self.calib_target = None
        state = self._simulator.state
        if getattr(self.celltype, "native_cell", False) and state.initial_config is not None:
            result = state.initial_config
            for name, values in result.neurons.items():
                if name in self._parameters:
                    self._parameters[name][:] = values[self.slots]
            for name in SWITCHES:
                self._parameters[name][:] = 1.0

    def get_plasticity_data(self, observable):
        """Per snippet (executed run), the records (`.time` in hardware ms,
        `.data` per neuron) of a per-neuron observable of the cell type's
        plasticity rule; None for a snippet in which the rule did not run."""
        from .plasticity_rules import ObservablePerNeuron, observable_records
        return observable_records(self.celltype, self, observable, ObservablePerNeuron,
                                  "population")

    def record(self, variables, to_file=None, sampling_interval=None, locations=None,
               device="madc"):
        """Record `spikes` and at most one analog variable per neuron (the ADCs
        read one node per neuron): `v`, `exc_synin`, `inh_synin` or `adaptation`,
        through the `madc` (10 bit, ~34 ns) or the `cadc` (8 bit, membrane only)."""
        names = [variables] if isinstance(variables, str) else list(variables or [])
        if names == ["all"]:
            names = ["spikes", "v"]
        analog = [v for v in names if v in ANALOG]
        already = {v.name for v in self.recorder.recorded if v.name in ANALOG and
                   self.recorder.recorded[v]}
        if len(set(analog) | already) > 1:
            raise ValueError(f"record: {sorted(set(analog) | already)}: only one analog "
                             f"variable per neuron can be recorded (one ADC input each)")
        if device not in ("madc", "cadc"):
            raise ValueError(f"record: device {device!r} is not one of 'madc', 'cadc'")
        if device == "cadc" and analog and analog != ["v"]:
            raise ValueError("record: the CADC reads membrane potentials ('v') only")
        self.recorder.device = device
        super().record(names, to_file, sampling_interval, locations)

    def get_data(self, *args, **kwargs):
        block = super().get_data(*args, **kwargs)
        for segment in block.segments:
            for train in segment.spiketrains:
                train.annotations["source_id"] = train.annotations.get("channel_id")
            for signal in segment.irregularlysampledsignals:
                signal.annotate(source_population=self.label)
        return block

    # --- calibration results of calibrated cells ---
    def calibrated_config(self, with_overrides=True):
        """The circuit settings of a calibrated population: the calibration's,
        with the switches it needs, and (`with_overrides`) what actual_hwparams
        set since."""
        fields = {name: values[self.slots] for name, values in self.calibration.neurons.items()}
        for name in SWITCHES:
            fields[name] = np.ones(self.size, bool)
        conductance = self.celltype.conductance_based
        for receptor in ("excitatory", "inhibitory"):
            fields[f"{receptor}_input_enable_coba_mode"] = np.full(self.size, conductance)
        fields["membrane_capacitance_capacitance"] = np.rint(
            self.hardware_parameters()["cm"]).astype(np.int64)
        for (name, index), value in (self.configuration_overrides.items() if with_overrides
                                     else ()):
            fields[name] = np.array(fields.get(name, getattr(
                self._simulator.state.chip.config.neurons, name)[self.slots]))
            fields[name][index] = value
        return fields

    @property
    def configuration_overrides(self):
        """{(field, neuron index): value} set through actual_hwparams on a
        calibrated population (part of the network: a change rebuilds it)."""
        if "_overrides" not in vars(self):
            self._overrides = {}
        return self._overrides

    @property
    def calib_hwparams(self):
        """The calibrated circuit settings of this population's neurons (read-only)."""
        if self.calibration is None:
            raise errors.NothingToWriteError(
                "not calibrated yet: calibration happens at the first run (or preprocess())")
        return AtomicNeurons(self.calibrated_config(with_overrides=False))

    @property
    def actual_hwparams(self):
        """The circuit settings the chip holds for these neurons now; setting one
        (`actual_hwparams[i].leak.v_leak = 1022`) takes effect at the next run."""
        config = self._simulator.state.chip.config
        fields = {name: getattr(config.neurons, name)[self.slots].copy()
                  for name in config.neurons.names()}
        native = getattr(self.celltype, "native_cell", False)
        for (name, index), value in ({} if native else self.configuration_overrides).items():
            fields[name][index] = value

        def write(name, index, value):
            if native:                         # the population's own parameter
                self._parameters[name][index] = value
            else:
                self.configuration_overrides[(name, index)] = value
        return AtomicNeurons(fields, write)


class PopulationView(core.PopulationView):
    """A view of a native population: its cells' circuit settings are those of
    the parent's cells it selects."""

    def _get_view(self, selector, label=None):
        return PopulationView(self, selector, label)

    def _parent_indices(self):
        return np.arange(self.parent.size)[self.mask]

    def _select(self, neurons):
        chosen = self._parent_indices()
        fields = {name: values[chosen] for name, values in neurons._fields.items()}
        write = None if neurons._write is None else (
            lambda name, index, value: neurons._write(name, int(chosen[index]), value))
        return AtomicNeurons(fields, write)

    @property
    def actual_hwparams(self):
        return self._select(self.parent.actual_hwparams)

    @property
    def calib_hwparams(self):
        return self._select(self.parent.calib_hwparams)
