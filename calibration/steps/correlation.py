"""Correlation sensors: amplitude and time constant per quadrant.

Every neuron fires regularly (leak potential and offset current at their
maximum, so that it fires whatever its calibrated targets, its rate set by its
digital refractory period); a regular train of pre events
reaches every synapse (weight 0: the neurons do not feel it).  Three runs:
slow firing with dense and with sparse pre events (the causal pairs, each post
with the last pre, come at short and at long delays), and fast firing with
sparse pre events (against the slow one, the acausal pairs, each pre with the
last post, come at short and at long delays).  The post spike
times come back through the spike readout, the pre times are known, so for a
trial time constant tau the sensor of column c should have accumulated
    causal:  A * S_c(tau),  S_c(tau) = sum over posts of exp(-(t_post - last pre) / tau)
    acausal: A * S'_c(tau), over pres and the last post before each
(nearest-neighbour pairing).  Per branch, two runs give two such
sums; their ratio fixes tau, then either one fixes A.  The accumulated drops
are read by a PPU program through the CADC (baseline minus reading).
"""
import numpy as np

from cython_core import PPUProgram, constants as C
from cython_core import mismatch as M
from cython_core.config import refractory_setting
from cython_core.mismatch import quadrant_of_neuron
from cython_core.readout import cadc_design_code

from .base import Step

DURATION = 300.0
# refractory periods (us) under the strongest drive, spread over each quadrant's
# neurons so that the pairs sample many intervals: fast (~5 us period) and slow
# (~17 us) firing; the few us from reset to threshold depend on tau_m
FIRING = {"fast": (1.0, 3.0), "slow": (10.0, 18.0)}
# the slow refractory clock during the runs: 0.128 us ticks, up to 32.6 us
RUN_SLOW_SCALER = 4
# run name: (firing, pre period in us)
RUNS = {"slow dense": ("slow", 2.3), "slow sparse": ("slow", 23.7), "fast sparse": ("fast", 23.7)}
# per branch (causal, acausal): the two runs whose ratio fixes tau
RUN_PAIRS = (("slow dense", "slow sparse"), ("fast sparse", "slow sparse"))
# trial taus (us), 3.2 % apart: interpolating the pair-sum ratio between them
# moves a fitted tau by 2e-4 relative against a grid of 400 (the runs' noise:
# ~0.7 %), and the pair sums cost in proportion to their number
TAU_GRID = np.geomspace(0.5, 80.0, 160)
BRANCHES = ("causal", "acausal")
COLUMN_QUADRANT = quadrant_of_neuron().reshape(C.NUM_HEMISPHERES, C.COLUMNS_PER_HEMISPHERE)


def wire_all_synapses(config):
    """Every row of both arrays listens to label 0, with weight 0."""
    syn = config.synapses
    syn.driver_enable[...] = True
    syn.driver_row_select[...] = 0
    syn.row_modes[...] = C.ROW_EXCITATORY
    syn.labels[...] = 0
    syn.weights[...] = 0


def spread_over_quadrants(low, high):
    """`low`..`high` spread over the neurons of every quadrant (interleaved)."""
    position = (np.arange(C.NUM_NEURONS) * 37) % C.NEURONS_PER_QUADRANT
    return low + (high - low) * position / (C.NEURONS_PER_QUADRANT - 1)


def drive_neurons(config, refractory_us):
    """Regular firing: leak potential far above threshold and the largest offset
    current, so that a neuron fires soon after its refractory period whatever
    potentials it was calibrated to (a calibrated leak and a fixed current
    leave neurons with a low leak target silent); adaptation and the
    exponential term (calibrated before, for AdEx) off.  The refractory period
    is a digital count, free of mismatch."""
    n = config.neurons
    n.adaptation_enable = False
    n.exponential_enable = False
    n.threshold_enable = True
    n.constant_current_enable = True
    n.constant_current_i_offset = C.CAPMEM_MAX
    n.leak_v_leak = C.CAPMEM_MAX
    config.refractory_clock_scaler[1] = RUN_SLOW_SCALER
    counts, clock = refractory_setting(refractory_us, RUN_SLOW_SCALER)
    n.refractory_period_refractory_time = counts
    n.refractory_period_input_clock = clock


def pair_sums(post_times, post_neurons, pre_times, tau_grid=TAU_GRID):
    """Per neuron and trial tau: causal and acausal nearest-neighbour pair sums,
    [2 branches, neurons, taus]."""
    sums = np.zeros((2, C.NUM_NEURONS, len(tau_grid)))
    pre_times = np.asarray(pre_times, float)
    order = np.lexsort((post_times, post_neurons))
    posts = np.asarray(post_times, float)[order]
    neurons = np.asarray(post_neurons, np.int64)[order]
    if posts.size == 0 or pre_times.size == 0:
        return sums
    # causal: each post spike with the last pre spike before it
    k = np.searchsorted(pre_times, posts) - 1
    ok = k >= 0
    _add_decays(sums[0], neurons[ok], posts[ok] - pre_times[k[ok]], tau_grid)
    # acausal: each pre spike with each neuron's last post spike before it, all
    # neurons in one search over (neuron, time) keys
    origin = min(posts.min(), pre_times.min())
    span = float(max(posts.max(), pre_times.max()) - origin) + 1.0
    keys = neurons * span + (posts - origin)
    firing = np.unique(neurons)
    first_post = np.searchsorted(neurons, firing)
    queries = (firing[:, None] * span + (pre_times - origin)[None, :]).ravel()
    j = np.searchsorted(keys, queries) - 1
    own = j >= np.repeat(first_post, len(pre_times))
    which = np.repeat(firing, len(pre_times))[own]
    _add_decays(sums[1], which, np.tile(pre_times, len(firing))[own] - posts[j[own]], tau_grid)
    return sums


def _add_decays(out, neurons, intervals, tau_grid, chunk=4096):
    """out[n] += sum of exp(-interval / tau) over each neuron n's intervals, per
    trial tau; `neurons` sorted.  In float32 (AVX-512 does 16 at once; a sum of
    a few hundred terms loses ~1e-6 relative), [taus, intervals] so that the
    sums per neuron run along contiguous memory."""
    rate = (1.0 / np.asarray(tau_grid, float)).astype(np.float32)
    for first in range(0, len(neurons), chunk):
        part = neurons[first:first + chunk]
        decays = np.exp(rate[:, None]
                        * -np.asarray(intervals[first:first + chunk], np.float32)[None, :])
        starts = np.flatnonzero(np.r_[True, part[1:] != part[:-1]])
        out[part[starts]] += np.add.reduceat(decays, starts, axis=1).T


def correlation_run(chip, firing, pre_period, reads=4, duration=DURATION):
    """One run with the neurons firing `firing` ("fast" or "slow") and pre events
    every `pre_period` us: returns (drops [2 branches, 2 hemispheres, 256 rows, 256 columns] in
    CADC LSB, pair sums [2, 512, taus])."""
    saved = chip.config.copy()
    drive_neurons(chip.config, spread_over_quadrants(*FIRING[firing]))
    chip.reset_state()
    warm_up = chip.run(20.0)           # neurons start firing; sensors are reset below
    baseline = np.zeros((2, C.NUM_HEMISPHERES, C.ROWS_PER_HEMISPHERE, C.COLUMNS_PER_HEMISPHERE))
    final = np.zeros_like(baseline)

    def read_into(target, reset):
        def program(ppu):
            for h in range(C.NUM_HEMISPHERES):
                causal, acausal = ppu.read_correlation(h)
                target[0, h] += causal
                target[1, h] += acausal
                if reset:
                    ppu.reset_correlation(h)
        return program

    t0 = chip.time
    # baseline reads right after a reset (the sensors at their reset voltage)
    reset_program = read_into(np.zeros_like(baseline), reset=True)
    at_reset = chip.run(1.0, ppu=[PPUProgram([t0 + 1.0], reset_program)])
    before = chip.run(float(reads), ppu=[PPUProgram(t0 + 1.0 + np.arange(1, reads + 1),
                                                    read_into(baseline, False))])
    t_start = chip.time
    pre = t_start + np.arange(0.5, duration, pre_period)
    res = chip.run(duration, spikes=(pre, np.zeros(len(pre), int)))
    # stop the sensors accumulating while reading: neurons silent
    chip.config.neurons.threshold_enable = False
    chip.run(float(reads), ppu=[PPUProgram(chip.time + np.arange(1, reads + 1),
                                           read_into(final, False))])
    chip.config = saved
    # the first pre event pairs with each neuron's last spike before the run (the
    # sensors remember it across the reset, as they remember every spike time)
    runs = (warm_up, at_reset, before, res)
    posts = np.concatenate([r.spike_times for r in runs])
    neurons = np.concatenate([r.spike_neurons for r in runs])
    return linear_drops(baseline / reads, final / reads), pair_sums(posts, neurons, pre)


# CADC code of the level the accumulators saturate towards (design curve)
FLOOR_CODE = cadc_design_code(M.CORRELATION_FLOOR_MV)


def linear_drops(reset_codes, codes):
    """The drops from the reset level the pairs would have caused without the
    accumulator's saturation.  Each pair's increment shrinks with the headroom
    left above the floor (design: 100 mV), H - drop, so a drop d stands for
    -H ln(1 - d / H) of linear increments; the runs accumulate ~16 pairs, ~100
    mV of ~600: uncorrected, the dense run's drop is compressed ~9 % more than
    the sparse one's, and the fitted tau came out ~10 % long."""
    headroom = np.maximum(reset_codes - FLOOR_CODE, 1e-9)
    fraction = np.clip((reset_codes - codes) / headroom, -1.0, 0.999)
    return -headroom * np.log1p(-fraction)


def measure_runs(chip, reads=4, duration=DURATION):
    """All runs: name -> (drops, sums)."""
    return {name: correlation_run(chip, *spec, reads=reads, duration=duration)
            for name, spec in RUNS.items()}


def _pair(runs, branch):
    first, second = RUN_PAIRS[branch]
    return runs[first], runs[second]


def fit_per_synapse(runs):
    """A (CADC LSB per pair) and tau (us) per synapse: [2 branches, 2 hemispheres,
    256 rows, 256 columns] each; NaN where the ratio falls outside the model."""
    shape = (2, C.NUM_HEMISPHERES, C.ROWS_PER_HEMISPHERE, C.COLUMNS_PER_HEMISPHERE)
    taus, amps = np.full(shape, np.nan), np.full(shape, np.nan)
    for b in range(2):
        (d0, s0), (d1, s1) = _pair(runs, b)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = d0[b] / d1[b]
            grid = s0[b] / s1[b]                       # [512 neurons, taus]
        for n in range(C.NUM_NEURONS):
            h, c = divmod(n, C.COLUMNS_PER_HEMISPHERE)
            g = grid[n]
            if not np.all(np.isfinite(g)):
                continue
            order = np.argsort(g)
            tau = np.interp(ratio[h, :, c], g[order], TAU_GRID[order], left=np.nan, right=np.nan)
            taus[b, h, :, c] = tau
            with np.errstate(invalid="ignore"):
                amps[b, h, :, c] = d0[b, h, :, c] / np.interp(tau, TAU_GRID, s0[b, n])
    return amps, taus


def fit_per_quadrant(runs):
    """A (CADC LSB per pair) and tau (us) per branch and quadrant, [2, 4] each,
    from the drops summed over each quadrant's synapses."""
    amps = np.zeros((2, C.NUM_QUADRANTS))
    taus = np.zeros((2, C.NUM_QUADRANTS))
    q_of_neuron = quadrant_of_neuron()
    for b in range(2):
        (d0, s0), (d1, s1) = _pair(runs, b)
        for q in range(C.NUM_QUADRANTS):
            h = q // 2
            cols = COLUMN_QUADRANT[h] == q
            drop0, drop1 = d0[b, h][:, cols].sum(), d1[b, h][:, cols].sum()
            sum0 = s0[b, q_of_neuron == q].sum(axis=0) * C.ROWS_PER_HEMISPHERE
            sum1 = s1[b, q_of_neuron == q].sum(axis=0) * C.ROWS_PER_HEMISPHERE
            # the shortest trial taus can leave no pair above float underflow in
            # either run: 0/0, which has no place on the interpolation grid
            defined = sum1 > 0
            if not np.any(defined):
                taus[b, q] = amps[b, q] = np.nan
                continue
            grid = sum0[defined] / sum1[defined]
            order = np.argsort(grid)
            taus[b, q] = np.interp(drop0 / drop1, grid[order], TAU_GRID[defined][order])
            amps[b, q] = drop0 / np.interp(taus[b, q], TAU_GRID, sum0)
    return amps, taus


class _CorrelationStep(Step):
    instances = C.NUM_QUADRANTS
    unit = ""

    def prepare(self):
        wire_all_synapses(self.chip.config)
        self.chip.config.correlation_sensors_enable = True

    def configure(self, settings):
        self.chip.config.quadrants.set(self.field, np.asarray(settings, np.int64))

    def fit(self):
        return fit_per_quadrant(measure_runs(self.chip))


class CorrelationRate(_CorrelationStep):
    """Quadrant decay rate 1/tau (1/us), mean of both branches: rises with the
    bias, close to linearly (as bias^1.3): a linear prediction and secant steps."""
    name = "correlation 1/tau"
    unit = "1/us"
    field = "correlation_i_bias_tau"

    def measure(self):
        return (1.0 / self.fit()[1]).mean(axis=0)


class CorrelationAmplitude(_CorrelationStep):
    """Quadrant amplitude per pair (CADC LSB), mean of both branches;
    proportional to the bias."""
    name = "correlation amplitude"
    unit = "LSB"
    field = "correlation_i_bias_amplitude"

    def measure(self):
        return self.fit()[0].mean(axis=0)
