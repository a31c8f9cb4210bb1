"""Routing a network onto the synapse arrays.

A *row request* is one presynaptic source (a spike source cell or a chip
neuron) with one delay and one receptor type, reaching a set of columns
(postsynaptic neurons) of one hemisphere with given hardware weights.  Rows are
allocated greedily: a row serves one receptor type and several sources as long
as no column is used twice; the two rows of a synapse driver share its 64
addresses.  Weights above 63 use several rows in parallel.  Each placed row
gets an event label (driver row_select << 6 | address); the backend sends each
source's spikes to all its labels (external sources as input events, chip
neurons through the FPGA loopback, which also realises the delay).
"""

import numpy as np

from cython_core import constants as C
from cython_core._routing import allocate_rows

ROWS = C.ROWS_PER_HEMISPHERE


class RoutingError(ValueError):
    """The network needs more synapse rows or addresses than a hemisphere has."""


def row_select(hemisphere, driver):
    """Drivers of hemisphere 1 use row selects 128..255, so that an event reaches
    exactly one driver of one hemisphere."""
    return hemisphere * C.DRIVERS_PER_HEMISPHERE + driver


def parallel_shares(total, parts, integer):
    """Hardware weights (a number or an array) spread over `parts` parallel
    rows, [..., parts]: integers differing by at most one (the larger first)
    that sum to the weight, or equal shares."""
    total = np.asarray(total, float)
    if not integer:
        return np.repeat((total / parts)[..., None], parts, axis=-1)
    base, rest = np.divmod(np.rint(total).astype(np.int64), parts)
    return base[..., None] + (np.arange(parts) < rest[..., None])


def source_key(code):
    """The routing key of a source code: ("source", id) for the id (>= 0) of a
    spike source, ("neuron", circuit) for -1 - circuit of a chip neuron."""
    return ("source", code) if code >= 0 else ("neuron", -1 - code)


def source_code(source):
    """The source code of a source's routing key (source_key's inverse)."""
    return source[1] if source[0] == "source" else -1 - source[1]


class GridKeys:
    """The row-request keys (source, delay, receptor, hemisphere, stp, owner)
    of a full grid, each pre cell's source in each hemisphere its post cells
    use, in that order (distinct, no stp): a sequence of the key tuples, made
    when read, whose columns route() takes without them (the tuples of a full
    chip's 512 keys and their unpacking took ~0.4 ms).  `codes`: each pre
    cell's source code (source_key), `hemispheres` those used, increasing."""

    def __init__(self, codes, delay, receptor, hemispheres, owner):
        self.codes = np.asarray(codes, np.int64)
        self.delay, self.receptor, self.owner = delay, receptor, owner
        self.hemispheres = [int(h) for h in hemispheres]

    def __len__(self):
        return len(self.codes) * len(self.hemispheres)

    def __getitem__(self, i):
        if not -len(self) <= i < len(self):
            raise IndexError(i)
        pre, h = divmod(i % len(self), len(self.hemispheres))
        return (source_key(int(self.codes[pre])), self.delay, self.receptor,
                self.hemispheres[h], None, self.owner)

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def columns(self):
        """(source code, delay, excitatory, hemisphere) of each key as arrays,
        and its stp (None each)."""
        n, used = len(self), len(self.hemispheres)
        return (np.repeat(self.codes, used), np.full(n, float(self.delay)),
                np.full(n, self.receptor == "excitatory"),
                np.tile(np.array(self.hemispheres, np.int64), len(self.codes)), [None] * n)


def key_columns(keys):
    """The columns of row-request keys (GridKeys.columns), from any sequence
    of key tuples."""
    if isinstance(keys, GridKeys):
        return keys.columns()
    sources, delays, receptor, hemispheres, stps, _ = zip(*keys) if len(keys) else ((),) * 6
    return (np.array([source_code(source) for source in sources], np.int64),
            np.array(delays, float), np.array([r == "excitatory" for r in receptor], bool),
            np.array(hemispheres, np.int64), list(stps))


class RowRequests:
    """Row requests in arrays: the columns and hardware weights of keys[i] are
    columns[start[i]:start[i + 1]] and weights[start[i]:start[i + 1]];
    capacity[i] (default 0): the largest hardware weight its synapses must be
    able to hold later (plastic synapses up to w_max), which with its weights
    sets its number of parallel rows."""

    def __init__(self, keys, start, columns, weights, capacity=None):
        self.keys = keys
        self.start = np.asarray(start, np.int64)
        self.columns = np.asarray(columns, np.int64)
        self.weights = np.asarray(weights, float)
        self.capacity = (np.zeros(len(keys)) if capacity is None
                         else np.broadcast_to(np.asarray(capacity, float), (len(keys),)))
        self.index_of_part = [np.arange(len(keys))]

    @classmethod
    def joined(cls, parts):
        """The requests of several projections, `parts`: per projection (keys,
        start of each key's run, columns, weights, capacity: one for all its
        keys).  A key that more than one projection requests takes its weights
        summed per column and the largest capacity; the keys keep the order of
        their first request.  `index_of_part[j]`: where the keys of part j are
        among the joined ones."""
        # one grid's keys are distinct: kept as they are
        single_grid = len(parts) == 1 and isinstance(parts[0][0], GridKeys)
        keys = parts[0][0] if single_grid else [key for part in parts for key in part[0]]
        capacity = np.repeat([float(part[4]) for part in parts],
                             [len(part[0]) for part in parts])
        if single_grid or len(set(keys)) == len(keys):
            offset = np.cumsum([0] + [len(part[2]) for part in parts])
            start = np.concatenate([np.asarray(part[1][:-1], np.int64) + o
                                    for part, o in zip(parts, offset)] + [offset[-1:]])
            joined = cls(keys, start, _concatenate([p[2] for p in parts], np.int64),
                         _concatenate([p[3] for p in parts], float), capacity)
            first = np.cumsum([0] + [len(part[0]) for part in parts])
            joined.index_of_part = [np.arange(a, b) for a, b in zip(first[:-1], first[1:])]
            return joined
        runs, largest = {}, {}
        for part_keys, start, columns, weights, part_capacity in parts:
            for i, key in enumerate(part_keys):
                runs.setdefault(key, []).append((columns[start[i]:start[i + 1]],
                                                 weights[start[i]:start[i + 1]]))
                largest[key] = max(largest.get(key, 0.0), float(part_capacity))
        runs = {key: r[0] if len(r) == 1 else _sum_by_column(r) for key, r in runs.items()}
        start = np.cumsum([0] + [len(c) for c, _ in runs.values()])
        joined = cls(list(runs), start, _concatenate([c for c, _ in runs.values()], np.int64),
                     _concatenate([w for _, w in runs.values()], float),
                     [largest[key] for key in runs])
        index = {key: i for i, key in enumerate(runs)}
        joined.index_of_part = [np.array([index[key] for key in part[0]], np.int64)
                                for part in parts]
        return joined


class Routing:
    """Where route() placed the requests: the routes (arrays of source code,
    delay and label; _routes_by_source), and per request (in the requests'
    order) its parallel rows and their labels, part_row[part_start[i]:
    part_start[i + 1]] and part_label[...]; the number of synapses placed."""

    def __init__(self, routes, part_start, part_row, part_label, synapses):
        self.routes = routes
        self.part_start = part_start
        self.part_row = part_row
        self.part_label = part_label
        self.synapses = synapses

    def rows(self, index):
        """The parallel rows of the requests `index`, [len(index), parts] (one
        number of parts for all of them)."""
        start = self.part_start[index]
        parts = self.part_start[np.asarray(index) + 1] - start
        if len(parts) and np.any(parts != parts[0]):
            raise ValueError(f"requests with {parts.min()} and {parts.max()} parallel rows")
        width = int(parts[0]) if len(parts) else 1
        return self.part_row[start[:, None] + np.arange(width)]

    def labels_of(self, i):
        return self.part_label[self.part_start[i]:self.part_start[i + 1]].tolist()


def run_index(starts, lengths):
    """The indices of the runs starts[i] .. starts[i] + lengths[i] - 1, one run
    after another (the runs of a sorted order gathered from their places)."""
    lengths = np.asarray(lengths, np.int64)
    ends = np.cumsum(lengths)
    return (np.repeat(np.asarray(starts, np.int64) - (ends - lengths), lengths)
            + np.arange(ends[-1] if len(ends) else 0))


def _sum_by_column(parts):
    """(columns, weights) of a row request from its parts, summed per column."""
    columns = np.concatenate([c for c, _ in parts])
    weights = np.concatenate([w for _, w in parts])
    unique, inverse = np.unique(columns, return_inverse=True)
    return unique, np.bincount(inverse, weights=weights, minlength=len(unique))


def route(requests, config, integer_weights, reserved=None):
    """Place `requests` (RowRequests; keys (source, delay, receptor, hemisphere,
    stp, owner)) into `config.synapses`; `stp` is None or (U, tau_rec,
    tau_facil) in chip us, and such a source gets a synapse driver of its own
    (the state is per driver); requests that differ only in `owner` get rows of
    their own (plastic synapses, which a PPU rule rewrites).  Each request's
    weights and capacity set its number of parallel rows.  `reserved` [2
    hemispheres, 128 drivers]: drivers left to the caller.
    Returns a Routing."""
    syn = config.synapses
    # the requests with the most columns first (a stable order)
    lengths = np.diff(requests.start)
    by_length = np.argsort(-lengths, kind="stable")
    in_order = np.array_equal(by_length, np.arange(len(by_length)))
    # the keys' fields as columns (the per-key loops below ran ~1 ms for a full chip)
    codes, delays, excitatory, hemisphere, stps = key_columns(requests.keys)
    if not in_order:
        codes, delays, excitatory, hemisphere = (
            column[by_length] for column in (codes, delays, excitatory, hemisphere))
        stps = [stps[i] for i in by_length.tolist()]
    column_start = np.zeros(len(codes) + 1, np.int64)
    np.cumsum(lengths[by_length], out=column_start[1:])
    if in_order:
        all_columns, all_weights = requests.columns, requests.weights
    else:
        carried = run_index(requests.start[by_length], lengths[by_length])
        all_columns, all_weights = requests.columns[carried], requests.weights[carried]
    largest = np.maximum(
        np.maximum.reduceat(all_weights, column_start[:-1]) if len(codes) else np.zeros(0),
        requests.capacity[by_length])
    parts = np.maximum(1, np.ceil(largest / C.WEIGHT_MAX - 1e-9)).astype(np.int64)
    if len(parts) and parts.max() > ROWS:
        i = int(np.argmax(parts))
        raise RoutingError(
            f"weight: value {largest[i]:g} hardware LSB ({_receptor(excitatory[i])}) needs "
            f"{parts[i]} synapse rows in parallel ({C.WEIGHT_MAX} LSB each); a hemisphere has "
            f"{ROWS}, so the reachable range is 0..{ROWS * C.WEIGHT_MAX} LSB")
    row_mode = np.where(excitatory, C.ROW_EXCITATORY, C.ROW_INHIBITORY)
    own_driver = np.array([stp is not None for stp in stps], np.uint8)
    part_row = np.zeros(int(parts.sum()), np.int64)
    part_address = np.zeros_like(part_row)
    failed = allocate_rows(hemisphere, row_mode.astype(np.int64), own_driver, parts,
                           column_start, all_columns, all_weights, bool(integer_weights),
                           syn.weights, syn.labels, syn.row_modes, part_row, part_address,
                           None if reserved is None else np.ascontiguousarray(reserved, np.uint8))
    if failed >= 0:
        h = hemisphere[failed]
        used = int(np.count_nonzero(syn.row_modes[h]))
        need = int(parts[failed])
        raise RoutingError(
            f"hemisphere {h}: no synapse row left for an {_receptor(excitatory[failed])} input to "
            f"{column_start[failed + 1] - column_start[failed]} neuron(s) ({used} of {ROWS} "
            f"rows in use"
            + (f"; its weight, {largest[failed]:g} hardware LSB, takes {need} rows in "
               f"parallel ({C.WEIGHT_MAX} LSB each)" if need > 1 else "")
            + f"); a neuron's distinct inputs (source, delay, receptor) cannot exceed {ROWS} "
            f"rows per hemisphere")
    part_hemisphere = np.repeat(hemisphere, parts)
    driver = part_row // C.ROWS_PER_DRIVER
    syn.driver_enable[part_hemisphere, driver] = True
    syn.driver_row_select[part_hemisphere, driver] = row_select(part_hemisphere, driver)
    part_label = (row_select(part_hemisphere, driver) << 6) | part_address
    first = np.r_[0, np.cumsum(parts)]
    for i in np.flatnonzero(own_driver).tolist():
        h, rows = int(hemisphere[i]), part_row[first[i]:first[i + 1]]
        syn.stp_enable[h, rows] = True
        syn.stp_U[h, rows], syn.stp_tau_rec[h, rows], syn.stp_tau_facil[h, rows] = stps[i]
    # the parts back in the requests' order
    request_parts = np.empty_like(parts)
    request_parts[by_length] = parts
    part_start = np.zeros(len(codes) + 1, np.int64)
    np.cumsum(request_parts, out=part_start[1:])
    if in_order:
        request_row, request_label = part_row, part_label
    else:
        place = run_index(part_start[by_length], parts)
        request_row, request_label = np.empty_like(part_row), np.empty_like(part_label)
        request_row[place], request_label[place] = part_row, part_label
    # each part of a request (a parallel row) takes one synapse per column
    routes = _routes_by_source(codes, np.repeat(delays, parts), parts, part_label)
    return Routing(routes, part_start, request_row, request_label,
                   int(np.dot(np.diff(column_start), parts)))


def _receptor(excitatory):
    return "excitatory" if excitatory else "inhibitory"


def _routes_by_source(codes, part_delay, parts, part_label):
    """The labels each (source, delay) sends, as arrays (source code: the id of
    a spike source, -1 - circuit of a chip neuron; delay; label), grouped by
    (source, delay) in the order each first appears among the parts, each
    group's labels in the parts' order."""
    part_code = np.repeat(codes, parts)
    position = np.arange(len(part_code))
    by_key = np.lexsort((position, part_delay, part_code))
    code, delay = part_code[by_key], part_delay[by_key]
    starts = np.r_[True, (code[1:] != code[:-1]) | (delay[1:] != delay[:-1])][:len(code)]
    first_of_key = np.empty_like(position)
    first_of_key[by_key] = by_key[starts][np.cumsum(starts) - 1]
    order = np.lexsort((position, first_of_key))
    return part_code[order], part_delay[order], part_label[order]


def _concatenate(arrays, dtype):
    if len(arrays) == 1:            # one projection's requests: no copy
        return np.asarray(arrays[0], dtype)
    return np.concatenate(arrays).astype(dtype, copy=False) if arrays else np.zeros(0, dtype)
