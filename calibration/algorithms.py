"""Search algorithms: they know nothing of the chip, only of a Step.

A Step (see steps/base.py) has `configure(settings)` (write one setting per
instance), `measure()` (one result per instance), `inverted` (True when the
result falls as the setting rises) and `setting_range` (low, high).  An
algorithm drives it towards `target` (a scalar or one value per instance) and
returns an Outcome: the settings written back, the last results, and which
instances ended on a range bound (failed).
"""
from dataclasses import dataclass

import numpy as np


@dataclass
class Outcome:
    settings: np.ndarray
    results: np.ndarray
    failed: np.ndarray          # bool per instance: the setting ended on a range bound
    measurements: int


def _bounds(step):
    low, high = step.setting_range
    return int(low), int(high)


def _finish(step, settings, results, measurements, unbracketed=None):
    """`unbracketed`: instances whose results never crossed the target, i.e.
    the target lies beyond what the range reaches."""
    low, high = _bounds(step)
    step.configure(settings)
    failed = (settings <= low) | (settings >= high)
    if unbracketed is not None:
        failed |= unbracketed
    return Outcome(settings.astype(np.int64), np.asarray(results, float), failed, measurements)


def _direction(results, target, inverted):
    """+1 where the setting must rise to approach the target, -1 where it must fall."""
    up = np.asarray(results) < target
    if inverted:
        up = ~up
    return np.where(up, 1, -1)


class BinarySearch:
    """Binary search over the setting range, all instances in parallel.

    Starts in the middle (or at `initial`), halves the step from a quarter of
    the range down to 1: about log2(range) + 2 measurements.  Of the last
    measured settings, the one whose result was closest to the target is
    written back.
    """

    def __init__(self, initial=None, keep_best=3):
        self.initial = initial
        self.keep_best = keep_best

    def _start(self, step, n):
        low, high = _bounds(step)
        if self.initial is None:
            return np.full(n, (low + high) // 2, dtype=np.int64)
        return np.clip(np.broadcast_to(np.asarray(self.initial, np.int64), (n,)), low, high).copy()

    def run(self, step, target, n):
        low, high = _bounds(step)
        settings = self._start(step, n)
        target = np.broadcast_to(np.asarray(target, float), (n,))
        # from the middle, steps of a quarter of the range down to 1 reach every setting
        size = max(1, 1 << int(np.ceil(np.log2(max(1.0, (high - low + 1) / 4)))))
        history_s, history_r = [], []
        measurements = 0
        went_up = np.zeros(n, bool)
        went_down = np.zeros(n, bool)
        while True:
            step.configure(settings)
            results = np.asarray(step.measure(), float)
            measurements += 1
            history_s.append(settings.copy())
            history_r.append(results)
            direction = _direction(results, target, step.inverted)
            went_up |= direction > 0
            went_down |= direction < 0
            if size < 1:
                break
            settings = np.clip(settings + size * direction, low, high)
            size //= 2
        s = np.array(history_s[-self.keep_best:])
        r = np.array(history_r[-self.keep_best:])
        best = np.argmin(np.abs(r - target), axis=0)
        idx = np.arange(n)
        chosen = s[best, idx]
        chosen_r = r[best, idx]
        return _finish(step, chosen, chosen_r, measurements, ~(went_up & went_down))


class NoisyBinarySearch(BinarySearch):
    """Binary search whose start values are jittered by up to +-`jitter` (seeded),
    so that instances do not all step through identical CapMem values."""

    def __init__(self, initial=None, jitter=5, seed=0, keep_best=3):
        super().__init__(initial, keep_best)
        self.jitter = jitter
        self.rng = np.random.default_rng(seed)

    def _start(self, step, n):
        low, high = _bounds(step)
        start = super()._start(step, n)
        return np.clip(start + self.rng.integers(-self.jitter, self.jitter + 1, n), low, high)


class LinearSearch:
    """Walk from `initial` in steps of `step_size` until the result crosses the
    target (or a bound), keeping the closer of the two settings around the
    crossing.  For small corrections near a known good start."""

    def __init__(self, initial, step_size=1, max_steps=64):
        self.initial = initial
        self.step_size = step_size
        self.max_steps = max_steps

    def run(self, step, target, n):
        low, high = _bounds(step)
        target = np.broadcast_to(np.asarray(target, float), (n,))
        settings = np.clip(np.broadcast_to(np.asarray(self.initial, np.int64), (n,)),
                           low, high).copy()
        step.configure(settings)
        results = np.asarray(step.measure(), float)
        measurements = 1
        direction = _direction(results, target, step.inverted)
        done = np.zeros(n, bool)
        for _ in range(self.max_steps):
            active = ~done
            if not active.any():
                break
            trial = np.where(active, np.clip(settings + self.step_size * direction, low, high),
                             settings)
            step.configure(trial)
            new = np.asarray(step.measure(), float)
            measurements += 1
            crossed = _direction(new, target, step.inverted) != direction
            take = active & (~crossed | (np.abs(new - target) < np.abs(results - target)))
            settings = np.where(take, trial, settings)
            results = np.where(take, new, results)
            done |= active & (crossed | (trial <= low) | (trial >= high))
        return _finish(step, settings, results, measurements)


class LinearPrediction:
    """One shot: measure at two settings, predict each instance's setting by a
    straight line through them, write it back and measure once more.  With
    `refinements`, that many secant steps follow, each through the two latest
    settings: for a result that is merely close to linear in the setting
    (the correlation rate grows as bias^1.3, and the line through probes at
    250 and 750 lands 10 % off a rate it has to extrapolate to)."""

    def __init__(self, probe_low, probe_high, refinements=0):
        self.probes = (probe_low, probe_high)
        self.refinements = refinements

    def run(self, step, target, n):
        low, high = _bounds(step)
        target = np.broadcast_to(np.asarray(target, float), (n,))
        s0, s1 = (np.full(n, p, dtype=np.int64) for p in self.probes)
        step.configure(s0)
        r0 = np.asarray(step.measure(), float)
        step.configure(s1)
        r1 = np.asarray(step.measure(), float)
        for _ in range(1 + self.refinements):
            slope = (r1 - r0) / (s1 - s0)
            with np.errstate(divide="ignore", invalid="ignore"):
                predicted = np.where(slope != 0, s0 + (target - r0) / slope, s0)
            settings = np.clip(np.rint(np.nan_to_num(predicted, nan=s0[0])), low,
                               high).astype(np.int64)
            step.configure(settings)
            results = np.asarray(step.measure(), float)
            # the next secant: through the prediction and the probe nearer to it
            # (where the two coincide, the line of the last pair stays)
            keep_first = np.abs(settings - s0) <= np.abs(settings - s1)
            moved = settings != np.where(keep_first, s0, s1)
            s0, r0, s1, r1 = (np.where(keep_first, s0, s1), np.where(keep_first, r0, r1),
                              np.where(moved, settings, np.where(keep_first, s1, s0)),
                              np.where(moved, results, np.where(keep_first, r1, r0)))
        return _finish(step, settings, results, 3 + self.refinements)
