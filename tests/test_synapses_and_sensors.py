"""Event routing, correlation sensors, PPU programs and readout."""
import numpy as np
import pytest

from cython_core import Chip, CadcRecording, PPUProgram, constants as C
from cython_core import mismatch as M
from cython_core.config import ConfigurationError

from conftest import drive_with_input


def test_events_reach_only_matching_rows_and_columns(ideal_chip):
    chip = ideal_chip
    syn = chip.config.synapses
    n = chip.config.neurons
    n.excitatory_input_enable[:] = True
    syn.driver_enable[0, 3] = True
    syn.driver_row_select[0, 3] = 5            # driver 3 -> rows 6 and 7
    syn.row_modes[0, 6] = C.ROW_EXCITATORY
    syn.row_modes[0, 7] = C.ROW_EXCITATORY
    syn.labels[0, 6, :] = 9
    syn.labels[0, 6, 20] = 2                   # only column 20 listens to address 2
    syn.labels[0, 7, :] = 9
    syn.weights[0, 6, :] = 30
    syn.weights[0, 7, :] = 30
    t = chip.time
    chip.run(1.0, spikes=([t + 0.05, t + 0.05], [(5 << 6) | 2, (4 << 6) | 9]))
    u = chip.analog_state()["exc_synin"]
    assert u[20] > 0
    # the other columns of row 6 have label 9 but the event carried address 2;
    # row_select 4 matches no driver
    assert np.count_nonzero(u) == 1


def test_inhibitory_rows_lower_the_membrane(ideal_chip):
    chip = ideal_chip
    drive_with_input(chip, 300, "inhibitory", weight=63)
    rest = chip.analog_state()["v"][300]
    chip.run(20.0, spikes=([0.0], [0]))
    assert chip.analog_state()["v"][300] < rest - 1.0


def test_recurrent_routing_delivers_neuron_spikes(ideal_chip):
    chip = ideal_chip
    n = chip.config.neurons
    tonic_neuron(chip, 0)
    n.event_routing_enable_recurrent[0] = True
    n.event_routing_label[0] = (7 << 6) | 3
    syn = chip.config.synapses
    syn.driver_enable[0, 10] = True
    syn.driver_row_select[0, 10] = 7
    syn.row_modes[0, 20] = C.ROW_EXCITATORY
    syn.labels[0, 20, :] = 63
    syn.labels[0, 20, 5] = 3
    syn.weights[0, 20, 5] = 63
    n.excitatory_input_enable[5] = True
    n.threshold_enable[5] = True
    n.threshold_v_threshold[5] = 200  # ~450 mV: one PSP of weight 63 crosses it
    res = chip.run(100.0)
    pre = res.spikes_of(0)
    post = res.spikes_of(5)
    assert len(pre) > 3
    assert len(post) == len(pre)
    # each PSP crosses threshold within a few us of the presynaptic spike
    assert np.all((post - pre > 0) & (post - pre < 10.0))


def test_fpga_loopback_delays_neuron_spikes(ideal_chip):
    chip = ideal_chip
    tonic_neuron(chip, 0)
    relay_neuron(chip, 1)      # listens to label 0
    relay_neuron(chip, 2)
    chip.config.synapses.labels[0, 0, 2] = 5        # neuron 2 listens to address 5
    chip.config.loopback_neurons = np.array([0, 0])
    chip.config.loopback_labels = np.array([0, 5])
    chip.config.loopback_delays = np.array([3.0, 7.5])
    res = chip.run(100.0)
    pre = res.spikes_of(0)
    for neuron, delay in ((1, 3.0), (2, 7.5)):
        post = res.spikes_of(neuron)
        assert len(post) == len(pre[pre + delay < 99.0])
        lag = post - pre[:len(post)]
        # the relay answers within ~0.5 us of the delayed event
        assert np.all((lag > delay) & (lag < delay + 0.6)), (neuron, lag)
    chip.config.neurons.event_routing_enable_digital[0] = False
    res = chip.run(50.0)
    assert len(res.spikes_of(1)) <= 1     # at most one event still in flight


def tonic_neuron(chip, neuron):
    """A neuron that fires regularly on its own, driven by a constant current."""
    n = chip.config.neurons
    n.threshold_enable[neuron] = True
    n.constant_current_enable[neuron] = True
    n.constant_current_i_offset[neuron] = 700


def relay_neuron(chip, neuron):
    """A neuron that answers each input event with one spike: small membrane
    capacitance (fast membrane), short synaptic time constant, threshold 5 mV
    above rest, 40 ns refractory period."""
    drive_with_input(chip, neuron, "excitatory", weight=63)
    n = chip.config.neurons
    n.membrane_capacitance_capacitance[neuron] = 10
    n.excitatory_input_i_bias_tau[neuron] = 1000
    n.threshold_enable[neuron] = True
    n.threshold_v_threshold[neuron] = 183
    n.refractory_period_refractory_time[neuron] = 5


def test_regular_background_generator_drives_a_neuron(ideal_chip):
    chip = ideal_chip
    gen = chip.config.generators
    gen.enable[2] = True
    gen.random[2] = False
    gen.period[2] = 2500          # 10 us at 250 MHz
    gen.label[2] = 0
    relay_neuron(chip, 40)
    res = chip.run(100.0)
    spikes = res.spikes_of(40)
    assert len(spikes) == 9      # events at 10, 20, ..., 90 us
    np.testing.assert_allclose(np.diff(spikes), 10.0, atol=0.02)


def test_poisson_background_generator_rate(ideal_chip):
    chip = ideal_chip
    gen = chip.config.generators
    gen.enable[0] = True
    gen.period[0] = 250           # 1 us mean interval
    gen.seed[0] = 1234
    gen.label[0] = 77
    times, labels = chip.background_events(0.0, 2000.0)
    # Poisson count sd is sqrt(2000) ~ 2.2 %; interval CV of a Poisson train is 1
    assert len(times) == pytest.approx(2000, rel=0.1)
    assert np.all(labels == 77)
    isi = np.diff(times)
    assert np.std(isi) / np.mean(isi) == pytest.approx(1.0, abs=0.1)
    # on the 250 MHz generator clock
    np.testing.assert_allclose(times * 250, np.round(times * 250), atol=1e-6)
    again = chip.background_events(0.0, 2000.0)[0]
    np.testing.assert_array_equal(times, again)


ONSET = 40.0   # the sensor neuron's drive switches on here


def _sensor_chip():
    chip = Chip(seed=0, ideal=True)
    n = chip.config.neurons
    n.threshold_enable[0] = True
    n.constant_current_enable[0] = True
    # a long refractory period (255 ticks of the slow clock, 32.6 us) keeps the
    # second spike out of the pairing window
    n.refractory_period_refractory_time[0] = 255
    n.refractory_period_input_clock[0] = 1
    drive_with_input(chip, 0, "excitatory", weight=0)  # the sensor sees weight-0 events too
    return chip


# the engine pairs in float32 offsets from an origin it moves every ~256 us:
# with onset 1000 us the post spike comes at 1013.6 us, after three moves, and
# the acausal pairs of 20 and 30 us reach across the fourth (1024 us)
@pytest.mark.parametrize("onset", [ONSET, 1000.0])
@pytest.mark.parametrize("branch", ["causal", "acausal"])
def test_correlation_follows_exponential_kernel(branch, onset):
    probe = _sensor_chip()
    t_post = probe.run(onset + 30.0, offset_current_schedule=([onset], [0], [600])).spikes_of(0)[0]
    amp = M.CORRELATION_AMPLITUDE_PER_LSB_MV * 250
    tau = M.CORRELATION_TAU_REF_US
    for dt in (1.0, 2.0, 5.0, 10.0, 20.0, 30.0):
        chip = _sensor_chip()
        t_pre = t_post - dt if branch == "causal" else t_post + dt
        res = chip.run(onset + 45.0, spikes=([t_pre], [0]),
                       offset_current_schedule=([onset], [0], [600]))
        assert len(res.spike_times) == 1
        state = chip.analog_state()
        other = "acausal" if branch == "causal" else "causal"
        # t_post is known to the 8 ns timestamp grid: 4 ns / 5 us < 1e-3
        assert state[branch][0, 0, 0] == pytest.approx(amp * np.exp(-dt / tau), rel=2e-3), dt
        # a single pair in one order leaves the other branch empty
        assert state[other][0, 0, 0] < 1e-6


def test_correlation_reads_through_cadc_and_resets(ideal_chip):
    chip = _sensor_chip()
    reads = []

    def program(ppu):
        causal, acausal = ppu.read_correlation(0, rows=[0])
        reads.append((causal.copy(), acausal.copy()))
        ppu.reset_correlation(0)

    chip.config.neurons.refractory_period_input_clock[0] = 0
    chip.config.neurons.constant_current_i_offset[0] = 600
    t_posts = chip.run(200.0).spikes_of(0)
    chip.reset_state()
    pre = t_posts[t_posts < 195.0] - 2.0
    chip.run(200.0, spikes=(pre, np.zeros(len(pre), int)), ppu=[PPUProgram([100.0, 200.0], program)])
    assert len(reads) == 2
    (c0, a0), (c1, a1) = reads
    # an ideal chip reads its sensors without the converter's last rounding
    assert c0.dtype == np.float64 and c0.shape == (1, 256)
    baseline = a0[0, 1]
    # correlation lowers the sensor voltage: column 0 reads below an idle column
    n_pairs = np.sum(pre < 100.0)
    drop_lsb = n_pairs * M.CORRELATION_AMPLITUDE_PER_LSB_MV * 250 * np.exp(-2.0 / 5.0) * 0.2222
    # 5 %: the accumulator's headroom factor (1 - value / saturation) over ~20 pairs
    assert c0[0, 1] - c0[0, 0] == pytest.approx(drop_lsb, rel=0.05)
    # after the reset at 100 us the second read covers only the later pairs
    assert c1[0, 0] <= c1[0, 1]
    # the acausal branch only sees each pre with the post long before it
    assert a0[0, 0] == pytest.approx(baseline, abs=0.5)


def test_correlation_reads_of_a_real_chip_are_8_bit_codes():
    reads = []
    Chip(seed=3).run(4.0, ppu=[PPUProgram([2.0], lambda ppu: reads.append(
        ppu.read_correlation(1, rows=[5, 6])))])
    causal, acausal = reads[0]
    assert causal.dtype == acausal.dtype == np.uint8 and causal.shape == (2, 256)


def test_correlation_saturates():
    chip = _sensor_chip()
    chip.config.neurons.refractory_period_input_clock[0] = 0
    chip.config.neurons.constant_current_i_offset[0] = 600
    t_posts = chip.run(2000.0).spikes_of(0)
    chip.reset_state()
    pre = t_posts[t_posts < 1995.0] - 0.5
    chip.run(2000.0, spikes=(pre, np.zeros(len(pre), int)))
    value = chip.analog_state()["causal"][0, 0, 0]
    linear = len(pre) * M.CORRELATION_AMPLITUDE_PER_LSB_MV * 250 * np.exp(-0.1)
    sat = chip._engine.saturation[0]
    assert value < sat
    assert value < 0.9 * linear


def test_sensor_factors_are_kept_as_16_bit_codes_within_their_bound():
    chip = Chip(seed=5)
    kept = chip._engine.sensor_gains()
    for branch, layout in (("causal", (0, 2, 1)), ("acausal", (0, 1, 2))):
        for name, gains in (("amp", chip.mismatch.correlation_gain[branch, "amplitude"]),
                            ("rate", 1.0 / chip.mismatch.correlation_gain[branch, "tau"])):
            exact = np.transpose(gains, layout)
            error = np.abs(kept[f"{name}_{branch}"] - exact)
            # half a step of the power of two at or above largest / 65535
            assert error.max() <= exact.max() / 65535, (name, branch)
            assert np.corrcoef(kept[f"{name}_{branch}"].ravel(), exact.ravel())[0, 1] > 0.9999
    # an ideal chip's factors of 1 are kept exactly
    assert all(np.all(g == 1.0) for g in Chip(ideal=True)._engine.sensor_gains().values())


@pytest.mark.parametrize("bad, message", [
    (0.0, r"amp_causal: factors 0\.\.1 are out of range; allowed range is 1e-06\.\.1e\+06"),
    (np.inf, r"amp_causal: factors 1\.\.inf are out of range"),
    (np.nan, r"amp_causal: factors nan\.\.nan are out of range"),
    (1e-3, r"amp_causal: factors 0\.001\.\.1 spread too far; the smallest must be at "
           r"least 1/655 of the largest, 0\.00152672"),
])
def test_sensor_factors_are_validated(bad, message):
    engine = Chip(ideal=True)._engine
    gains = [np.ones((2, 256, 256)) for _ in range(4)]
    gains[0][1, 2, 3] = bad
    with pytest.raises(ValueError, match=message):
        engine.set_sensor_gains(*gains)
    gains[0][1, 2, 3] = 1.0
    with pytest.raises(ValueError, match=r"rate_acausal: shape \(2, 256\); expected"):
        engine.set_sensor_gains(*gains[:3], np.ones((2, 256)))


@pytest.mark.parametrize("rows", [None, [0]])
def test_ppu_reads_counters_and_writes_weights(ideal_chip, rows):
    """The PPU's weight writes, of a whole hemisphere or of some rows, reach
    the synapses at once."""
    chip = ideal_chip
    n = chip.config.neurons
    n.threshold_enable[:4] = True
    n.constant_current_enable[:4] = True
    n.constant_current_i_offset[:4] = 700
    drive_with_input(chip, 100, "excitatory", weight=0)
    seen = []

    def program(ppu):
        counts = ppu.read_spike_counters(reset=True)
        seen.append((ppu.time, counts[:5].copy()))
        w = ppu.get_weights(0)
        w[0, 100] = 63
        ppu.set_weights(0, w if rows is None else w[rows], rows=rows)

    events = np.arange(1.0, 100.0, 10.0)
    chip.run(100.0, spikes=(events, np.zeros(len(events), int)),
             ppu=[PPUProgram([50.0], program)])
    assert seen[0][0] == pytest.approx(50.0)
    assert np.all(seen[0][1][:4] > 0) and seen[0][1][4] == 0
    assert chip.config.synapses.weights[0, 0, 100] == 63
    # before the write the inputs had no effect, after it they do
    assert chip.analog_state()["exc_synin"][100] > 0


def test_ppu_program_error_reports_time(ideal_chip):
    def broken(ppu):
        raise ValueError("rule bug")

    with pytest.raises(RuntimeError, match=r"PPU program failed at chip time 30\.000 us"):
        ideal_chip.run(50.0, ppu=[PPUProgram([30.0], broken)])


@pytest.mark.parametrize("bad, rows, message", [
    (64.0, None, r"ppu weights: value 64 at index \(3, 9\) is out of range; allowed range is 0..63"),
    (-1.0, [2, 3], r"ppu weights: value -1 at index \(1, 9\) is out of range"),
    (5.5, None, r"ppu weights: value 5.5 is not an integer"),
    (np.nan, [3], r"ppu weights: value nan is not finite"),
])
def test_ppu_weight_write_is_validated(bad, rows, message):
    """A write with one bad weight raises, naming it, and writes none of them."""
    seen = []

    def writes(ppu):
        w = np.full((256, 256), 7.0)
        w[3, 9] = bad
        try:
            ppu.set_weights(0, w if rows is None else w[rows], rows=rows)
        finally:
            seen.append(ppu.get_weights(0))

    chip = Chip(seed=1)
    before = chip.config.synapses.weights[0].copy()
    with pytest.raises(RuntimeError, match=message):
        chip.run(10.0, ppu=[PPUProgram([5.0], writes)])
    np.testing.assert_array_equal(seen[0], before)


def test_cadc_membrane_recording(ideal_chip):
    chip = ideal_chip
    res = chip.run(20.0, cadc=CadcRecording(np.arange(512), interval=2.0))
    assert res.cadc_codes.dtype == np.uint8 and res.cadc_codes.shape == (10, 512)
    np.testing.assert_allclose(res.cadc_times, 2.0 * np.arange(1, 11))
    # default leak 620 -> 420 mV -> (420 - 60) * 0.2222 = 80 LSB on an ideal chip
    assert np.all(res.cadc_codes == 79) or np.all(res.cadc_codes == 80)


def test_offset_current_schedule(ideal_chip):
    chip = ideal_chip
    n = chip.config.neurons
    n.constant_current_enable[9] = True
    chip.run(50.0, offset_current_schedule=([25.0], [9], [500]))
    p = chip.physical_parameters()
    assert n.constant_current_i_offset[9] == 500
    v_inf = p["e_leak"][9] + p["i_offset"][9] / p["g_leak"][9]
    tau = 1 / p["inv_c"][9] / p["g_leak"][9]
    expected = v_inf + (p["e_leak"][9] - v_inf) * np.exp(-25.0 / tau)
    assert chip.analog_state()["v"][9] == pytest.approx(expected, abs=0.05)
    # several writes per cell, given out of time order: the CapMem keeps each
    # cell's last one in time
    chip.run(50.0, offset_current_schedule=([90.0, 60.0, 70.0, 55.0], [9, 9, 4, 4],
                                            [300, 100, 200, 700]))
    assert n.constant_current_i_offset[9] == 300 and n.constant_current_i_offset[4] == 200


@pytest.mark.parametrize("U, tau_rec, tau_facil", [(0.5, 50.0, 0.0), (0.1, 20.0, 100.0)])
def test_short_term_plasticity_follows_tsodyks_markram(ideal_chip, U, tau_rec, tau_facil):
    chip = ideal_chip
    drive_with_input(chip, 3, "excitatory", weight=40)
    syn = chip.config.synapses
    syn.stp_enable[0, 0] = True
    syn.stp_U[0, 0], syn.stp_tau_rec[0, 0], syn.stp_tau_facil[0, 0] = U, tau_rec, tau_facil
    times = 5.0 + 10.0 * np.arange(8)
    p = chip.physical_parameters()
    tau_s = 1.0 / p["inv_tau_e"][3]
    # full resources and no use yet: the first event carries U
    x, u, last, expected = 1.0, 0.0, 0.0, []
    for t in times:
        h = t - last
        x = 1 + (x - x * u - 1) * np.exp(-h / tau_rec)
        u = U + u * (1 - U) * (np.exp(-h / tau_facil) if tau_facil else 0.0)
        expected.append(x * u)
        last = t
    expected = np.array(expected)
    # measure the step at each event: run up to just before it, then one step
    chip.reset_state()
    steps = []
    for t in times:
        chip.run(t - chip.time)
        before = chip.analog_state()["exc_synin"][3]
        chip.run(chip.dt, spikes=([t], [0]))
        after = chip.analog_state()["exc_synin"][3]
        steps.append(after - before * np.exp(-chip.dt / tau_s))
    steps = np.array(steps)
    # relative efficacies; the first-order arrival term costs < 1e-3 here
    np.testing.assert_allclose(steps / steps[0], expected / expected[0], rtol=2e-3)


def test_a_row_remembers_pre_spikes_at_an_address_none_of_its_synapses_has():
    """An event whose address no synapse of its row has reaches no synapse, yet
    the row keeps its time: a synapse relabelled to that address before the post
    spike pairs with it exactly as one that had the address all along."""
    probe = _sensor_chip()
    t_post = probe.run(ONSET + 30.0, offset_current_schedule=([ONSET], [0], [600])).spikes_of(0)[0]
    t_pre, split = t_post - 5.0, t_post - 4.0
    causal = []
    for listening_from_start in (True, False):
        chip = _sensor_chip()
        if listening_from_start:
            chip.config.synapses.labels[0, 0, 0] = 5
        chip.run(split, spikes=([t_pre], [5]), offset_current_schedule=([ONSET], [0], [600]))
        assert chip.analog_state()["acausal"][0, 0, 0] < 1e-30     # no post spike yet
        chip.config.synapses.labels[0, 0, 0] = 5
        res = chip.run(ONSET + 30.0 - split, offset_current_schedule=([split], [0], [600]))
        assert len(res.spike_times) == 1
        causal.append(chip.analog_state()["causal"][0, 0, 0])
    assert causal[0] > 0.0
    assert causal[1] == causal[0]


def test_sensors_pair_alike_on_rows_of_one_address_and_of_mixed_addresses():
    """Where every row of a hemisphere carries one address (a row per source),
    a post spike reads its rows' last pre spikes without a gather over the
    addresses, and a pre spike updates its row without the label mask; one
    idle synapse relabelled (mixed rows) leaves every other accumulator the
    same, bit for bit."""
    probe = _sensor_chip()
    t_post = probe.run(ONSET + 30.0, offset_current_schedule=([ONSET], [0], [600])).spikes_of(0)[0]
    states = []
    for mixed in (False, True):
        chip = _sensor_chip()
        chip.config.synapses.labels[0, 0, :] = 0
        if mixed:
            chip.config.synapses.labels[0, 0, 200] = 9
        res = chip.run(ONSET + 45.0, spikes=([t_post - 3.0, t_post + 4.0], [0, 0]),
                       offset_current_schedule=([ONSET], [0], [600]))
        assert len(res.spike_times) == 1
        assert np.all(chip._engine.row_address[0] >= 0) != mixed
        states.append(chip.analog_state())
    assert states[0]["causal"][0, 0, 0] > 0 and states[0]["acausal"][0, 0, 0] > 0
    for branch in ("causal", "acausal"):
        uniform, mixed = states[0][branch].copy(), states[1][branch].copy()
        uniform[0, 0, 200] = mixed[0, 0, 200] = 0.0        # the relabelled synapse heard nothing
        np.testing.assert_array_equal(uniform, mixed)


def test_psp_height_follows_the_synapse_dac_bias_between_runs(ideal_chip):
    """The synapse DAC bias scales every synapse's line-voltage step; changed
    between runs, the next run's PSPs follow it (linear in a CUBA input)."""
    from cython_core import MadcRecording
    chip = ideal_chip
    drive_with_input(chip, 0, "excitatory", weight=40)
    heights = []
    for dac_bias in (600, 300):
        chip.config.quadrants.synapse_dac_bias[...] = dac_bias
        chip.reset_state()
        res = chip.run(40.0, spikes=([5.0], [0]), madc=MadcRecording([0], "v", 0.1))
        trace = res.madc_mv[:, 0]
        heights.append(trace.max() - trace[0])
    assert heights[0] > 1.0
    assert heights[1] / heights[0] == pytest.approx(0.5, rel=1e-3)


def _twin_chips_with_sensor_drops(rng, **chip_args):
    """Two chips alike (Chip(**chip_args)) with the same random integer weights
    and sensor drops (mV) in both hemispheres: (weights, [chip, chip])."""
    weights = rng.integers(0, 64, (2, 256, 256)).astype(float)
    drops = rng.uniform(0, 40, (2, 2, 256, 256)).astype(np.float32)
    chips = []
    for _ in range(2):
        chip = Chip(**chip_args)
        chip.config.synapses.weights[...] = weights
        chip.config.correlation_sensors_enable = True
        chip.reset_state()
        chip._engine.causal[...] = drops[0]
        chip._engine.acausal[...] = drops[1]
        chips.append(chip)
    return weights, chips


@pytest.mark.parametrize("ideal, n_rows", [(False, 256), (False, 100), (False, 37), (True, 256)])
def test_ppu_stdp_rows_equal_the_steps_they_fuse(ideal, n_rows):
    """PPUAccess.additive_stdp_rows reads, updates, writes and resets in one pass;
    the result must be that of read_correlation, reset_correlation, get_weights,
    random, the general update kernel and set_weights one after another, bit
    for bit (same random numbers), on a calibrated-like chip (noise, integer
    weights) and an ideal one; rows beyond n_rows stay as they were."""
    from cython_core.chip import PPUAccess
    from cython_core._plasticity import pair_stdp_update
    rule = dict(causal_scale=0.9, acausal_scale=1.1, a_plus=0.01, a_minus=0.012,
                w_min=0.0, w_max=63.0)
    rng = np.random.default_rng(3)
    reset_code = 200.0 + rng.normal(0, 3, (2, 256))
    pairs_per_code = 0.5 + rng.random((2, 256))
    weights, chips = _twin_chips_with_sensor_drops(rng, seed=1, ideal=ideal)
    stepwise, fused = (PPUAccess(c, 0.0, np.random.default_rng(9)) for c in chips)
    h, rows = 1, np.arange(n_rows)
    causal, acausal = stepwise.read_correlation(h, rows, reads=4)
    stepwise.reset_correlation(h, rows)
    w = np.ascontiguousarray(stepwise.get_weights(h), float)
    uniform = stepwise.random(n_rows * 256) if not ideal else np.zeros(0)
    identity = np.arange(n_rows * 256).reshape(-1, 1)
    pair_stdp_update(np.ascontiguousarray(causal, float).ravel(),
                     np.ascontiguousarray(acausal, float).ravel(), identity, identity,
                     w.ravel(), reset_code, pairs_per_code,
                     *(np.array([value]) for value in rule.values()), np.zeros(1), np.zeros(1),
                     uniform, not ideal)
    stepwise.set_weights(h, w[rows], rows=rows)
    fused.additive_stdp_rows(h, n_rows, rule, reset_code, pairs_per_code, reads=4)
    a, b = chips
    assert not np.array_equal(a.config.synapses.weights, weights)      # weights moved
    np.testing.assert_array_equal(a.config.synapses.weights, b.config.synapses.weights)
    np.testing.assert_array_equal(a._engine.synapse_step, b._engine.synapse_step)
    np.testing.assert_array_equal(a._engine.causal, b._engine.causal)
    np.testing.assert_array_equal(a._engine.acausal, b._engine.acausal)
    # the rows beyond and the other hemisphere untouched
    np.testing.assert_array_equal(b.config.synapses.weights[h, n_rows:], weights[h, n_rows:])
    np.testing.assert_array_equal(b.config.synapses.weights[0], weights[0])
    # the generators stand at the same place afterwards
    assert stepwise._rng.integers(2**63) == fused._rng.integers(2**63)
    with pytest.raises(ConfigurationError, match=r"rule w_max: value 64"):
        fused.additive_stdp_rows(h, n_rows, dict(rule, w_max=64.0), reset_code,
                                 pairs_per_code, reads=4)


@pytest.mark.parametrize("fused", [True, False])
def test_a_ppu_preview_writes_a_copy_and_leaves_the_chip_as_it_was(fused):
    """A preview (PPUAccess(preview=True), Chip.preview_ppu) reads the chip as
    it stands, but writes weights into a copy and leaves out the resets of
    sensors and spike counters: the copy holds what the same program with the
    same random numbers writes on the chip, and the previewed chip's weights,
    line steps, sensors and counters are as they were; a chip's previews
    between the same runs agree."""
    from cython_core.chip import PPUAccess
    rule = dict(causal_scale=0.9, acausal_scale=1.1, a_plus=0.01, a_minus=0.012,
                w_min=0.0, w_max=63.0)
    rng = np.random.default_rng(5)
    reset_code = 200.0 + rng.normal(0, 3, (2, 256))
    pairs_per_code = 0.5 + rng.random((2, 256))
    weights, (real, previewed) = _twin_chips_with_sensor_drops(rng, seed=1)

    def program(ppu):
        if fused:
            ppu.additive_stdp_rows(1, 100, rule, reset_code, pairs_per_code, reads=4)
        else:
            causal, _ = ppu.read_correlation(0, np.arange(50))
            ppu.reset_correlation(0, np.arange(50))
            counts = ppu.read_spike_counters(reset=True)
            w = ppu.get_weights(0)
            w[:50] = np.clip(w[:50] + np.floor(causal / 64.0) - 1 + (counts[:256] > 0), 0, 63)
            ppu.set_weights(0, w[:50], rows=np.arange(50))

    for chip in (real, previewed):
        chip._engine.spike_counter[:] = np.arange(512) % 3
    names = ("causal", "acausal", "synapse_step", "spike_counter")
    before = {name: getattr(previewed._engine, name).copy() for name in names}
    program(PPUAccess(real, 0.0, np.random.default_rng(9)))
    preview = PPUAccess(previewed, 0.0, np.random.default_rng(9), preview=True)
    program(preview)
    assert not np.array_equal(real.config.synapses.weights, weights)       # weights moved
    for h in range(2):
        np.testing.assert_array_equal(preview.get_weights(h), real.config.synapses.weights[h])
    np.testing.assert_array_equal(previewed.config.synapses.weights, weights)
    for name in names:
        np.testing.assert_array_equal(getattr(previewed._engine, name), before[name], name)
    np.testing.assert_array_equal(previewed.preview_ppu(program), previewed.preview_ppu(program))


@pytest.mark.parametrize("threads", [1, 2])
def test_both_hemispheres_ppu_updates_equal_the_updates_one_after_another(threads):
    """additive_stdp_hemispheres runs the two hemispheres' fused updates as two
    PPUs would, side by side where the chip runs two threads; the random
    numbers are drawn in the order given, so the result is that of
    additive_stdp_rows for one hemisphere after the other."""
    from cython_core.chip import PPUAccess
    rule = dict(causal_scale=0.9, acausal_scale=1.1, a_plus=0.01, a_minus=0.012,
                w_min=0.0, w_max=63.0)
    rng = np.random.default_rng(4)
    weights, chips = _twin_chips_with_sensor_drops(rng, seed=2, threads=threads)
    updates = [dict(hemisphere=h, n_rows=n, rule=rule, reads=4,
                    reset_code=200.0 + rng.normal(0, 3, (2, 256)),
                    pairs_per_code=0.5 + rng.random((2, 256)))
               for h, n in ((1, 200), (0, 256))]
    one_by_one, side_by_side = (PPUAccess(c, 0.0, np.random.default_rng(5)) for c in chips)
    for update in updates:
        one_by_one.additive_stdp_rows(**update)
    side_by_side.additive_stdp_hemispheres(updates)
    a, b = chips
    assert not np.array_equal(b.config.synapses.weights[0], weights[0])
    assert not np.array_equal(b.config.synapses.weights[1], weights[1])
    for name in ("synapse_step", "causal", "acausal"):
        np.testing.assert_array_equal(getattr(a._engine, name), getattr(b._engine, name))
    np.testing.assert_array_equal(a.config.synapses.weights, b.config.synapses.weights)
