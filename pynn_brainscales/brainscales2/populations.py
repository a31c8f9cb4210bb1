"""Populations of the native API: placement as the real system (optionally
permuted), calibrated parameters visible at creation, MADC/CADC recording."""
from collections import defaultdict
from datetime import datetime

import neo
import numpy as np
import quantities as pq

from cython_core.mismatch import READOUT_NODES

from .. import populations as core
from .. import recording as core_recording
from .. import simulator as core_simulator

ANALOG = tuple(READOUT_NODES)           # one of them per neuron, as on the chip
SWITCHES = ("threshold_enable", "excitatory_input_enable", "inhibitory_input_enable")


class Recorder(core_recording.Recorder):
    """The real system's recording: per snippet (each run, APPENDed ones
    included) the spikes of the cells recorded during it, and per recorded cell
    one IrregularlySampledSignal of raw ADC codes (dimensionless float32, times
    in ms) from the device it was recorded with ("madc" or "cadc").  Data of
    finished snippets stay when the recording changes (`record(None)`); they go
    with `get_data(clear=True)` and reset()."""
    analog_variables = ANALOG

    def __init__(self, population, file=None):
        super().__init__(population, file)
        self.devices = {}          # cell id -> device of its analog recording

    def _clear_simulator(self):
        super()._clear_simulator()
        # snippet index -> {"spikes": {id: times}, (variable, device): {id: (times, codes)}}
        self._snippets = {}

    def _reset(self):
        """record(None): what is recorded from now on changes; data stay."""

    def _snippet(self):
        return self._snippets.setdefault(self._simulator.state.snippet_index,
                                         defaultdict(dict))

    def device_of(self, id):
        return self.devices.get(int(id), "madc")

    # --- data from the backend ---
    def take_spikes(self, times, slots):
        if not self.population.is_source:
            self._take_trains(times, core_simulator.slots_of(sorted(self._spike_ids())), slots)

    def take_source_spikes(self, times, cells):
        self._take_trains(times, core_simulator.as_ints(sorted(self._spike_ids()))
                          - self.population.first_id, cells)

    def _spike_ids(self):
        return self._ids_of_variable("spikes")

    def _take_trains(self, times, keys, spike_keys):
        """Each recorded cell's train (empty ones too: a recorded cell has one
        per snippet); `keys`: the circuit or cell index of each recorded cell
        in id order, `spike_keys` that of each spike."""
        ids = sorted(self._spike_ids())
        if not ids:
            return
        times, spike_keys = np.asarray(times, float), np.asarray(spike_keys, np.int64)
        order = np.argsort(spike_keys, kind="stable")
        sorted_keys = spike_keys[order]
        trains = self._snippet()["spikes"]
        for id, key in zip(ids, np.asarray(keys, np.int64)):
            lo, hi = np.searchsorted(sorted_keys, [key, key + 1])
            trains[int(id)] = np.sort(times[order[lo:hi]])

    def take_samples(self, variable, id, times, values):
        self._snippet()[variable, self.device_of(id)][int(id)] = (
            np.asarray(times, np.float32), np.asarray(values, np.float32))

    # --- neo output, as the real system builds it ---
    def _get_current_segment(self, filter_ids=None, variables="all", clear=False):
        state = self._simulator.state
        segment = neo.Segment(name=f"segment{state.segment_counter:03d}",
                              description=self.population.describe(),
                              rec_datetime=datetime.now())
        names = (None if variables == "all" else
                 {getattr(v, "name", v) for v in variables})
        wanted = None if filter_ids is None else {int(id) for id in filter_ids}
        label = self.population.label
        for k in sorted(self._snippets):
            t_start, t_stop = (t * pq.ms for t in state.snippets[k])
            data = self._snippets[k]
            for key in sorted(data, key=lambda key: (key != "spikes", key)):
                name = "spikes" if key == "spikes" else key[0]
                if names is not None and name not in names:
                    continue
                for id in sorted(data[key]):
                    if wanted is not None and id not in wanted:
                        continue
                    index = self.population.id_to_index(id)
                    if key == "spikes":
                        # the FPGA's 8 ns timestamps can round a spike of the
                        # snippet's last step a few ns past its end
                        times = np.minimum(data[key][id], float(t_stop))
                        segment.spiketrains.append(neo.SpikeTrain(
                            times, t_start=t_start, t_stop=t_stop,
                            units="ms", source_population=label, source_id=id,
                            channel_id=id, source_index=index))
                        continue
                    times, codes = data[key][id]
                    segment.irregularlysampledsignals.append(neo.IrregularlySampledSignal(
                        times, codes[:, None], units="dimensionless", time_units="ms",
                        dtype=np.float32, name=name, device=key[1], source_ids=[id],
                        channel_ids=[id], source_population=label,
                        array_annotations={"channel_index": [index]}))
        for item in segment.spiketrains + segment.irregularlysampledsignals:
            item.segment = segment
        if clear:
            self._clear_simulator()
        return segment

    def _local_count(self, variable, filter_ids=None):
        counts = {int(id): 0 for id in self.filter_recorded(variable, filter_ids)}
        for data in self._snippets.values():
            for id, times in data.get("spikes", {}).items():
                if id in counts:
                    counts[id] += len(times)
        return counts


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
        self._calib_target = None
        state = self._simulator.state
        if getattr(self.celltype, "native_cell", False) and state.initial_config is not None:
            # the calibration's values, except where the cell type was given
            # its own (HXNeuron(threshold_enable=False) keeps its threshold off)
            given = self.celltype.given_parameters
            result = state.initial_config
            for name, values in result.neurons.items():
                if name in self._parameters and name not in given:
                    self._parameters[name][:] = values[self.slots]
            for name in SWITCHES:
                if name not in given:
                    self._parameters[name][:] = 1.0

    def get_plasticity_data(self, observable):
        """Per snippet (executed run), the records (`.time` in FPGA clock cycles,
        `.data` per neuron) of a per-neuron observable of the cell type's
        plasticity rule; None for a snippet in which the rule did not run."""
        from .plasticity_rules import ObservablePerNeuron, observable_records
        return observable_records(self.celltype, self, observable, ObservablePerNeuron,
                                  "population")

    def record(self, variables, to_file=None, sampling_interval=None, locations=None,
               device="madc"):
        """Record `spikes` and at most one analog variable per neuron (the ADCs
        read one node per neuron): `v`, `exc_synin`, `inh_synin` or `adaptation`,
        through the `madc` (10 bit, ~34 ns) or the `cadc` (8 bit, membrane only).
        `record(None)` stops recording (data recorded so far stay)."""
        _record(self, super().record, variables, to_file, sampling_interval, locations, device)

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

    def _calibrated(self, name):
        """As the real system: a calibrated population's results are attributes
        from the first run (or run(None, RunCommand.PREPARE)) on."""
        if self.calibration is None:
            raise AttributeError(
                f"{name} not available for {type(self.celltype).__name__} population "
                f"{self.label!r} before it is calibrated: at the first run, or "
                f"run(None, RunCommand.PREPARE)")

    @property
    def calib_target(self):
        """The targets the population was calibrated to."""
        self._calibrated("calib_target")
        return self._calib_target

    @property
    def calib_hwparams(self):
        """The calibrated circuit settings of this population's neurons (read-only)."""
        self._calibrated("calib_hwparams")
        return AtomicNeurons(self.calibrated_config(with_overrides=False))

    @property
    def actual_hwparams(self):
        """The circuit settings the chip holds for these neurons now; setting one
        (`actual_hwparams[i].leak.v_leak = 1022`) takes effect at the next run."""
        native = getattr(self.celltype, "native_cell", False)
        if not native:
            self._calibrated("actual_hwparams")
        config = self._simulator.state.chip.config
        fields = {name: getattr(config.neurons, name)[self.slots].copy()
                  for name in config.neurons.names()}
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

    def record(self, variables, to_file=None, sampling_interval=None, locations=None,
               device="madc"):
        _record(self, super().record, variables, to_file, sampling_interval, locations, device)
    record.__doc__ = Population.record.__doc__

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


def _record(cells, record, variables, to_file, sampling_interval, locations, device):
    """Population/PopulationView.record of the native API: checks that each
    neuron records one analog variable at most and that the device can read it,
    then records and notes each cell's device."""
    names = [variables] if isinstance(variables, str) else list(variables or [])
    if names == ["all"]:
        names = ["spikes", "v"]
    if device not in ("madc", "cadc"):
        raise ValueError(f"record: device {device!r} is not one of 'madc', 'cadc'")
    analog = sorted({v for v in names if v in ANALOG})
    if device == "cadc" and analog and analog != ["v"]:
        raise ValueError(f"record: the CADC reads membrane potentials ('v') only, not {analog}")
    recorder = cells.recorder
    if variables is not None:
        chosen = {int(id) for id in cells.all_cells}
        for variable, ids in recorder.recorded.items():
            if variable.name in ANALOG and variable.name not in analog and chosen & {
                    int(id) for id in ids}:
                analog = analog + [variable.name]
        if len(analog) > 1:
            raise ValueError(f"record: {analog}: only one analog variable per neuron can be "
                             f"recorded (one ADC input each)")
    record(None if variables is None else names, to_file, sampling_interval, locations)
    if analog:
        recorder.devices.update({int(id): device for id in cells.all_cells})
