"""Projections: connection lists in biological units; routed onto the chip at
each run (so `set()` between runs takes effect)."""
import numpy as np
from pyNN import common, connectors, errors
from pyNN.parameters import LazyArray
from pyNN.space import Space

from . import plasticity as P
from . import simulator
from . import translation as T
from .standardmodels.synapses import StaticSynapse


class Connection(common.Connection):
    def __init__(self, projection, i):
        self.projection = projection
        self.i = i

    @property
    def presynaptic_index(self):
        return self.projection.connections_pre[self.i]

    @property
    def postsynaptic_index(self):
        return self.projection.connections_post[self.i]

    def _get(self, name):
        return getattr(self.projection, f"connections_{name}")[self.i]

    def _set(self, name, value):
        getattr(self.projection, f"connections_{name}")[self.i] = value
        self.projection.version += 1

    weight = property(lambda self: self._get("weight"), lambda self, v: self._set("weight", v))
    delay = property(lambda self: self._get("delay"), lambda self, v: self._set("delay", v))

    def as_tuple(self, *attribute_names):
        return tuple(getattr(self, name) for name in attribute_names)


class Projection(common.Projection):
    __doc__ = common.Projection.__doc__
    _simulator = simulator
    _static_synapse_class = StaticSynapse

    def __init__(self, presynaptic_population, postsynaptic_population, connector,
                 synapse_type=None, source=None, receptor_type=None, space=Space(),
                 label=None):
        super().__init__(presynaptic_population, postsynaptic_population, connector,
                         synapse_type, source, receptor_type, space, label)
        if any(getattr(id.parent, "is_source", False) for id in self.post.all_cells[:1]):
            raise errors.ConnectionError("a spike source cannot receive connections")
        self.connections_pre = np.zeros(0, np.int64)
        self.connections_post = np.zeros(0, np.int64)
        self.connections_weight = np.zeros(0)
        self.connections_delay = np.zeros(0)
        # further per-connection parameters of the synapse type (e.g. U, tau_rec)
        self.extra_names = [n for n in self.synapse_type.get_parameter_names()
                            if n not in ("weight", "delay")]
        for name in self.extra_names:
            setattr(self, f"connections_{name}", np.zeros(0))
        self._chunks = []
        # counts changes of the connections (the backend rebuilds the chip's
        # configuration when it moved)
        self.version = 0
        # per parameter: ((version, id of its array), whether all connections
        # share one value), noted by the checks when connections are made
        self._uniform = {}
        if type(connector) is connectors.OneToOneConnector:
            _connect_one_to_one(connector, self)
        else:
            connector.connect(self)
        self._finish()
        simulator.state.projections.append(self)

    @property
    def connections_weight(self):
        """The connections' weights (API units); weights a run wrote (learned
        on the chip) are taken in at the first read after it."""
        if self._written_weights is not None:
            take, self._written_weights = self._written_weights, None
            self._connections_weight = take()
        return self._connections_weight

    @connections_weight.setter
    def connections_weight(self, values):
        self._written_weights = None
        self._connections_weight = values

    def defer_weights(self, take):
        """Weights a run wrote: take() gives them (API units, one per
        connection) when the weights are next read."""
        self._written_weights = take

    def __len__(self):
        return len(self.connections_pre)

    def __getitem__(self, i):
        return Connection(self, i)

    @property
    def connections(self):
        return [Connection(self, i) for i in range(len(self))]

    def _convergent_connect(self, presynaptic_indices, postsynaptic_index,
                            location_selector=None, **connection_parameters):
        if location_selector is not None:
            raise NotImplementedError("BrainScaleS-2 neurons have a single compartment")
        pre = np.atleast_1d(np.asarray(presynaptic_indices, int))
        n = len(pre)
        weight = np.broadcast_to(np.asarray(connection_parameters.get("weight", 0.0),
                                            float), (n,))
        delay = np.broadcast_to(np.asarray(connection_parameters.get(
            "delay", simulator.state.min_delay), float), (n,))
        extra = [np.broadcast_to(np.asarray(connection_parameters[name], float), (n,)).copy()
                 for name in self.extra_names]
        # checked all at once when the connector is done (_finish)
        self._chunks.append((pre, np.full(n, int(postsynaptic_index)), weight.copy(),
                             delay.copy(), *extra))

    def _conductance_based(self, post_indices):
        return simulator.attribute_of(
            simulator.cell_ids(self.post, np.atleast_1d(post_indices)),
            lambda pop: bool(pop.celltype.conductance_based)).astype(bool)

    def _check_weights(self, weight, post_indices):
        inhibitory = self.receptor_type == "inhibitory"
        conductance = self._conductance_based(post_indices)
        if np.any((weight < 0) & (conductance | (not inhibitory))):
            raise errors.ConnectionError(
                f"weight: negative value {weight[weight < 0][0]} is only meaningful for "
                f"inhibitory current-based synapses; conductances must be >= 0")

    def _check_extra(self, name, values):
        """Check an extra parameter's values against the synapse type's range;
        returns whether they are all one (two reductions serve both)."""
        if not len(values):
            return False
        lowest, highest = values.min(), values.max()      # NaN propagates into both
        ranges = getattr(self.synapse_type, "parameter_ranges", dict)()
        if name in ranges:
            low, high, unit = ranges[name]
            if not (np.isfinite(lowest) and np.isfinite(highest)
                    and low <= lowest and highest <= high):
                T.check_reach(name, values, low, high, unit, type(self.synapse_type).__name__)
        return bool(lowest == highest)

    def is_uniform(self, name):
        """Whether all connections have one value of `name` (delay or an extra
        parameter of the synapse type): as the checks noted it when the
        connections were made or set, else found now."""
        values = getattr(self, f"connections_{name}")
        key = (self.version, id(values))
        noted = self._uniform.get(name)
        if noted is None or noted[0] != key:
            noted = (key, P.is_uniform(np.asarray(values)))
            self._uniform[name] = noted
        return noted[1]

    def _note_uniform(self, uniform):
        """Note {name: whether all connections share a value}, for this version."""
        for name, shared in uniform.items():
            self._uniform[name] = (
                (self.version, id(getattr(self, f"connections_{name}"))), shared)

    def _finish(self):
        uniform = {}
        if self._chunks:
            pre, post, weight, delay, *extra = (np.concatenate(x) for x in zip(*self._chunks))
            self._check_weights(weight, post)
            uniform.update((name, self._check_extra(name, values))
                           for name, values in zip(self.extra_names, extra))
            shortest = delay.min() if len(delay) else np.inf
            uniform["delay"] = bool(len(delay)) and shortest == delay.max()
            if not simulator.state.native and shortest < simulator.state.dt - 1e-9:
                bad = delay[delay < simulator.state.dt - 1e-9][0]
                raise errors.ConnectionError(
                    f"delay: value {bad} ms is below the time step {simulator.state.dt} ms")
            self.connections_pre, self.connections_post = pre, post
            for name, values in zip(self.extra_names, extra):
                setattr(self, f"connections_{name}", values)
            self._check_together(weight=weight, **dict(zip(self.extra_names, extra)))
            self.connections_weight = self._quantise(weight, post)
            self.connections_delay = delay
            simulator.state.note_delays(delay)
        self._chunks = []
        self.version += 1
        self._note_uniform(uniform)

    def _check_together(self, **changed):
        """The synapse type's checks across parameters of the same connections."""
        check = getattr(self.synapse_type, "check_connections", None)
        if check is not None:
            values = {name: getattr(self, f"connections_{name}")
                      for name in ["weight", "delay"] + self.extra_names}
            values.update(changed)
            check(values)

    @property
    def plastic(self):
        """Whether a PPU program (built-in STDP or a user's rule) may rewrite this
        projection's weights."""
        return (P.is_stdp(self)
                or getattr(self.synapse_type, "plasticity_rule", None) is not None)

    def _quantise(self, weight, post):
        """Weights as the chip holds them: exact on an ideal chip, on the 6-bit
        grid (an integer number of weight LSB, split over parallel rows above 63)
        on a real chip."""
        if simulator.state.ideal:
            return weight
        cm = simulator.parameter_of(simulator.cell_ids(self.post, post), "cm")
        cond = self._conductance_based(post)
        kappa = T.kappa(cm)
        w_hw = np.rint(T.weight_to_hw(weight, kappa, cond))
        return np.sign(weight) * T.weight_from_hw(w_hw, kappa, cond)

    # --- attributes ---
    def _set_attributes(self, parameter_space):
        parameter_space.evaluate(mask=(slice(None), slice(None)))
        new, uniform = {}, {}
        for name, value in parameter_space.items():
            if name not in ["weight", "delay"] + self.extra_names:
                raise errors.NonExistentParameterError(name, self.synapse_type,
                                                       ["weight", "delay"] + self.extra_names)
            matrix = value
            values = np.array([matrix[i, j] for i, j in zip(self.connections_pre,
                                                            self.connections_post)], float)
            if name == "weight":
                self._check_weights(values, self.connections_post)
            elif name != "delay":
                uniform[name] = self._check_extra(name, values)
            new[name] = values
        self._check_together(**new)
        if "weight" in new:
            new["weight"] = self._quantise(new["weight"], self.connections_post)
        for name, values in new.items():
            setattr(self, f"connections_{name}", values)
        self.version += 1
        self._note_uniform(uniform)

    def _get_attributes_as_arrays(self, attribute_names, multiple_synapses="sum"):
        out = []
        for name in attribute_names:
            values = getattr(self, f"connections_{name}")
            matrix = np.full((self.pre.size, self.post.size), np.nan)
            if multiple_synapses == "sum":
                matrix[self.connections_pre, self.connections_post] = 0
                np.add.at(matrix, (self.connections_pre, self.connections_post), values)
            else:
                matrix[self.connections_pre, self.connections_post] = values
            out.append(matrix)
        return out

    def _get_attributes_as_list(self, attribute_names):
        columns = []
        for name in attribute_names:
            if name == "presynaptic_index":
                columns.append(self.connections_pre)
            elif name == "postsynaptic_index":
                columns.append(self.connections_post)
            elif name in ("presynaptic_cell", "postsynaptic_cell"):
                pop = self.pre if name.startswith("pre") else self.post
                idx = self.connections_pre if name.startswith("pre") else self.connections_post
                columns.append(pop.all_cells[idx])
            else:
                columns.append(getattr(self, f"connections_{name}"))
        return list(zip(*columns))


def _connect_one_to_one(connector, projection):
    """OneToOneConnector.connect, as PyNN 0.13 does it, except that each
    column of the connection map is a 1-d array: PyNN's hands a one-cell
    population's column on as a 0-d array, which numpy 2 refuses to index
    (the same script fails on NEST)."""
    connection_map = LazyArray(lambda i, j: i == j, shape=projection.shape)

    def columns(mask=None):
        return (np.atleast_1d(column) for column in connection_map.by_column(mask))
    connector._standard_connect(projection, columns)
