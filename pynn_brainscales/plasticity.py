"""STDP of the standard backend: correlation sensors plus a built-in PPU program.

Every synapse's sensor accumulates the pair kernel A exp(-|dt| / tau) on two
capacitors (causal: each post spike with the last pre spike before it; acausal:
each pre spike with the last post spike before it).  At each period the program
reads the plastic rows of both hemispheres through the CADC, turns the drops from
the reset level into pair sums, applies the weight dependence and writes the new
weights; then it resets the sensors it read.

How this differs from NEST's ``stdp_synapse`` (what PyNN's nest backend runs):

- Pairing is nearest-neighbour (NEST's ``stdp_nn_symm_synapse`` scheme), not
  all-to-all.  Where pairs lie further apart than a few tau both agree; at high
  rates the chip's potentiation and depression are weaker than NEST's.
- Weights change at the program's period (at the multiples of it in chip time,
  however the runs split the time), not at each spike, and the weight
  dependence uses the weight of the last update.  Weights read between updates
  are a preview of the update the program would make then (the same noise
  model, a random stream of its own), which changes nothing that follows.
- The sensor sees a pre spike when it reaches the synapse (after the delay) and a
  post spike at once (an axonal delay); NEST's delays are dendritic.  The program
  scales causal sums by exp(-2 f d / tau_plus) and acausal ones by
  exp(2 f d / tau_minus) (f = dendritic_delay_fraction), which makes both windows
  coincide, except for pairs closer than 2 f d, whose order the chip sees reversed.
- A real chip's sensors have mismatch (amplitude ~20 %, tau ~15 % per synapse;
  the quadrants' biases are calibrated, and the program divides each branch by
  its amplitude as the calibration measured it, so that potentiation and
  depression keep their balance), the CADC reads carry noise (~1.5 LSB),
  the capacitors saturate, and weights are 6-bit (stochastic rounding keeps small
  changes on average).  An ideal chip has none of this.
- tau_plus must equal tau_minus (one sensor bias per quadrant for both branches).
"""
import functools
from dataclasses import dataclass

import numpy as np

from cython_core import PPUProgram, constants as C
from cython_core._plasticity import pair_stdp_update
from cython_core._routing import synapse_order
from cython_core.chip import ADDITIVE_RULE
from cython_core import mismatch as M
from cython_core.config import ChipConfig

from .mapping import parallel_shares

# the program runs every PERIOD_PER_TAU sensor time constants: short enough that
# a period rarely holds more than a few pairs per synapse (saturation, updates
# with a stale weight), long enough that reading the sensors does not dominate
PERIOD_PER_TAU = 10.0
# the sensors' reset level per column is read from at most BASELINE_ROWS freshly
# reset rows, BASELINE_READS reads each (the most a read averages): the level has
# no part that varies from row to row, so 32 rows x 64 reads give the precision
# of 256 x 8 (~0.03 LSB) in as many CADC reads, and the emulator, which draws
# an averaged read's noise at once, converts an eighth of the rows
BASELINE_ROWS = 32
BASELINE_READS = 64
# every update averages this many CADC reads: each read carries ~1.5 LSB of
# temporal noise, which every update would otherwise add to every plastic weight
READS_PER_UPDATE = 4
# sensor amplitude (CADC LSB per pair): on a real chip large against the read
# noise, yet some ten pairs from the capacitors' saturation (1.5 % per pair) and
# within the calibration's reach in every quadrant; an ideal chip reads without
# noise and keeps far from saturation with a small one
AMPLITUDE_LSB = {False: 1.5, True: 0.2}


class _PlacementReads:
    """The weights of placed synapses (hemisphere, rows [n, parts] and columns
    of each connection, in the projection's connection order)."""

    # what only a full grid's placement knows (GridPlacement): its grid_layout
    # and synapse_order's result for its synapses
    layout = None
    memory_order = None

    @functools.cached_property
    def _synapse_index(self):
        # each part's index into a flat [2, 256, 256] array
        return ((self.hemisphere[:, None] * C.ROWS_PER_HEMISPHERE + self.rows)
                * C.COLUMNS_PER_HEMISPHERE + self.columns[:, None])

    def weights(self, synapse_weights):
        """Hardware weights (sum over parallel rows) from [2, 256, 256] arrays."""
        parts = np.take(np.ravel(synapse_weights), self._synapse_index)
        return parts[:, 0] if parts.shape[1] == 1 else parts.sum(axis=1)


@dataclass
class SynapsePlacement(_PlacementReads):
    """Where a plastic projection's connections sit: hemisphere, parallel rows
    [n, parts] and column of each (in the projection's connection order)."""
    hemisphere: np.ndarray
    rows: np.ndarray
    columns: np.ndarray

    @property
    def parts(self):
        """The number of parallel rows of each connection."""
        return self.rows.shape[1]


class GridPlacement(_PlacementReads):
    """Where a full grid's plastic synapses sit (connection i: post cell
    i // n_pre, pre cell i % n_pre), from the rows of its keys, `key_rows`
    [keys, parts] (each pre cell's in each hemisphere its post cells use, in
    that order), and each post cell's hemisphere and column.  The
    per-connection arrays of SynapsePlacement are made when first read: a run
    of the built-in STDP program reads none of them (~0.4 ms for a full chip's
    131k connections)."""

    def __init__(self, key_rows, n_pre, post_hemisphere, post_column):
        self.key_rows, self.n_pre = key_rows, n_pre
        self.post_hemisphere, self.post_column = post_hemisphere, post_column
        self.parts = key_rows.shape[1]
        self.layout = grid_layout(key_rows[:, 0].reshape(n_pre, -1), n_pre, post_hemisphere,
                                  post_column)

    @functools.cached_property
    def memory_order(self):
        """synapse_order's result for the synapses (from the layout), or None."""
        if self.layout is None:
            return None
        parts = [_grid_part(self.n_pre, *piece[1:]) for piece in self.layout]
        per_hemisphere = np.zeros(C.NUM_HEMISPHERES, np.int64)
        for (h, *_), (order, _, _) in zip(self.layout, parts):
            per_hemisphere[h] = len(order)
        order, first_rows, columns = (np.concatenate(arrays) for arrays in zip(*parts))
        return order, per_hemisphere, first_rows, columns

    @functools.cached_property
    def group(self):
        """The key of each connection."""
        used = np.bincount(self.post_hemisphere, minlength=C.NUM_HEMISPHERES) > 0
        rank = np.cumsum(used) - 1
        return (np.arange(self.n_pre)[None, :] * int(used.sum())
                + rank[self.post_hemisphere][:, None]).ravel()

    @functools.cached_property
    def hemisphere(self):
        return np.repeat(self.post_hemisphere, self.n_pre)

    @functools.cached_property
    def rows(self):
        return self.key_rows[self.group]

    @functools.cached_property
    def columns(self):
        return np.repeat(self.post_column, self.n_pre)


def grid_layout(key_rows, n_pre, post_hemisphere, post_column):
    """Where a full grid's synapses (connection i: post cell i // n_pre, pre
    cell i % n_pre) lie in memory, without synapse_order's sort and scatter
    over every synapse: per hemisphere its post cells use, in increasing
    order, (hemisphere, its row of each pre cell, its post cells by column,
    their columns).  `key_rows` [n_pre, hemispheres used]: the first row of
    each pre cell's key in each hemisphere; per post cell its hemisphere and
    column.  None unless each hemisphere's rows grow with the pre cell (as
    the allocation of requests in key order gives them): its synapses then
    lie row after row, each row's post cells by column."""
    used = np.flatnonzero(np.bincount(post_hemisphere, minlength=C.NUM_HEMISPHERES))
    if key_rows.shape != (n_pre, len(used)) or np.any(np.diff(key_rows, axis=0) <= 0):
        return None
    layout = []
    for j, h in enumerate(used.tolist()):
        posts = np.flatnonzero(post_hemisphere == h)
        posts = posts[np.argsort(post_column[posts], kind="stable")]
        layout.append((h, np.ascontiguousarray(key_rows[:, j]), posts, post_column[posts]))
    return layout


def _grid_part(n_pre, pre_rows, posts, post_columns):
    """One hemisphere's synapses of a grid_layout in memory order: the
    connection index, the row and the column of each."""
    shape = (n_pre, len(posts))
    # written in place: temporaries of a full chip's 131k synapses cost more
    # than the sort they replace
    order, rows, columns = (np.empty(shape, np.int64) for _ in range(3))
    np.add(posts[None, :] * n_pre, np.arange(n_pre)[:, None], out=order)
    rows[...] = pre_rows[:, None]
    columns[...] = post_columns
    return order.ravel(), rows.ravel(), columns.ravel()


def write_parts(weights, rows, columns, total, integer):
    """Spread hardware weights `total` over each connection's parallel `rows` of
    one hemisphere's [256, 256] `weights` (integers differ by at most one)."""
    shares = parallel_shares(total, rows.shape[1], integer)
    for k in range(rows.shape[1]):
        weights[rows[:, k], columns] = shares[..., k]


@dataclass
class PlasticGroup:
    """The plastic synapses of one STDP projection in one hemisphere; arrays over
    its connections (the rule's parameters: or one value for all), which sit at
    distinct synapses, in memory order (the first parallel row, then the
    column), as stdp_groups makes them.  Weights and their bounds are in
    hardware weight LSB."""
    index: np.ndarray          # connection indices in the projection
    hemisphere: int
    rows: np.ndarray           # [n, parts]: the parallel rows of each connection
    columns: np.ndarray
    a_plus: np.ndarray
    a_minus: np.ndarray
    w_min: np.ndarray
    w_max: np.ndarray
    mu_plus: np.ndarray
    mu_minus: np.ndarray
    causal_scale: np.ndarray
    acausal_scale: np.ndarray

    @property
    def parts(self):
        return self.rows.shape[1]

    def __len__(self):
        return len(self.rows)

    def used_rows(self):
        """Which of the hemisphere's rows hold synapses of the group, [256]."""
        return np.bincount(self.rows.ravel(), minlength=C.ROWS_PER_HEMISPHERE) > 0

    def first_and_last(self):
        """The flat places (row * 256 + column) of the first and the last synapse
        in memory order."""
        return (int(self.rows[0, 0]) * C.COLUMNS_PER_HEMISPHERE + int(self.columns[0]),
                int(self.rows[-1, 0]) * C.COLUMNS_PER_HEMISPHERE + int(self.columns[-1]))


class GridGroup(PlasticGroup):
    """A PlasticGroup of a full grid's synapses in one hemisphere, one row each
    (grid_layout's piece: its row of each pre cell, its post cells by
    column and their columns), whose rule parameters are one value each.
    Its connection indices, rows and columns are made when first read: the
    fused update of whole rows reads none of them (~0.3 ms for a full chip's
    131k synapses)."""

    def __init__(self, hemisphere, n_pre, pre_rows, posts, post_columns, **rule):
        self.hemisphere, self.n_pre = hemisphere, n_pre
        self.pre_rows, self.posts, self.post_columns = pre_rows, posts, post_columns
        for name, value in rule.items():
            setattr(self, name, value)

    @functools.cached_property
    def _arrays(self):
        return _grid_part(self.n_pre, self.pre_rows, self.posts, self.post_columns)

    index = property(lambda self: self._arrays[0])
    rows = property(lambda self: self._arrays[1][:, None])
    columns = property(lambda self: self._arrays[2])
    parts = 1

    def __len__(self):
        return self.n_pre * len(self.posts)

    def used_rows(self):
        used = np.zeros(C.ROWS_PER_HEMISPHERE, bool)
        used[self.pre_rows] = True
        return used

    def first_and_last(self):
        return (int(self.pre_rows[0]) * C.COLUMNS_PER_HEMISPHERE + int(self.post_columns[0]),
                int(self.pre_rows[-1]) * C.COLUMNS_PER_HEMISPHERE + int(self.post_columns[-1]))


def stdp_groups(projection, placement, unit, chip_us_per_ms):
    """PlasticGroups (one per hemisphere) of an STDP projection; `unit`: the
    biological weight of one hardware LSB per connection."""
    rule = connection_rule(projection, chip_us_per_ms)
    # one unit for all connections (their neurons share cm): divide once
    unit = _one_if_shared(unit)
    for name in ("w_min", "w_max"):
        rule[name] = _one_if_shared(rule[name] / unit)
    # a full-chip projection's parameters are ~10 MB per update when spelled out
    # per synapse: the program takes one value for all where they agree
    shared = {name: values for name, values in rule.items() if len(values) == 1}
    layout = placement.layout
    if layout is not None and placement.parts == 1 and len(shared) == len(rule):
        return [GridGroup(h, placement.n_pre, *piece, **shared) for h, *piece in layout]
    # in the order of the synapses (hemisphere, rows, then columns), so that
    # the program's reads and writes run along memory
    order, per_hemisphere, first_rows, columns = placement.memory_order or synapse_order(
        placement.hemisphere, np.ascontiguousarray(placement.rows[:, 0]), placement.columns)
    rows = (first_rows[:, None] if placement.parts == 1
            else np.take(placement.rows, order, axis=0))
    spelled_out = {name: values[order] for name, values in rule.items() if name not in shared}
    bounds = np.r_[0, np.cumsum(per_hemisphere)]
    groups = []
    for h in range(C.NUM_HEMISPHERES):
        part = slice(bounds[h], bounds[h + 1])
        if part.start == part.stop:
            continue
        groups.append(PlasticGroup(
            index=order[part], hemisphere=h, rows=rows[part], columns=columns[part],
            **{name: shared[name] if name in shared else spelled_out[name][part]
               for name in rule}))
    return groups


def is_stdp(projection):
    """Whether the built-in STDP program serves this projection."""
    return hasattr(projection.synapse_type, "timing_dependence")


def sensor_tau(projection, chip_us_per_ms, first_only=False):
    """The sensor time constant (chip us) each connection of an STDP projection
    needs (`first_only`: that of its first connection, where all share it)."""
    tau_plus = projection.connections_tau_plus
    return np.asarray(tau_plus[:1] if first_only else tau_plus, float) * chip_us_per_ms


def connection_rule(projection, chip_us_per_ms):
    """Rule parameters of an STDP projection's connections (biological units):
    the arrays PlasticGroup takes, each with one value per connection or, where
    all connections share it, one value."""
    synapse = projection.synapse_type
    fixed = {**synapse.timing_dependence.extra_parameters,
             **synapse.weight_dependence.extra_parameters}

    def connection_values(name):
        values = np.asarray(getattr(projection, f"connections_{name}"), float)
        return values[:1] if projection.is_uniform(name) else values

    def values(name):
        if name in projection.extra_names:
            return connection_values(name)
        return np.array([float(fixed[name])])

    tau_plus = sensor_tau(projection, chip_us_per_ms,
                          first_only=projection.is_uniform("tau_plus"))
    tau_minus = values("tau_minus") * chip_us_per_ms
    delay = connection_values("delay") * chip_us_per_ms
    fraction = values("dendritic_delay_fraction")
    return {
        "a_plus": values("A_plus"), "a_minus": values("A_minus"),
        "w_min": values("w_min"), "w_max": values("w_max"),
        "mu_plus": values("mu_plus"), "mu_minus": values("mu_minus"),
        "causal_scale": np.exp(-2.0 * fraction * delay / tau_plus),
        "acausal_scale": np.exp(2.0 * fraction * delay / tau_minus)}


def is_uniform(values):
    """Whether there are values and all are one (two reductions: no temporary
    as large as the values)."""
    return len(values) > 0 and values.min() == values.max()


def _one_if_shared(values):
    """The values, or the one value all of them share."""
    return values[:1] if is_uniform(values) else values


def ideal_sensor_biases(tau_us, amplitude_lsb, config=None):
    """Correlation biases (fractional CapMem) that give an ideal chip's sensors
    `tau_us` and `amplitude_lsb` CADC LSB per pair, on the design curves."""
    q = (config or ChipConfig()).quadrants
    lsb_per_mv = M.CADC_SLOPE_PER_LSB * np.asarray(q.cadc_i_ramp_slope, float)
    amplitude_bias = np.asarray(amplitude_lsb, float) / lsb_per_mv / (
        M.CORRELATION_AMPLITUDE_PER_LSB_MV)
    tau_bias = M.CORRELATION_TAU_REF_BIAS * (
        M.CORRELATION_TAU_REF_US / np.asarray(tau_us, float)) ** (1.0 / M.CORRELATION_TAU_EXPONENT)
    return tau_bias, amplitude_bias


class PairSTDPProgram:
    """The built-in PPU program: reads, updates and resets the plastic synapses
    of `groups` at every multiple of `period` us of chip time.  A run split
    into several (PyNN's callbacks, run() in a loop) updates at the same times
    as one: each update adds the CADC's read noise to every plastic weight,
    and an update at the end of every run made the weights diffuse with the
    number of calls.  The learning since the last update (`pending` after a
    run) shows in a preview of the update (Chip.preview_ppu), which the
    backend gives as the projections' weights."""

    def __init__(self, groups, period, amplitude_lsb, integer_weights):
        """`amplitude_lsb`: CADC LSB per pair, [branch (causal, acausal), quadrant]
        or anything that broadcasts to it."""
        self.groups = groups
        self.period = float(period)
        self.amplitude = np.broadcast_to(np.asarray(amplitude_lsb, float), (2, C.NUM_QUADRANTS))
        self.integer = integer_weights
        self.baseline = None       # sensor reset level per [hemisphere, branch, column]
        self._index = None         # per group: _indices(), once the baseline is known
        self._tables = None        # per hemisphere: _column_tables(), likewise
        used = np.zeros((C.NUM_HEMISPHERES, C.ROWS_PER_HEMISPHERE), bool)
        for g in groups:
            used[g.hemisphere] |= g.used_rows()
        self.rows = {h: np.flatnonzero(used[h]) for h in {g.hemisphere for g in groups}}
        self.pending = False       # pairs since the last update, after a run

    def program(self, t0, t1, step=0.0):
        """The PPUProgram for a run over [t0, t1] us: the updates at the
        multiples of the period in (t0, t1], after a first read of the
        sensors' reset level.  `step`: the chip's integration step, to which
        it rounds the calls up (an update in the last step is at the end)."""
        # a boundary within a billionth of a period of a run's end is its end
        # (chip times are sums of steps)
        k = np.arange(np.floor(t0 / self.period + 1e-9) + 1,
                      np.floor(t1 / self.period + 1e-9) + 1)
        times = k * self.period
        if len(times):
            times[-1] = min(times[-1], t1)
        self.pending = not (len(times) and times[-1] >= t1 - step * (1 - 1e-9))
        if self.baseline is None:
            times = np.concatenate([[t0], times])
        return PPUProgram(times, self)

    def __call__(self, ppu):
        if self.baseline is None:
            if not ppu.previewing:      # (nothing learned yet)
                self._read_baseline(ppu)
            return
        if self._index is None:         # the rows stay; the baseline is known now
            self._index = [self._indices(g) for g in self.groups]
            self._tables = {h: self._column_tables(h) for h in self.rows}
        fused = {}
        for h, rows in self.rows.items():
            mine = [(g, index) for g, index in zip(self.groups, self._index) if g.hemisphere == h]
            if len(mine) == 1 and mine[0][1]["leading_rows"]:
                # the hemisphere's first rows, all of one additive rule: read,
                # update, write and reset in one pass
                g = mine[0][0]
                reset_code, pairs_per_code = self._tables[h]
                fused[h] = dict(hemisphere=h, n_rows=len(rows), rule={
                    name: float(getattr(g, name)[0]) for name in ADDITIVE_RULE},
                    reset_code=reset_code, pairs_per_code=pairs_per_code,
                    reads=READS_PER_UPDATE)
        if len(fused) == len(self.rows):
            # every hemisphere fused: the two PPUs side by side
            ppu.additive_stdp_hemispheres(list(fused.values()))
            return
        for h, rows in self.rows.items():
            if h in fused:
                ppu.additive_stdp_rows(**fused[h])
                continue
            every = len(rows) == C.ROWS_PER_HEMISPHERE      # all rows, in order
            causal, acausal = ppu.read_correlation(h, None if every else rows,
                                                   reads=READS_PER_UPDATE)
            ppu.reset_correlation(h, None if every else rows)
            causal, acausal = (np.ascontiguousarray(x, float).ravel() for x in (causal, acausal))
            weights = np.ascontiguousarray(ppu.get_weights(h), dtype=float)
            for g, index in zip(self.groups, self._index):
                if g.hemisphere != h:
                    continue
                uniform = ppu.random(len(g.index)) if self.integer else np.zeros(0)
                pair_stdp_update(causal, acausal, index["read"], index["synapse"],
                                 weights.ravel(), *self._tables[h],
                                 g.causal_scale, g.acausal_scale, g.a_plus, g.a_minus,
                                 g.w_min, g.w_max, g.mu_plus, g.mu_minus, uniform,
                                 self.integer)
            if every:
                ppu.set_weights(h, weights)
            else:
                ppu.set_weights(h, weights[rows], rows=rows)

    def _read_baseline(self, ppu):
        """The sensors' reset level per channel: freshly reset rows, averaged over
        reads and rows (the reset voltage is per quadrant, the CADC offset per
        channel: the same for all rows of a column)."""
        self.baseline = np.zeros((C.NUM_HEMISPHERES, 2, C.COLUMNS_PER_HEMISPHERE))
        for h, rows in self.rows.items():
            ppu.reset_correlation(h, rows)
            causal, acausal = ppu.read_correlation(h, rows[:BASELINE_ROWS], reads=BASELINE_READS)
            self.baseline[h, 0] = causal.mean(axis=0)
            self.baseline[h, 1] = acausal.mean(axis=0)

    def _indices(self, g):
        """A group's flat indices into its hemisphere's row reads and weights."""
        h = g.hemisphere
        shared = all(len(getattr(g, name)) == 1
                     for name in ADDITIVE_RULE + ("mu_plus", "mu_minus"))
        read_count = len(self.rows[h]) * C.COLUMNS_PER_HEMISPHERE
        # distinct synapses in memory order (PlasticGroup) fill the leading rows
        # exactly where there are as many as they hold, the first at the first
        # place and the last at the last
        if (shared and g.mu_plus[0] == 0.0 and g.mu_minus[0] == 0.0
                and g.parts == 1 and len(g) == read_count
                and g.first_and_last() == (0, read_count - 1)):
            # one additive rule on every synapse of the rows read, which are the
            # hemisphere's first, in their order: the fused update needs no index
            # arrays (and no other group can share these rows)
            return {"read": None, "synapse": None, "leading_rows": True}
        place = np.full(C.ROWS_PER_HEMISPHERE, -1, np.int64)
        place[self.rows[h]] = np.arange(len(self.rows[h]))
        position = place[g.rows]                   # of each row among those read
        read = np.ascontiguousarray(position * C.COLUMNS_PER_HEMISPHERE + g.columns[:, None],
                                    np.int64)
        synapse = g.rows * C.COLUMNS_PER_HEMISPHERE + g.columns[:, None]
        # reading every row in order, the two coincide
        same = np.array_equal(read, synapse)
        return {"read": read, "synapse": read if same else np.ascontiguousarray(synapse, np.int64),
                "leading_rows": False}

    def _column_tables(self, h):
        """Reset code and pairs per code of each [branch, column] of hemisphere h."""
        quadrant = h * 2 + np.arange(C.COLUMNS_PER_HEMISPHERE) // C.NEURONS_PER_QUADRANT
        return (np.ascontiguousarray(self.baseline[h], float),
                np.ascontiguousarray(1.0 / self.amplitude[:, quadrant], float))
