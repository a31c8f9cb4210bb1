"""Recording: spikes from the chip's spike readout (and the backend's own spike
sources), analog variables from the MADC, sampled at the time step and kept in
biological units."""
from collections import defaultdict

import numpy as np
from pyNN import recording

from cython_core import constants as C

from . import simulator

ANALOG = ("v", "gsyn_exc", "gsyn_inh", "w")


class Recorder(recording.Recorder):
    _simulator = simulator
    analog_variables = ANALOG

    def __init__(self, population, file=None):
        super().__init__(population, file)
        self._clear_simulator()

    def _record(self, variable, new_ids, sampling_interval=None):
        if sampling_interval is not None and abs(sampling_interval - simulator.state.dt) > 1e-9:
            if variable.name != "spikes":
                self.sampling_interval = sampling_interval

    # --- data from the backend ---
    def analog_requests(self):
        return [(v.name, sorted(ids)) for v, ids in self.recorded.items()
                if v.name in self.analog_variables and ids]

    def take_spikes(self, times, slots):
        """Keep a run's spikes of the recorded neurons as they came (one chunk);
        they are sorted into trains when asked for."""
        ids = self._ids_of_variable("spikes")
        if not ids or self.population.is_source:
            return
        ids, recorded = self._spike_circuits(ids)
        self._keep(ids, recorded[np.asarray(slots, np.int64)], times)

    def _spike_circuits(self, id_set):
        """The recorded ids as a list and the index in it of each circuit's
        cell (-1: none), kept while PyNN keeps the set (record() replaces it):
        looking up a full chip's circuits took ~0.07 ms per run."""
        kept = getattr(self, "_spike_circuits_kept", None)
        if kept is None or kept[0] is not id_set or len(kept[1]) != len(id_set):
            pop = self.population
            recorded = np.full(C.NUM_NEURONS, -1, np.int64)     # circuit -> index in ids
            if len(id_set) == pop.size:
                # every cell (the set holds the population's ids): in its order,
                # without looking up 512 ids one by one (~0.2 ms in a first run)
                ids = list(pop.all_cells)
                recorded[pop.slots] = np.arange(pop.size)
            else:
                ids = list(id_set)
                recorded[simulator.slots_of(ids)] = np.arange(len(ids))
            kept = self._spike_circuits_kept = (id_set, ids, recorded)
        return kept[1], kept[2]

    def _keep(self, ids, index, times):
        """A chunk of spikes: `index` in `ids` of each spike's cell, -1 for cells
        not recorded (dropped)."""
        keep = index >= 0
        self._chunks.append((ids, index[keep], np.asarray(times, float)[keep]))

    def _trains(self):
        """{id: [arrays of spike times]}, with the pending chunks sorted in."""
        for ids, index, times in self._chunks:
            order = np.argsort(index, kind="stable")       # keeps each train in time order
            bounds = np.searchsorted(index[order], np.arange(len(ids) + 1))
            for k in np.flatnonzero(np.diff(bounds)):
                self._spikes[ids[k]].append(times[order[bounds[k]:bounds[k + 1]]])
        self._chunks = []
        return self._spikes

    def take_source_spikes(self, times, cells):
        """A run's spikes of this population's source cells (`cells`: their
        indices in the population)."""
        ids = self._ids_of_variable("spikes")
        if not ids:
            return
        ids = list(ids)
        position = np.full(self.population.size, -1, np.int64)   # cell -> index in ids
        position[simulator.as_ints(ids) - self.population.first_id] = np.arange(len(ids))
        self._keep(ids, position[cells], times)

    def take_signals(self, variable, ids, values):
        """One run's traces of `variable`: values [samples, cells] for the cells
        `ids` (their first sample is the state at the run's start)."""
        self._signals[variable].append(([int(id) for id in ids], values))

    def _ids_of_variable(self, name):
        for v, ids in self.recorded.items():
            if v.name == name:
                return ids
        return set()

    # --- the base Recorder's interface ---
    def _get_spiketimes(self, ids, clear=False):
        """(cell id of each spike, spike times), each train in time order: in
        this form PyNN builds a lazy neo SpikeTrainList, ~10x faster for many
        cells than one SpikeTrain per cell (the form of a dict of trains)."""
        trains = self._trains()
        cells, times = [], []
        for id in map(int, ids):
            if trains.get(id):
                train = np.sort(np.concatenate(trains[id]))
                times.append(train)
                cells.append(np.full(len(train), id, np.int64))
        if clear:
            self._spikes = defaultdict(list)
        if not times:
            return np.zeros(0, np.int64), np.zeros(0)
        return np.concatenate(cells), np.concatenate(times)

    def _get_all_signals(self, variable, ids, clear=False):
        """[samples, ids] (float64, a copy: the caller may edit it) over all
        runs: a run's first sample repeats the previous run's last, which a
        cell recorded in both keeps; NaN where a cell was not recorded."""
        step = max(1, int(round(self.sampling_interval / simulator.state.dt)))
        runs = self._signals[variable.name]
        ids = [int(id) for id in ids]
        if len(runs) == 1 and runs[0][0] == ids:
            data = runs[0][1].astype(np.float64)   # one run, all its cells (a copy)
        else:
            starts = np.cumsum([0] + [len(values) - 1 for _, values in runs])
            data = np.full((starts[-1] + 1 if runs else 0, len(ids)), np.nan)
            column = {id: j for j, id in enumerate(ids)}
            # the last run first: where runs overlap (one sample), the earlier
            # run's value stays, and a cell new in the later run keeps its own
            for start, (run_ids, values) in zip(starts[::-1][1:], runs[::-1]):
                taken = [k for k, id in enumerate(run_ids) if id in column]
                data[start:start + len(values), [column[run_ids[k]] for k in taken]] = (
                    values[:, taken])
        if clear:
            self._signals[variable.name] = []
        return data[::step], None

    def _local_count(self, variable, filter_ids=None):
        trains = self._trains()
        return {int(id): sum(len(chunk) for chunk in trains.get(id, []))
                for id in self.filter_recorded(variable, filter_ids)}

    def _clear_simulator(self):
        self._spikes = defaultdict(list)       # id -> arrays of spike times
        self._chunks = []                      # runs' spikes not yet split into trains
        self._signals = defaultdict(list)       # variable -> [(ids, [samples, ids]) per run]

    def _reset(self):
        self._clear_simulator()
