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
from collections import defaultdict

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


def route(requests, config, integer_weights, capacity=None, reserved=None):
    """Place `requests` {(source, delay, receptor, hemisphere, stp, owner): (columns,
    weights)} into `config.synapses`; `stp` is None or (U, tau_rec, tau_facil) in
    chip us, and such a source gets a synapse driver of its own (the state is per
    driver); requests that differ only in `owner` get rows of their own (plastic
    synapses, which a PPU rule rewrites).  `capacity` {key: hardware weight}: the
    largest weight a request's synapses must be able to hold later (plastic
    synapses up to w_max), which sets its number of parallel rows.  `reserved`
    [2 hemispheres, 128 drivers]: drivers left to the caller.
    Returns ({(source, delay): [labels]}, {key: [(hemisphere, row) per part]},
    {key: [label per part]})."""
    syn = config.synapses
    capacity = capacity or {}
    order = sorted(requests, key=lambda k: -len(requests[k][0]))
    columns = [np.asarray(requests[key][0], dtype=np.int64) for key in order]
    weights = [np.asarray(requests[key][1], dtype=float) for key in order]
    column_start = np.zeros(len(order) + 1, np.int64)
    np.cumsum([len(c) for c in columns], out=column_start[1:])
    all_columns, all_weights = _concatenate(columns, np.int64), _concatenate(weights, float)
    largest = np.maximum(
        np.maximum.reduceat(all_weights, column_start[:-1]) if len(order) else np.zeros(0),
        [capacity.get(key, 0.0) for key in order])
    parts = np.maximum(1, np.ceil(largest / C.WEIGHT_MAX - 1e-9)).astype(np.int64)
    if len(parts) and parts.max() > ROWS:
        i = int(np.argmax(parts))
        raise RoutingError(
            f"weight: value {largest[i]:g} hardware LSB ({order[i][2]}) needs {parts[i]} "
            f"synapse rows in parallel ({C.WEIGHT_MAX} LSB each); a hemisphere has {ROWS}, so "
            f"the reachable range is 0..{ROWS * C.WEIGHT_MAX} LSB")
    hemisphere = np.array([key[3] for key in order], np.int64)
    receptor = [key[2] for key in order]
    row_mode = np.where(np.array(receptor) == "excitatory", C.ROW_EXCITATORY, C.ROW_INHIBITORY)
    own_driver = np.array([key[4] is not None for key in order], np.uint8)
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
            f"hemisphere {h}: no synapse row left for an {receptor[failed]} input to "
            f"{len(columns[failed])} neuron(s) ({used} of {ROWS} rows in use"
            + (f"; its weight, {largest[failed]:g} hardware LSB, takes {need} rows in "
               f"parallel ({C.WEIGHT_MAX} LSB each)" if need > 1 else "")
            + f"); a neuron's distinct inputs (source, delay, receptor) cannot exceed {ROWS} "
            f"rows per hemisphere")
    part_hemisphere = np.repeat(hemisphere, parts)
    driver = part_row // C.ROWS_PER_DRIVER
    syn.driver_enable[part_hemisphere, driver] = True
    syn.driver_row_select[part_hemisphere, driver] = row_select(part_hemisphere, driver)
    # Python lists once, sliced per request (numpy slices cost more than they carry)
    part_label = ((row_select(part_hemisphere, driver) << 6) | part_address).tolist()
    part_rows = part_row.tolist()
    labels = defaultdict(list)
    if len(part_rows) == len(order):
        # one row per request (weights within one row's range): no slicing
        key_labels = {key: [label] for key, label in zip(order, part_label)}
        placed = {key: [(key[3], row)] for key, row in zip(order, part_rows)}
        for key, label in zip(order, part_label):
            labels[key[0], key[1]].append(label)
    else:
        placed, key_labels = {}, {}
        first = np.r_[0, np.cumsum(parts)].tolist()
        for i, key in enumerate(order):
            source, delay, _, h, _, _ = key
            key_labels[key] = part_label[first[i]:first[i + 1]]
            labels[source, delay] += key_labels[key]
            placed[key] = [(h, r) for r in part_rows[first[i]:first[i + 1]]]
    for key in order:
        stp = key[4]
        if stp is not None:
            h, rows = key[3], [r for _, r in placed[key]]
            syn.stp_enable[h, rows] = True
            syn.stp_U[h, rows], syn.stp_tau_rec[h, rows], syn.stp_tau_facil[h, rows] = stp
    return labels, placed, key_labels


def _concatenate(arrays, dtype):
    return np.concatenate(arrays).astype(dtype, copy=False) if arrays else np.zeros(0, dtype)
