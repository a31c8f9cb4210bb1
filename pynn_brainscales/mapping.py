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
from dataclasses import dataclass

import numpy as np

from cython_core import constants as C

ROWS = C.ROWS_PER_HEMISPHERE
COLS = C.COLUMNS_PER_HEMISPHERE


class RoutingError(ValueError):
    """The network needs more synapse rows or addresses than a hemisphere has."""


@dataclass
class Route:
    label: int
    delay: float


def row_select(hemisphere, driver):
    """Drivers of hemisphere 1 use row selects 128..255, so that an event reaches
    exactly one driver of one hemisphere."""
    return hemisphere * C.DRIVERS_PER_HEMISPHERE + driver


def split_weights(weights, parts, integer):
    """Split weights over `parts` parallel rows: each part <= 63; exact sums."""
    if not integer:
        return [weights / parts] * parts
    w = np.rint(weights).astype(np.int64)
    base, rest = np.divmod(w, parts)
    return [(base + (k < rest)).astype(float) for k in range(parts)]


def _column_bits(columns):
    """Columns as a bit mask, 64 columns per uint64 word."""
    mask = np.zeros(COLS, bool)
    mask[columns] = True
    return np.packbits(mask, bitorder="little").view(np.uint64)


def _bits_columns(bits):
    """The column mask of a row's bit words."""
    return np.unpackbits(bits.view(np.uint8), bitorder="little").astype(bool)


def route(requests, config, integer_weights, capacity=None):
    """Place `requests` {(source, delay, receptor, hemisphere, stp, owner): (columns,
    weights)} into `config.synapses`; `stp` is None or (U, tau_rec, tau_facil) in
    chip us, and such a source gets a synapse driver of its own (the state is per
    driver); requests that differ only in `owner` get rows of their own (plastic
    synapses, which a PPU rule rewrites).  `capacity` {key: hardware weight}: the
    largest weight a request's synapses must be able to hold later (plastic
    synapses up to w_max), which sets its number of parallel rows.
    Returns ({(source, delay): [labels]}, {key: [(hemisphere, row) per part]})."""
    syn = config.synapses
    mode = np.zeros((C.NUM_HEMISPHERES, ROWS), np.int64)
    # the synapses in use, per row 64 columns to a word (the free-row test of a
    # request is then a few word operations per row)
    occupied_bits = np.zeros((C.NUM_HEMISPHERES, ROWS, COLS // 64), np.uint64)
    next_address = np.zeros((C.NUM_HEMISPHERES, C.DRIVERS_PER_HEMISPHERE), np.int64)
    labels = defaultdict(list)
    placed = defaultdict(list)
    capacity = capacity or {}
    order = sorted(requests, key=lambda k: -len(requests[k][0]))
    for key in order:
        source, delay, receptor, h, stp, _ = key
        columns = np.asarray(requests[key][0], dtype=np.int64)
        weights = np.asarray(requests[key][1], dtype=float)
        largest = max(weights.max(), capacity.get(key, 0.0))
        parts = max(1, int(np.ceil(largest / C.WEIGHT_MAX - 1e-9)))
        want = C.ROW_EXCITATORY if receptor == "excitatory" else C.ROW_INHIBITORY
        column_bits = _column_bits(columns)
        for part in split_weights(weights, parts, integer_weights):
            if stp is None:
                clash = (occupied_bits[h] & column_bits).any(axis=1)
                free = ((mode[h] == 0) | (mode[h] == want)) & ~clash
            else:
                # short-term plasticity acts per driver on every event it passes:
                # a driver of its own (both rows unused, no other address)
                pair_free = (mode[h].reshape(-1, C.ROWS_PER_DRIVER) == 0).all(axis=1) & (
                    next_address[h] == 0)
                free = np.repeat(pair_free, C.ROWS_PER_DRIVER) & (np.arange(ROWS) % 2 == 0)
            free &= next_address[h, np.arange(ROWS) // C.ROWS_PER_DRIVER] <= C.ADDRESS_MAX
            rows = np.flatnonzero(free)
            if rows.size == 0:
                used = int(np.count_nonzero(mode[h]))
                raise RoutingError(
                    f"hemisphere {h}: no synapse row left for a {receptor} input to "
                    f"{len(columns)} neuron(s) ({used} of {ROWS} rows in use); a neuron's "
                    f"distinct inputs (source, delay, receptor) cannot exceed {ROWS} rows "
                    f"per hemisphere")
            r = rows[0]
            d = r // C.ROWS_PER_DRIVER
            address = next_address[h, d]
            next_address[h, d] += 1
            mode[h, r] = want
            occupied_bits[h, r] |= column_bits
            if stp is not None:                    # no other source on this driver
                occupied_bits[h, r] = np.iinfo(np.uint64).max
                next_address[h, d] = C.ADDRESS_MAX + 1
                syn.stp_enable[h, r] = True
                syn.stp_U[h, r], syn.stp_tau_rec[h, r], syn.stp_tau_facil[h, r] = stp
            syn.row_modes[h, r] = want
            syn.driver_enable[h, d] = True
            syn.driver_row_select[h, d] = row_select(h, d)
            syn.labels[h, r, columns] = address
            syn.weights[h, r, columns] = part
            labels[source, delay].append((row_select(h, d) << 6) | int(address))
            placed[key].append((h, int(r)))
    # idle synapses of used rows keep weight 0; where the driver has an address
    # left, they listen to it, so that no source's events reach them at all
    for h in range(C.NUM_HEMISPHERES):
        for r in np.flatnonzero(mode[h]):
            idle = ~_bits_columns(occupied_bits[h, r])
            syn.weights[h, r, idle] = 0
            unused = next_address[h, r // C.ROWS_PER_DRIVER]
            if unused <= C.ADDRESS_MAX:
                syn.labels[h, r, idle] = unused
    return labels, placed
