"""Measurements through what a real chip offers: CADC reads, MADC traces, spike
counts, correlation reads by a PPU program.  Nothing here looks at the
emulator's hidden state or mismatch: only `Chip.run` and its readout.

Every measurement starts from a freshly initialised chip state
(`reset_state`) and lets the circuits settle before reading.
"""
import weakref

import numpy as np

from cython_core import CadcRecording, MadcRecording, PPUProgram, constants as C
from cython_core import mismatch as M

ALL_NEURONS = np.arange(C.NUM_NEURONS)


# MADC transfers measured on chip instances (calibration.steps.madc): codes per
# mV and mV at code 0; chips without one are read with the design's
NOMINAL_MADC_TRANSFER = (M.MADC_GAIN_CODES_PER_MV, M.MADC_OFFSET_MV)
_madc_transfers = weakref.WeakKeyDictionary()


def use_madc_transfer(chip, transfer):
    """Read `chip`'s MADC with `transfer` (codes per mV, mV at code 0) from now on."""
    _madc_transfers[chip] = tuple(float(x) for x in transfer)


def madc_to_mv(codes, chip=None):
    """MADC codes in mV: with the transfer measured on `chip`, else the design's."""
    codes_per_mv, zero_mv = _madc_transfers.get(chip, NOMINAL_MADC_TRANSFER)
    return np.asarray(codes, float) / codes_per_mv + zero_mv


def madc_mean_codes(chip, observable, duration=20.0, interval=0.1, settle=50.0):
    """Mean MADC code of every neuron's `observable` over `duration` us."""
    chip.reset_state()
    run_settling(chip, settle)
    res = chip.run(duration, madc=MadcRecording(ALL_NEURONS, observable, interval))
    return res.madc_codes.astype(float).mean(axis=0)


def run_settling(chip, duration):
    """Let the chip settle for at least `duration` us (whole integration steps)."""
    chip.run(np.ceil(duration / chip.dt - 1e-9) * chip.dt)


def cadc_membrane(chip, settle=50.0, reads=20, interval=1.0):
    """Mean CADC reading (LSB) of every neuron's membrane: `reads` reads
    `interval` us apart after `settle` us."""
    chip.reset_state()
    run_settling(chip, settle)
    res = chip.run(reads * interval, cadc=CadcRecording(ALL_NEURONS, interval=interval))
    return res.cadc_codes.astype(float).mean(axis=0)


def cadc_membrane_samples(chip, duration, interval, settle=20.0):
    """All CADC membrane reads [reads, 512] over `duration` us after `settle`."""
    chip.reset_state()
    run_settling(chip, settle)
    res = chip.run(duration, cadc=CadcRecording(ALL_NEURONS, interval=interval))
    return res.cadc_codes.astype(float)


def spike_counts(chip, duration, settle=10.0):
    """Spikes per neuron in `duration` us after `settle` us (FPGA spike events)."""
    chip.reset_state()
    if settle > 0:
        run_settling(chip, settle)
    res = chip.run(duration)
    return np.bincount(res.spike_neurons, minlength=C.NUM_NEURONS)


def first_spikes(chip, offset_current_schedule, duration, settle=30.0):
    """Each neuron's first spike (us after `settle`; inf: none) in `duration` us
    under `offset_current_schedule` (times relative to the same start)."""
    chip.reset_state()
    run_settling(chip, settle)
    t0 = chip.time
    st, sn, sv = offset_current_schedule
    res = chip.run(duration, offset_current_schedule=(np.asarray(st) + t0, sn, sv))
    first = np.full(C.NUM_NEURONS, np.inf)
    np.minimum.at(first, res.spike_neurons, res.spike_times - t0)
    return first


def madc_trace(chip, duration, observable="v", interval=0.1, spikes=None,
               offset_current_schedule=None, settle=30.0):
    """MADC traces of all neurons after `settle` us; times relative to the start
    of the recording.  Returns (times, traces in nominal mV [samples, 512])."""
    chip.reset_state()
    run_settling(chip, settle)
    t0 = chip.time
    if spikes is not None:
        spikes = (np.asarray(spikes[0]) + t0, spikes[1])
    if offset_current_schedule is not None:
        st, sn, sv = offset_current_schedule
        offset_current_schedule = (np.asarray(st) + t0, sn, sv)
    res = chip.run(duration, spikes=spikes, madc=MadcRecording(ALL_NEURONS, observable, interval),
                   offset_current_schedule=offset_current_schedule)
    return res.madc_times - t0, madc_to_mv(res.madc_codes, chip)


def madc_windows(chip, starts, length, observable="v", interval=0.1, spikes=None, settle=30.0):
    """MADC traces of all neurons in windows of `length` us from each of `starts`
    (us after `settle`, increasing); the chip runs on between them without
    recording (a trace is converted sample by sample: what lies between the
    windows would cost as much as the windows' own run).  `spikes` (times after
    `settle`, labels) may fall anywhere.  `observable`: one, or several read
    side by side.  Returns one (times after `settle`, traces in mV [samples,
    512 per observable, in their order]) per window."""
    chip.reset_state()
    run_settling(chip, settle)
    t0 = chip.time
    times = np.zeros(0) if spikes is None else np.asarray(spikes[0], float)
    labels = np.zeros(0, np.int64) if spikes is None else np.asarray(spikes[1])
    on_grid = lambda t: np.rint((t - chip.time) / chip.dt) * chip.dt

    def run_to(t, madc=None):
        duration = on_grid(t0 + t)
        within = (times + t0 >= chip.time) & (times + t0 < chip.time + duration)
        return chip.run(duration, spikes=(times[within] + t0, labels[within]), madc=madc)

    observables = [observable] if isinstance(observable, str) else list(observable)
    channels = MadcRecording(np.tile(ALL_NEURONS, len(observables)),
                             [o for o in observables for _ in ALL_NEURONS], interval)
    windows = []
    for start in starts:
        if on_grid(t0 + start) > 0:
            run_to(start)
        res = run_to(start + length, channels)
        windows.append((res.madc_times - t0, madc_to_mv(res.madc_codes, chip)))
    return windows


def correlation_reset_reads(chip, reads=8):
    """Mean causal/acausal CADC reads of the idle correlation sensors (at their
    reset voltage) per channel: [hemisphere, branch, column], averaged over
    `reads` reads of all 256 rows."""
    out = np.zeros((C.NUM_HEMISPHERES, 2, C.COLUMNS_PER_HEMISPHERE))

    def program(ppu):
        for h in range(C.NUM_HEMISPHERES):
            causal, acausal = ppu.read_correlation(h)
            out[h, 0] += causal.mean(axis=0)
            out[h, 1] += acausal.mean(axis=0)

    chip.reset_state()
    chip.run(float(reads) * 2.0, ppu=[PPUProgram(2.0 * np.arange(1, reads + 1), program)])
    return out / reads
