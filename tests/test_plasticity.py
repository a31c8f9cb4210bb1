"""STDP on the standard backend: the chip's correlation sensors plus the built-in
PPU program, against the pair rule's window and against NEST."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from pyNN import errors

import pynn_brainscales as sim

PAIRS_SCRIPT = Path(__file__).parent / "scripts" / "stdp_pairs.py"
DEPENDENCES = ["AdditiveWeightDependence", "MultiplicativeWeightDependence",
               "AdditivePotentiationMultiplicativeDepression"]


def run_pairs(simulator, *args, env=None):
    cmd = ([sys.executable, str(PAIRS_SCRIPT), "nest"] if simulator == "nest" else
           [sys.executable, "-m", "pynn_brainscales.run", str(PAIRS_SCRIPT), "brainscales2"])
    out = subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=600, env=env)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def stdp(tau_plus=20.0, tau_minus=20.0, w_max=0.01, weight=0.005, **kw):
    return sim.STDPMechanism(
        timing_dependence=sim.SpikePairRule(tau_plus=tau_plus, tau_minus=tau_minus,
                                            A_plus=0.01, A_minus=0.01),
        weight_dependence=sim.AdditiveWeightDependence(w_min=0.0, w_max=w_max),
        weight=weight, delay=1.0, **kw)


@pytest.mark.parametrize("dependence", DEPENDENCES)
def test_weights_match_nest_stdp_synapse_on_an_ideal_chip(dependence):
    pytest.importorskip("nest")
    ours = run_pairs("bss2", "--dependence", dependence)
    theirs = run_pairs("nest", "--dependence", dependence)
    change = np.array(ours["weights"]) - np.array(ours["initial"])
    reference = np.array(theirs["weights"]) - np.array(theirs["initial"])
    assert np.all(np.abs(reference) > 1e-4)
    print(f"{dependence}: largest relative difference to NEST "
          f"{np.max(np.abs(change / reference - 1)):.4f}")
    # Post spikes: the chip times them to 8 ns, NEST to its 0.1 ms grid; 0.03 ms
    # of 20 ms tau is 0.15 %.  Sensor saturation at 0.2 LSB per pair on an ideal
    # chip costs < 0.1 %.  1 % bounds both with room.
    np.testing.assert_allclose(change, reference, rtol=0.01)


def test_stdp_window_on_a_calibrated_chip(tmp_path):
    """Pairs at +-5..40 ms on chip 0 (mismatch, CADC noise, 6-bit weights,
    calibrated sensors): the pair rule's signs, and an exponential window."""
    import os
    env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path))
    out = run_pairs("bss2", "--chip", "0", "--posts", "256", env=env)
    dts = np.array(out["dts"])
    spikes = np.array([len(p) for p in out["posts"]])
    # neurons whose calibrated threshold lets the teacher make them fire once per pairing
    good = spikes == out["pairs"]
    assert good.sum() > 200
    # against each synapse's realised initial weight: 0.005 uS on the 6-bit
    # grid is 0.0052 on average on chip 0, an offset as large as the 40 ms bins
    change = (np.array(out["weights"]) - np.array(out["initial"]))[:, good]
    mean = change.mean(axis=1)
    sem = change.std(axis=1) / np.sqrt(good.sum())
    print("mean change", mean, "sem", sem)
    # sign: depression for post-before-pre, potentiation for pre-before-post;
    # up to |dt| = 20 ms each at least 3 standard errors from zero.  The 40 ms
    # bins hold e^-2 of the amplitude: on chip 0 the sensors give ~0.65 LSB in
    # 21 updates against a standard error of ~0.17 LSB (w_max is 15 LSB here, and
    # stochastic rounding adds up to 0.5 LSB of noise per update), so a 3-sigma
    # test there fails about one noise realisation in five (checked: rounding
    # is unbiased per update).  There the sign, the fall with |dt| and the
    # fitted tau are checked.
    assert np.all(np.sign(mean) == np.sign(dts))
    near = np.abs(dts) <= 20.0
    assert np.all(np.abs(mean[near]) > 3 * sem[near])
    # magnitude falls with |dt| on each side
    for side in (dts < 0, dts > 0):
        magnitude = np.abs(mean[side])[np.argsort(np.abs(dts[side]))]
        assert np.all(np.diff(magnitude) < 0)
        # exponential: log-linear fit, tau within 40 % of 20 ms (quadrant
        # calibration ~10 %, per-synapse tau spread 15 %, noise at 40 ms)
        slope = np.polyfit(np.abs(dts[side]), np.log(np.abs(mean[side])), 1)[0]
        print(f"{'causal' if dts[side][0] > 0 else 'acausal'} window: fitted tau "
              f"{-1.0 / slope:.1f} ms")
        assert 12.0 < -1.0 / slope < 28.0, -1.0 / slope
    # amplitude: the extrapolation to dt = 0 against pairs x A x w_max, within
    # the calibrated sensor amplitude's spread (~10 % per quadrant) and the
    # post latency's (~1 ms of 20)
    expected = out["pairs"] * np.array([0.025, 0.02]) * 0.01
    for side, want in zip((dts < 0, dts > 0), expected):
        fit = np.polyfit(np.abs(dts[side]), np.log(np.abs(mean[side])), 1)
        print(f"amplitude at dt = 0: {np.exp(fit[1]):.5f} uS (pair rule: {want:.5f})")
        assert np.exp(fit[1]) == pytest.approx(want, rel=0.35)


def test_learned_weights_stay_on_the_grid_within_bounds(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    sim.setup(timestep=0.1, chip=2)
    pre = sim.Population(30, sim.SpikeSourcePoisson(rate=30.0))
    post = sim.Population(8, sim.IF_cond_exp(cm=0.5))
    prj = sim.Projection(pre, post, sim.AllToAllConnector(), stdp(w_max=0.008, weight=0.004))
    initial = prj.get("weight", format="array")
    sim.run(1000.0)
    first = prj.get("weight", format="array")
    sim.run(1000.0)
    second = prj.get("weight", format="array")
    sim.end()
    lsb = sim.translation.weight_from_hw(1.0, sim.translation.kappa(0.5), True)
    for w in (initial, first, second):
        np.testing.assert_allclose(w / lsb, np.round(w / lsb), atol=1e-9)
        assert w.min() >= 0 and w.max() <= 0.008 + 1e-12
    # learning went on in the continued run
    assert np.mean(first != initial) > 0.5 and np.mean(second != first) > 0.5


def test_weights_set_between_runs_are_learned_from(ideal):
    pre = sim.Population(5, sim.SpikeSourcePoisson(rate=20.0))
    post = sim.Population(3, sim.IF_cond_exp())
    prj = sim.Projection(pre, post, sim.AllToAllConnector(), stdp())
    sim.run(200.0)
    prj.set(weight=0.002)
    assert np.all(prj.get("weight", format="array") == 0.002)
    sim.run(500.0)
    after = prj.get("weight", format="array")
    assert np.all((after >= 0) & (after <= 0.01)) and np.any(after != 0.002)
    # the weights learned (taken back into the projection) are no change of the
    # network: a continued run keeps the configuration; set() rebuilt it once
    sim.run(100.0)
    assert sim.simulator.state.builds == 2


def _small_stdp_network(weight=0.004):
    pre = sim.Population(32, sim.SpikeSourcePoisson(rate=10.0))
    post = sim.Population(64, sim.IF_cond_exp())
    post.record("spikes")
    return post, sim.Projection(pre, post, sim.AllToAllConnector(), stdp(weight=weight))


def test_learning_does_not_depend_on_how_a_run_is_split(tmp_path, monkeypatch):
    """A run split into calls (PyNN's callbacks, run() in a loop) learns as one
    run does: the PPU program updates at the multiples of its period (10 tau,
    200 ms) only.  Every update adds the CADC's read noise to every plastic
    weight; an update at the end of each of 100 calls spread the weights ~4x
    as far as one run's 5 updates (and 1 ms calls doubled the full-chip
    benchmark's mean weight)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    changes, calls = [], []
    for chunk in (1000.0, 10.0):
        sim.setup(timestep=0.1, chip=2)
        _, prj = _small_stdp_network()
        before = prj.get("weight", format="array")
        ppu_calls = 0
        for _ in range(round(1000.0 / chunk)):
            sim.run(chunk)
            ppu_calls += sim.simulator.state.chip.last_run_profile["ppu_calls"]
        changes.append(prj.get("weight", format="array") - before)
        calls.append(ppu_calls)
        sim.end()
    assert calls == [6, 6]             # the sensors' reset level, then 5 updates
    spread = [np.std(change) for change in changes]
    print("spread of the weight changes, one run / 100 calls:", spread)
    # the same number of updates: the spreads differ by the realisations of
    # the inputs and the read noise (a few %); 100 updates gave 4.4x
    assert spread[1] < 1.3 * spread[0]


def test_reading_learned_weights_changes_nothing_that_follows(tmp_path, monkeypatch):
    """Weights read while learning is pending (pairs since the program's last
    update) are a preview of its update, drawn from a random stream of their
    own: the network runs, spikes and learns alike whether they are read
    after every call or not."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    outcomes = []
    for read in (True, False):
        sim.setup(timestep=0.1, chip=2)
        post, prj = _small_stdp_network()
        initial = prj.get("weight", format="array")
        seen = []
        for _ in range(10):
            sim.run(30.0)
            if read:
                seen.append(prj.get("weight", format="array"))
        if read:
            # the preview shows the learning since the last update (at 0 ms):
            # ~8 % of the weights moved by a 6-bit step after 30 ms
            assert np.mean(seen[0] != initial) > 0.04
            # and twice between the same runs, the same weights
            np.testing.assert_array_equal(seen[-1], prj.get("weight", format="array"))
        spikes = [np.asarray(t) for t in post.get_data().segments[0].spiketrains]
        outcomes.append((prj.get("weight", format="array"), spikes))
        sim.end()
    np.testing.assert_array_equal(outcomes[0][0], outcomes[1][0])
    for a, b in zip(outcomes[0][1], outcomes[1][1]):
        np.testing.assert_array_equal(a, b)


def test_pending_learning_counts_once_across_a_rebuild_and_a_reset(ideal):
    """Learning pending after a run goes into the chip's weights, as the
    projection showed it, before a rebuild of the configuration or a reset,
    and the sensors start afresh: no pair counts twice."""
    _, prj = _small_stdp_network(weight=0.005)
    state = sim.simulator.state
    sim.run(50.0)                                 # no update yet (the period is 200 ms)
    learned = prj.get("weight", format="array")
    assert np.mean(learned != 0.005) > 0.1
    prj.set(weight=learned)                       # a change: the next run rebuilds
    state.prepare()
    assert not state.chip._engine.causal.any() and not state.chip._engine.acausal.any()
    np.testing.assert_array_equal(prj.get("weight", format="array"), learned)
    sim.run(50.0)
    learned = prj.get("weight", format="array")
    sim.reset()
    # a run too short for pairs: the weights are the chip's, which hold the
    # learning of the run before the reset
    sim.run(0.1)
    np.testing.assert_allclose(prj.get("weight", format="array"), learned, rtol=1e-6)


def test_learned_weights_keep_the_units_they_were_learned_in():
    """A run's learned weights reach the projection at its next read of them,
    converted with the weight unit of the build that learned them: changing
    cm (which sets what one hardware LSB is worth) before that read, and
    rebuilding, does not rescale them."""
    learned = []
    for read_at_once in (True, False):
        sim.setup(timestep=0.1, ideal=True)
        pre = sim.Population(8, sim.SpikeSourcePoisson(rate=40.0))
        post = sim.Population(4, sim.IF_cond_exp(cm=1.0))
        prj = sim.Projection(pre, post, sim.AllToAllConnector(), stdp())
        sim.run(300.0)
        if read_at_once:
            weights = prj.get("weight", format="array")
        post.set(cm=0.5)
        sim.run(10.0)                   # rebuilt: the weights as hardware LSB anew
        if not read_at_once:
            weights = prj.get("weight", format="array")
        learned.append((weights, prj.get("weight", format="array")))
        sim.end()
    (read_first, after_first), (read_late, after_late) = learned
    assert np.mean(read_first != 0.005) > 0.5          # they were learned
    np.testing.assert_array_equal(read_first, read_late)
    np.testing.assert_array_equal(after_first, after_late)


@pytest.mark.parametrize("target", ["population", "view", "assembly"])
def test_learned_weights_read_after_a_new_setup(target):
    """Learned weights read after the simulator was set up anew (another
    network in its place) are those read at once: the connections' circuits
    and units are the build's, whether the projection targets a population, a
    view or an assembly (whose cells are looked up among the populations of
    the state that built them).  Circuits outside the network have another
    weight unit (no COBA input), so that a wrong circuit gives a wrong
    weight; cm is shared, so that no per-connection unit is looked up while
    building."""
    learned = []
    for read_at_once in (True, False):
        sim.setup(timestep=0.1, ideal=True)
        pre = sim.Population(6, sim.SpikeSourcePoisson(rate=40.0))
        post = sim.Population(6, sim.IF_cond_exp())
        cells = {"population": post, "view": post[1:5],
                 "assembly": sim.Assembly(post[4:], post[:4])}[target]
        prj = sim.Projection(pre, cells, sim.AllToAllConnector(), stdp())
        sim.run(300.0)
        if read_at_once:
            weights = prj.get("weight", format="array")
        sim.end()
        if not read_at_once:
            sim.setup(timestep=0.1, ideal=True)
            sim.Population(3, sim.SpikeSourceArray(spike_times=[1.0]))
            sim.Population(40, sim.IF_curr_exp())
            weights = prj.get("weight", format="array")
            sim.end()
        learned.append(weights)
    assert np.mean(learned[0] != 0.005) > 0.5          # they were learned
    np.testing.assert_array_equal(learned[0], learned[1])


def test_sensor_time_constants_are_checked(ideal):
    pre = sim.Population(2, sim.SpikeSourceArray(spike_times=[1.0]))
    post = sim.Population(2, sim.IF_cond_exp())
    with pytest.raises(errors.InvalidParameterValueError, match=r"tau_plus: value 50 ms .*reach 2\.\.30 ms"):
        sim.Projection(pre, post, sim.AllToAllConnector(), stdp(tau_plus=50.0, tau_minus=50.0))
    with pytest.raises(errors.InvalidParameterValueError, match="share one time constant"):
        sim.Projection(pre, post, sim.AllToAllConnector(), stdp(tau_plus=20.0, tau_minus=10.0))
    with pytest.raises(errors.InvalidParameterValueError, match="w_min 0.02 is above w_max"):
        sim.Projection(pre, post, sim.AllToAllConnector(), sim.STDPMechanism(
            timing_dependence=sim.SpikePairRule(),
            weight_dependence=sim.AdditiveWeightDependence(w_min=0.02, w_max=0.01)))
    sim.Projection(pre, post, sim.AllToAllConnector(), stdp(tau_plus=20.0, tau_minus=20.0))
    # neurons of one quadrant (circuits 0..127) share their sensors' bias
    sim.Projection(pre, post, sim.AllToAllConnector(), stdp(tau_plus=10.0, tau_minus=10.0))
    with pytest.raises(errors.InvalidParameterValueError, match="quadrant 0"):
        sim.run(10.0)


@pytest.mark.parametrize("integer", [False, True])
def test_stdp_update_kernel_against_its_formula(integer):
    """The PPU program's compiled update against the rule written out in numpy:
    Gutig soft bounds (mu 0.4 / 0.7), two parallel rows per synapse."""
    from cython_core._plasticity import pair_stdp_update
    rng = np.random.default_rng(5)
    n, parts = 300, 2
    causal = rng.uniform(100, 142, 40 * 256)
    acausal = rng.uniform(100, 142, 40 * 256)
    read = rng.choice(40 * 256, (n, parts), replace=False)
    synapse = rng.choice(256 * 256, (n, parts), replace=False)
    weights = np.zeros(256 * 256)
    weights[synapse] = rng.integers(0, 40, (n, parts))
    start = weights.copy()
    per = lambda value: np.full(n, value)
    # reset codes and pairs per code per [branch, column]; delay factors per synapse
    reset, per_code = rng.uniform(140, 143, (2, 256)), rng.uniform(0.5, 0.8, (2, 256))
    delay = rng.uniform(0.9, 1.1, (2, n))
    uniform = rng.random(n)
    pair_stdp_update(causal, acausal, read, synapse, weights, reset, per_code, delay[0],
                     delay[1], per(0.02), per(0.025), per(2.0), np.array([70.0]), per(0.4), np.array([0.7]),
                     uniform if integer else np.zeros(0), integer)
    column = synapse[:, 0] % 256
    c = (reset[0, column] - causal[read].mean(axis=1)) * per_code[0, column] * delay[0]
    a = (reset[1, column] - acausal[read].mean(axis=1)) * per_code[1, column] * delay[1]
    w = start[synapse].sum(axis=1)
    x = np.clip((w - 2.0) / 68.0, 0, 1)
    expected = np.clip(w + 68.0 * (0.02 * (1 - x) ** 0.4 * c - 0.025 * x ** 0.7 * a), 2.0, 70.0)
    if integer:
        expected = np.clip(np.floor(expected + uniform), 2, 70)
        # integers spread over the two rows, differing by at most one
        assert np.all(np.abs(np.diff(weights[synapse], axis=1)) <= 1)
        assert np.all(weights[synapse] == np.rint(weights[synapse]))
    np.testing.assert_allclose(weights[synapse].sum(axis=1), expected, rtol=1e-12, atol=1e-9)
    untouched = np.ones(weights.size, bool)
    untouched[synapse] = False
    assert np.all(weights[untouched] == 0)


@pytest.mark.parametrize("integer", [False, True])
def test_stdp_update_kernel_additive_one_row_path(integer):
    """One row per synapse and one additive rule take the kernel's branch-free
    loop: the same weights as the rule written out in numpy."""
    from cython_core._plasticity import pair_stdp_update
    rng = np.random.default_rng(6)
    n = 500
    causal, acausal = rng.uniform(100, 142, (2, 40 * 256))
    read = rng.choice(40 * 256, (n, 1), replace=False)
    synapse = rng.choice(256 * 256, (n, 1), replace=False)
    weights = np.zeros(256 * 256)
    weights[synapse] = rng.integers(0, 60, (n, 1))
    start = weights.copy()
    reset, per_code = rng.uniform(140, 143, (2, 256)), rng.uniform(0.5, 0.8, (2, 256))
    one = lambda value: np.array([value])
    uniform = rng.random(n)
    pair_stdp_update(causal, acausal, read, synapse, weights, reset, per_code, one(0.97),
                     one(1.03), one(0.02), one(0.025), one(1.0), one(61.0), one(0.0),
                     one(0.0), uniform if integer else np.zeros(0), integer)
    column = synapse[:, 0] % 256
    c = (reset[0, column] - causal[read[:, 0]]) * per_code[0, column] * 0.97
    a = (reset[1, column] - acausal[read[:, 0]]) * per_code[1, column] * 1.03
    expected = np.clip(start[synapse[:, 0]] + 60.0 * (0.02 * c - 0.025 * a), 1.0, 61.0)
    if integer:
        expected = np.clip(np.floor(expected + uniform), 1.0, 61.0)
    np.testing.assert_allclose(weights[synapse[:, 0]], expected, rtol=1e-12, atol=1e-9)
    untouched = np.ones(weights.size, bool)
    untouched[synapse[:, 0]] = False
    assert np.all(weights[untouched] == 0)


def test_repeated_plastic_connections_get_rows_of_their_own():
    """A (pre, post) pair connected twice by an STDP projection: two synapses on
    two rows, each with its own sensor and weight."""
    sim.setup(timestep=0.1, ideal=True)
    pre = sim.Population(2, sim.SpikeSourcePoisson(rate=20.0))
    post = sim.Population(2, sim.IF_cond_exp())
    prj = sim.Projection(pre, post, sim.FromListConnector([(0, 0), (0, 0), (1, 1)]), stdp())
    sim.run(50.0)
    placement = sim.simulator.state._placements[prj]
    assert placement.columns.tolist() == [0, 0, 1]
    rows = placement.rows[:, 0]
    assert rows[0] != rows[1]
    assert len(prj.get("weight", format="list")) == 3
    sim.end()


def test_synapse_order_sorts_placed_synapses_into_memory_order():
    """The order in which the PPU program walks plastic synapses: that of a
    lexicographic sort by (hemisphere, row, column), with the count per
    hemisphere; a place taken twice or out of range is refused."""
    from cython_core._routing import synapse_order
    rng = np.random.default_rng(5)
    places = rng.choice(2 * 256 * 256, 5000, replace=False)
    hemisphere, rest = np.divmod(places, 256 * 256)
    row, column = np.divmod(rest, 256)
    order, counts, sorted_row, sorted_column = synapse_order(hemisphere, row, column)
    assert order.tolist() == np.lexsort((column, row, hemisphere)).tolist()
    assert counts.tolist() == np.bincount(hemisphere, minlength=2).tolist()
    assert sorted_row.tolist() == row[order].tolist()
    assert sorted_column.tolist() == column[order].tolist()
    with pytest.raises(ValueError, match="1 synapse"):
        synapse_order(np.r_[hemisphere, hemisphere[:1]], np.r_[row, row[:1]],
                      np.r_[column, column[:1]])
    with pytest.raises(ValueError, match="row: code 256"):
        synapse_order(np.zeros(1, np.int64), np.full(1, 256), np.zeros(1, np.int64))


def test_uniform_rule_parameters_follow_the_projection():
    """Whether all connections share a parameter is noted when they are made
    and when set() changes them; the STDP program takes per-connection values
    after such a change, and out-of-range values are refused as before."""
    from pynn_brainscales.plasticity import connection_rule
    sim.setup(timestep=0.1, ideal=True)
    pre = sim.Population(4, sim.SpikeSourcePoisson(rate=20.0))
    post = sim.Population(3, sim.IF_cond_exp())
    prj = sim.Projection(pre, post, sim.AllToAllConnector(), stdp())
    assert prj.is_uniform("A_plus") and prj.is_uniform("delay")
    assert connection_rule(prj, 1.0)["a_plus"].tolist() == [0.01]
    a_plus = np.linspace(0.01, 0.02, len(prj))
    prj.set(A_plus=a_plus.reshape(4, 3))
    assert not prj.is_uniform("A_plus")
    assert connection_rule(prj, 1.0)["a_plus"].tolist() == prj.connections_A_plus.tolist()
    prj.set(A_plus=0.03)
    assert prj.is_uniform("A_plus")
    for bad in (np.nan, np.inf, -1.0):
        with pytest.raises(errors.InvalidParameterValueError, match="A_plus"):
            prj.set(A_plus=bad)
    sim.end()


def test_pairs_repeat_finds_repeated_pairs():
    """The multapse test of plastic projections: whether a (pre, post) pair
    occurs twice, against numpy; None where its mask would be too large."""
    from cython_core._routing import pairs_repeat
    rng = np.random.default_rng(2)
    pre, post = np.divmod(rng.choice(256 * 512, 40000, replace=False), 512)
    assert pairs_repeat(pre, 256, post, 512) is False
    assert pairs_repeat(np.r_[pre, pre[7]], 256, np.r_[post, post[7]], 512) is True
    assert pairs_repeat(pre[:10], 256, post[:10], 512) is None
    with pytest.raises(ValueError, match="code 512"):
        pairs_repeat(pre, 256, np.r_[post[:-1], 512], 512)
