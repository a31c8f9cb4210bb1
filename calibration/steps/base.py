"""What every calibration step shares: the Step interface and the chip set-up
used while measuring (stimulus rows, neutral neuron settings)."""
import numpy as np

from cython_core import constants as C

CAPMEM_RANGE = (0, C.CAPMEM_MAX)

# Stimulus wiring used by the synaptic measurements: in each hemisphere rows
# 0..7 (drivers 0..3, row_select 0) are excitatory, rows 8..15 (drivers 4..7,
# row_select 1) inhibitory; every synapse in them listens to address 0.  One
# event then reaches each neuron through 8 synapses, averaging their mismatch.
STIMULUS_ROWS = 8
EXC_LABEL = (0 << 6) | 0
INH_LABEL = (1 << 6) | 0


def wire_stimulus(config, weight):
    syn = config.synapses
    drivers = STIMULUS_ROWS // C.ROWS_PER_DRIVER
    syn.driver_enable[:, :2 * drivers] = True
    syn.driver_row_select[:, :drivers] = 0
    syn.driver_row_select[:, drivers:2 * drivers] = 1
    syn.row_modes[:, :STIMULUS_ROWS] = C.ROW_EXCITATORY
    syn.row_modes[:, STIMULUS_ROWS:2 * STIMULUS_ROWS] = C.ROW_INHIBITORY
    syn.labels[:, :2 * STIMULUS_ROWS, :] = 0
    syn.weights[:, :2 * STIMULUS_ROWS, :] = weight


class Step:
    """Configure + measure for all instances at once.

    `configure(settings)` writes one value per instance, `measure()` returns one
    result per instance; `inverted` says the result falls as the setting rises.
    `prepare()` sets up the chip for this step (called once before the search).
    """
    name = "step"
    field = None       # the configuration field the step calibrates
    unit = ""
    inverted = False
    setting_range = CAPMEM_RANGE
    instances = C.NUM_NEURONS

    def __init__(self, chip):
        self.chip = chip

    def prepare(self):
        pass

    def configure(self, settings):
        raise NotImplementedError

    def measure(self):
        raise NotImplementedError


class NeuronFieldStep(Step):
    """A step whose setting is one per-neuron configuration field."""

    def configure(self, settings):
        self.chip.config.neurons.set(self.field, np.asarray(settings, np.int64))


def fit_exponential_decay(t, y, baseline, start, floor=0.15):
    """Time constant of y(t) = baseline + A exp(-(t - start)/tau) per column.

    Log-linear least squares over the samples from `start` (one time, or one
    per column) until the excursion first falls below `floor` of the column's
    largest one: later samples are mostly readout noise and would flatten the
    fit.  y: [samples, columns].
    """
    excursion = np.abs(y - baseline)
    after = t[:, None] >= np.asarray(start, float)
    peak = np.where(after, excursion, 0.0).max(axis=0)
    above = (excursion > floor * peak) & (excursion > 0)
    use = after & np.cumprod(above | ~after, axis=0).astype(bool)
    # readout noise is additive: the log of a sample has variance ~ (sd / y)^2,
    # so samples are weighted by y^2
    w = np.where(use, excursion ** 2, 0.0)
    logy = np.log(np.where(use, excursion, 1.0))
    n = use.sum(axis=0)
    w_sum = np.maximum(w.sum(axis=0), 1e-30)
    tt = t[:, None]
    t_mean = (w * tt).sum(axis=0) / w_sum
    l_mean = (w * logy).sum(axis=0) / w_sum
    cov = (w * (tt - t_mean) * (logy - l_mean)).sum(axis=0)
    var = (w * (tt - t_mean) ** 2).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = cov / var
        tau = np.where((n >= 3) & (slope < 0), -1.0 / slope, np.inf)
    return tau


def fit_slope(t, y, start, stop):
    """Least-squares slope of each column of y over start <= t < stop."""
    sel = (t >= start) & (t < stop)
    tt = t[sel] - t[sel].mean()
    yy = y[sel] - y[sel].mean(axis=0)
    return (tt[:, None] * yy).sum(axis=0) / (tt ** 2).sum()


def trimmed_std(values, cut=0.05):
    """Standard deviation after cutting `cut` of the values from each tail."""
    v = np.sort(np.asarray(values, float)[np.isfinite(values)])
    k = int(np.floor(cut * len(v)))
    return float(np.std(v[k:len(v) - k] if k else v))
