"""The BSS-2-native API (pynn_brainscales.brainscales2): scripts written for the
real system, hardware units and time, raw readout."""
import numpy as np
import pytest

from pyNN.errors import ConnectionError as PyNNConnectionError
from pyNN.errors import InvalidDimensionsError, InvalidParameterValueError

import calibration
import pynn_brainscales
import pynn_brainscales.brainscales2 as pynn
from cython_core import constants as C
from cython_core.config import NEURON_FIELDS

NEURON_DEFAULT_THRESHOLD = NEURON_FIELDS["threshold_v_threshold"].default


def driven_neuron(**extra):
    return pynn.cells.HXNeuron(threshold_enable=True, constant_current_enable=True,
                               constant_current_i_offset=600, **extra)


def test_hxneuron_defaults_silent_and_parameters_flat():
    pynn.setup(ideal=True)
    pop = pynn.Population(3, pynn.cells.HXNeuron())
    assert pop.get("threshold_enable") == 0 and pop.get("leak_v_leak") == 620
    pop.record("spikes")
    pynn.run(0.1)                                   # 100 us of chip time
    assert sum(len(s) for s in pop.get_data().segments[0].spiketrains) == 0
    # the older dict form of the BSS-2 software
    cell = pynn.cells.HXNeuron({"leak_v_leak": 500, "threshold_enable": True})
    assert cell.parameter_space["leak_v_leak"].base_value == 500
    with pytest.raises(KeyError, match="unknown parameter"):
        pynn.cells.HXNeuron(leak_v_leek=500)
    pynn.end()


def test_real_circuit_fields_the_emulator_lacks():
    """Every field of the real circuit is a parameter: readout and routing details
    and biases of parts modelled at their working point are accepted (and given
    back); fields that switch on what the emulated circuit lacks raise, naming
    the field, instead of being dropped."""
    pynn.setup(ideal=True)
    driven = dict(threshold_enable=True, leak_v_leak=1000, reset_v_reset=300)
    plain = pynn.Population(1, pynn.cells.HXNeuron(**driven))
    real = pynn.Population(1, pynn.cells.HXNeuron(**driven, reset_i_bias=666, readout_source=1,
                                                  leak_enable_degeneration=True,
                                                  refractory_period_reset_holdoff=2))
    for pop in (plain, real):
        pop.record("spikes")
    pynn.run(0.1)
    assert real.get("reset_i_bias") == 666
    trains = [pop.get_data().segments[0].spiketrains[0].magnitude for pop in (plain, real)]
    assert len(trains[0]) > 0
    np.testing.assert_array_equal(trains[0], trains[1])
    pynn.end()
    for field in ("multicompartment_connect_right", "bayesian_enable", "constant_current_type"):
        pynn.setup(ideal=True)
        pynn.Population(1, pynn.cells.HXNeuron(**{field: 1}))
        with pytest.raises(NotImplementedError, match=f"{field} = \\[1.0\\]; the emulated"):
            pynn.run(0.01)
        pynn.end()


def test_hardware_time_raw_madc_codes_and_run_commands():
    pynn.setup(ideal=True)
    pop = pynn.Population(2, driven_neuron())
    pop.record(["spikes", "v"])
    pynn.run(0.1)
    seg = pop.get_data().segments[0]
    spikes = seg.spiketrains[0]
    assert str(spikes.units.dimensionality) == "ms"
    assert 0.005 < float(spikes[0]) < 0.05           # a spike within tens of us
    assert spikes.annotations["source_id"] == int(pop.all_cells[0])
    assert spikes.annotations["source_index"] == 0
    v = seg.irregularlysampledsignals[0]
    assert v.dtype == np.float32 and str(v.units.dimensionality) == "dimensionless"
    # sample times in float32 ms, as the real system hands them out
    np.testing.assert_allclose(np.diff(v.times.magnitude[:5]), C.MADC_SAMPLE_INTERVAL_US / 1e3,
                               rtol=1e-5)
    assert 0 <= float(np.min(v)) and float(np.max(v)) <= C.MADC_CODE_MAX
    with pytest.raises(RuntimeError, match="call reset"):
        pynn.run(0.1)
    pynn.reset()
    pynn.run(0.05, pynn.RunCommand.APPEND)
    pynn.run(0.05)                                  # executes both: 0.1 ms
    assert pynn.get_current_time() == pytest.approx(0.1)
    assert len(pop.get_data().segments) == 2


def test_cadc_recording_and_one_analog_variable_per_neuron():
    pynn.setup(ideal=True)
    pop = pynn.Population(2, pynn.cells.HXNeuron())
    with pytest.raises(ValueError, match="only one analog variable"):
        pop.record(["v", "exc_synin"])
    pop.record(["v"], device="cadc")
    pynn.run(0.02)
    v = pop.get_data().segments[0].irregularlysampledsignals[0]
    # the default leak (620) sits at 80 CADC LSB on an ideal chip
    assert np.all((np.asarray(v) >= 79) & (np.asarray(v) <= 80))


def test_synapses_integer_signed_no_delay():
    pynn.setup(ideal=True)
    src = pynn.Population(1, pynn.cells.SpikeSourceArray(spike_times=[0.01]))
    pop = pynn.Population(3, pynn.cells.HXNeuron(excitatory_input_enable=True,
                                                  inhibitory_input_enable=True))
    exc = pynn.Projection(src, pop, pynn.AllToAllConnector(),
                          pynn.synapses.StaticSynapse(weight=40.4), receptor_type="excitatory")
    assert exc.get("weight", format="list")[0][2] == 40.0        # rounded to the 6-bit grid
    big = pynn.Projection(src, pop[1:2], pynn.AllToAllConnector(),
                          pynn.synapses.StaticSynapse(weight=150), receptor_type="excitatory")
    inh = pynn.Projection(src, pop[2:3], pynn.AllToAllConnector(),
                          pynn.synapses.StaticSynapse(weight=-63), receptor_type="inhibitory")
    with pytest.raises(ValueError, match="delay must be 0"):
        pynn.Projection(src, pop, pynn.AllToAllConnector(),
                        pynn.synapses.StaticSynapse(weight=1, delay=1.0))
    with pytest.raises(PyNNConnectionError, match="Weights must be positive"):
        pynn.Projection(src, pop, pynn.AllToAllConnector(),
                        pynn.synapses.StaticSynapse(weight=-5), receptor_type="excitatory")
    pop.record(["exc_synin"])
    pynn.run(0.05)
    signals = pop.get_data().segments[0].irregularlysampledsignals
    # the synaptic line drops as its synapses draw current (as on the real chip)
    peaks = [float(s[0, 0]) - float(np.min(s)) for s in signals]
    # |w| = 150 uses three parallel rows: 190 / 40 of the single 40; the raw
    # codes are whole numbers (1 code ~ 1 mV of a ~23 mV step)
    assert peaks[1] / peaks[0] == pytest.approx(190 / 40, rel=0.05)
    assert big.get("weight", format="list")[0][2] == 150.0 and inh is not None


def test_setup_keywords_and_initial_config(tmp_path, monkeypatch):
    with pytest.raises(KeyError, match="unknown keyword"):
        pynn.setup(timestep_wrong=1)
    pynn.setup(calibration_cache=["/tmp"])         # infrastructure keywords are accepted
    pynn.setup(injected_config=None, injection_pre_realtime=None)     # their defaults too
    # a hardware program handed in would be lost: refused, not ignored
    with pytest.raises(NotImplementedError, match=r"\['injection_pre_realtime'\] hand the real "
                                                  r"system hardware playback programs"):
        pynn.setup(injection_pre_realtime=object())
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    result = calibration.cached(0)
    pynn.setup(chip=0, initial_config=result, neuronPermutation=[5, 3, 100])
    pop = pynn.Population(3, pynn.cells.HXNeuron())
    # the calibrated values are visible at creation, on the permuted circuits
    np.testing.assert_array_equal(pop.get("leak_v_leak"), result.neurons["leak_v_leak"][[5, 3, 100]])
    assert pop.get("threshold_enable") == 1
    pop.record("v", device="cadc")
    pynn.run(0.05)
    v = np.concatenate([np.asarray(s) for s in pop.get_data().segments[0].irregularlysampledsignals], axis=1)
    # calibrated to 80 CADC LSB; reads carry ~1.5 LSB of noise
    assert np.all(np.abs(v.mean(axis=0) - 80) < 1.5)
    # what the script gives the cell type stays: the calibration fills the rest
    pynn.setup(chip=0, initial_config=result)
    own = pynn.Population(2, pynn.cells.HXNeuron(threshold_enable=False, leak_v_leak=700))
    assert own.get("threshold_enable") == 0 and own.get("leak_v_leak") == 700
    np.testing.assert_array_equal(own.get("reset_v_reset"), result.neurons["reset_v_reset"][:2])
    with pytest.raises(ValueError, match="calibration of chip 0, not of chip 2"):
        pynn.setup(chip=2, initial_config=result)


def test_calibrated_cells(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    pynn.setup(chip=1)
    pop = pynn.Population(4, pynn.cells.CalibHXNeuronCuba(v_rest=[80, 60, 70, 90], v_reset=70,
                                                            v_thresh=125, tau_m=8.0))
    pop.record("v", device="cadc")
    # as on the real system: the calibration's results are attributes once it ran
    for name in ("calib_target", "calib_hwparams", "actual_hwparams"):
        with pytest.raises(AttributeError, match=f"{name} not available .* before it is"):
            getattr(pop, name)
    pynn.preprocess()                               # calibration happens here (cached)
    assert pop.calib_target["tau_m"].tolist() == [8.0] * 4
    assert set(pop.calib_hwparams.keys()) >= {"leak_v_leak", "leak_i_bias"}
    # the real system's form: one circuit per neuron, members as attributes
    assert len(pop.calib_hwparams) == 4
    assert pop.calib_hwparams[2].leak.v_leak == pop.calib_hwparams["leak_v_leak"][2]
    with pytest.raises(AttributeError, match="read-only; change actual_hwparams"):
        pop.calib_hwparams[0].leak.v_leak = 1022
    with pytest.raises(AttributeError, match=r"leak\.v_leek: no such field"):
        pop.calib_hwparams[0].leak.v_leek
    pynn.run(0.05)
    v = np.concatenate([np.asarray(s) for s in pop.get_data().segments[0].irregularlysampledsignals], axis=1)
    np.testing.assert_allclose(v.mean(axis=0), [80, 60, 70, 90], atol=1.5)
    assert pop.actual_hwparams["leak_v_leak"].tolist() == pop.calib_hwparams["leak_v_leak"].tolist()
    pynn.end()


def test_actual_hwparams_set_the_next_run(tmp_path, monkeypatch):
    """As the real system's example: after preprocess(), raising the leak
    potential of neurons 0 and 2 (the second through a view) above threshold
    makes them fire; the others stay at rest."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    pynn.setup(chip=1)
    pop = pynn.Population(4, pynn.cells.CalibHXNeuronCuba(v_rest=[80, 50, 70, 60], v_reset=71,
                                                            v_thresh=125))
    pop.record("spikes")
    pynn.preprocess()
    pop.actual_hwparams[0].leak.v_leak = 1022
    pop[1:3].actual_hwparams[1].leak.v_leak = 1022         # neuron 2
    assert pop.actual_hwparams[2].leak.v_leak == 1022
    assert [n.leak.v_leak for n in pop.actual_hwparams[0:3:2]] == [1022, 1022]
    pynn.run(0.2)
    counts = [len(t) for t in pop.get_data().segments[0].spiketrains]
    assert counts[0] > 10 and counts[2] > 10 and counts[1] == counts[3] == 0
    pynn.end()
    # on an HXNeuron population the setting is the population's parameter
    pynn.setup(ideal=True)
    plain = pynn.Population(2, pynn.cells.HXNeuron())
    plain.actual_hwparams[1].threshold.v_threshold = 300
    assert plain.get("threshold_v_threshold").tolist() == [NEURON_DEFAULT_THRESHOLD, 300]


def test_on_chip_poisson_source():
    pynn.setup(ideal=True)
    src = pynn.Population(1, pynn.cells.SpikeSourcePoissonOnChip(rate=2e5, seed=3))
    pop = pynn.Population(1, pynn.cells.HXNeuron(excitatory_input_enable=True))
    pynn.Projection(src, pop, pynn.AllToAllConnector(), pynn.synapses.StaticSynapse(weight=10),
                    receptor_type="excitatory")
    pop.record("exc_synin")
    pynn.run(0.1)
    trace = np.asarray(pop.get_data().segments[0].irregularlysampledsignals[0])[:, 0]
    # 200 kHz of hardware time: about 20 events in 100 us, each a step down of
    # the line (spread over the ~3 MADC samples of one 0.1 us integration step)
    steps = np.count_nonzero(np.diff(trace[::3]) < -3)
    assert 8 < steps < 35


def test_on_chip_poisson_population_of_several_cells():
    """One generator serves several cells through random address bits: each
    cell fires at the rate given, independently of the others; a neuron
    connected to all of them receives all their events."""
    pynn.setup(ideal=True)
    src = pynn.Population(3, pynn.cells.SpikeSourcePoissonOnChip(rate=1e5, seed=5))
    one_each = pynn.Population(3, pynn.cells.HXNeuron(excitatory_input_enable=True))
    all_of_them = pynn.Population(1, pynn.cells.HXNeuron(excitatory_input_enable=True))
    static = pynn.synapses.StaticSynapse(weight=10)
    pynn.Projection(src, one_each, pynn.OneToOneConnector(), static, receptor_type="excitatory")
    pynn.Projection(src, all_of_them, pynn.AllToAllConnector(), static,
                    receptor_type="excitatory")
    for pop in (one_each, all_of_them):
        pop.record("exc_synin")
    pynn.run(0.4)
    signals = [np.asarray(s)[:, 0] for pop in (one_each, all_of_them)
               for s in pop.get_data().segments[0].irregularlysampledsignals]
    # events: steps down of the line (~3 MADC samples per 0.1 us integration step)
    steps = [np.flatnonzero(np.diff(trace[::3]) < -3) for trace in signals]
    counts = [len(s) for s in steps]
    # 100 kHz for 400 us: 40 events per cell (Poisson sd 6.3); 3 addresses of 4
    # are cells, so the neuron wired to all sees 120 (two events in one
    # integration step merge into one step now and then)
    assert all(20 < c < 60 for c in counts[:3])
    assert 80 < counts[3] < 160 and counts[3] > max(counts[:3])
    assert not np.array_equal(steps[0], steps[1])
    pynn.end()
    pynn.setup(ideal=True)
    src = pynn.Population(65, pynn.cells.SpikeSourcePoissonOnChip(rate=1e5, seed=5))
    pynn.Projection(src, pynn.Population(1, pynn.cells.HXNeuron()), pynn.AllToAllConnector(),
                    pynn.synapses.StaticSynapse(weight=10))
    with pytest.raises(InvalidDimensionsError, match="65 cells; one generator's random address"):
        pynn.run(0.1)


@pytest.mark.parametrize("select, addresses", [
    (lambda src: src, [0, 1, 2, 3]),
    (lambda src: src[1:3][0:1], [1]),                  # a view of a view: cell 1
    (lambda src: pynn.Assembly(src), [0, 1, 2, 3]),
])
def test_on_chip_poisson_cells_keep_their_address(select, addresses):
    """Whatever selects the cells, cell i's synapses listen to address i."""
    from pynn_brainscales import simulator as core
    pynn.setup(ideal=True)
    src = pynn.Population(4, pynn.cells.SpikeSourcePoissonOnChip(rate=1e5, seed=1))
    pop = pynn.Population(1, pynn.cells.HXNeuron(excitatory_input_enable=True))
    pynn.Projection(select(src), pop, pynn.AllToAllConnector(),
                    pynn.synapses.StaticSynapse(weight=10))
    pynn.run(0.1)
    syn = core.state.chip.config.synapses
    assert sorted(syn.labels[syn.weights > 0].tolist()) == addresses
    pynn.end()
    pynn.setup(ideal=True)
    other = pynn.Population(2, pynn.cells.SpikeSourceArray(spike_times=[0.01]))
    src = pynn.Population(2, pynn.cells.SpikeSourcePoissonOnChip(rate=1e5, seed=1))
    pynn.Projection(other + src, pynn.Population(4, pynn.cells.HXNeuron()),
                    pynn.OneToOneConnector(), pynn.synapses.StaticSynapse(weight=10))
    with pytest.raises(PyNNConnectionError, match="Assembly that holds SpikeSourcePoissonOnChip"):
        pynn.run(0.1)
    pynn.end()


def test_neuron_bypass_mode():
    """setup(enable_neuron_bypass=True), as on the real system: a silent neuron
    spikes on every event that reaches it through a nonzero weight, excitatory
    or inhibitory, at the event's time (on the FPGA's 8 ns grid); a zero weight
    passes nothing, and without bypass the silent neuron stays silent."""
    rng = np.random.default_rng(4245)
    spikes_in = np.sort(rng.uniform(0.001, 0.499, 60))          # hardware ms
    for bypass in (True, False):
        pynn.setup(chip=0, enable_neuron_bypass=bypass)
        src = pynn.Population(1, pynn.cells.SpikeSourceArray(spike_times=spikes_in))
        out = pynn.Population(3, pynn.cells.HXNeuron())
        out.record("spikes")
        pynn.Projection(src, out[0:1], pynn.AllToAllConnector(),
                        pynn.synapses.StaticSynapse(weight=63), receptor_type="excitatory")
        pynn.Projection(src, out[1:2], pynn.AllToAllConnector(),
                        pynn.synapses.StaticSynapse(weight=-20), receptor_type="inhibitory")
        pynn.Projection(src, out[2:3], pynn.AllToAllConnector(),
                        pynn.synapses.StaticSynapse(weight=0), receptor_type="excitatory")
        pynn.run(0.5)
        trains = [t.magnitude for t in out.get_data().segments[0].spiketrains]
        if bypass:
            for train in trains[:2]:
                # the FPGA's timestamps: 8 ns = 8e-6 ms
                np.testing.assert_allclose(train, spikes_in, atol=4.1e-6)
            assert len(trains[2]) == 0
        else:
            assert all(len(train) == 0 for train in trains)
        pynn.end()


def test_helper_nightly_calibration(tmp_path, monkeypatch):
    """The real system's opening lines run: the nightly calibration of the
    (emulated) chip goes to setup(initial_config=...); a file that is no
    calibration of the emulator is refused with a reason."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    calib = pynn.helper.chip_from_nightly()
    assert pynn.helper.nightly_calib_path().exists()
    pynn.setup(initial_config=calib)
    pop = pynn.Population(2, pynn.cells.HXNeuron())
    assert pop.get("leak_v_leak").tolist() == calib.neurons["leak_v_leak"][:2].tolist()
    pynn.end()
    again = pynn.helper.chip_from_file(pynn.helper.nightly_calib_path())
    assert again.neurons["leak_v_leak"].tolist() == calib.neurons["leak_v_leak"].tolist()
    dump = tmp_path / "spiking_cocolist.pbin"
    dump.write_bytes(b"\x00\x01coco")
    with pytest.raises(calibration.CalibrationFileError, match="not a readable calibration"):
        pynn.helper.chip_from_file(dump)


def test_logger_of_the_real_system(capsys, tmp_path):
    """pylogging's API as the real system's scripts use it: levels filter, a
    message is its parts joined, set_loglevel acts per logger."""
    log_file = tmp_path / "run.log"
    pynn.logger.default_config(level=pynn.logger.LogLevel.INFO, fname=str(log_file))
    try:
        log = pynn.logger.get("demo")
        log.INFO("spikes: ", 12, ", rate: ", 3.5)
        log.DEBUG("hidden")
        # the lower-case methods format as Python's logging (the real tutorials
        # call log.info(f"..."), the real software log.debug("%s", x))
        log.info("%s neurons", 8)
        log.debug("hidden %s", "as well")
        quiet = pynn.logger.get("hxcomm")
        pynn.logger.set_loglevel(quiet, pynn.logger.LogLevel.WARN)
        quiet.INFO("hidden too")
        quiet.WARN("shown")
        text = log_file.read_text()
        assert "INFO brainscales2.demo: spikes: 12, rate: 3.5" in text
        assert "INFO brainscales2.demo: 8 neurons" in text
        assert "WARNING brainscales2.hxcomm: shown" in text and "hidden" not in text
        with pytest.raises(ValueError, match="level: value 7 is not one of"):
            pynn.logger.default_config(level=7)
    finally:
        pynn.logger.reset()


def test_snippets_record_what_was_recorded_while_they_ran():
    """APPENDed runs are snippets of one experiment: a change between them
    (recording on or off, new input times) applies from the next snippet on,
    and a cell's spikes come as one train per snippet it was recorded in,
    bounded by the snippet's start and stop, as on the real system."""
    pynn.setup(ideal=True, enable_neuron_bypass=True)
    pop = pynn.Population(1, pynn.cells.HXNeuron())
    src = pynn.Population(1, pynn.cells.SpikeSourceArray(spike_times=np.arange(0.005, 0.1, 0.01)))
    pynn.Projection(src, pop, pynn.AllToAllConnector(), pynn.synapses.StaticSynapse(weight=63))
    pop.record("spikes")
    pynn.run(0.1, pynn.RunCommand.APPEND)        # 10 input spikes, recorded
    pop.record(None)
    src.set(spike_times=np.arange(0.1025, 0.2, 0.005))
    pynn.run(0.1, pynn.RunCommand.APPEND)        # 20, not recorded
    pop.record("spikes")
    src.set(spike_times=np.arange(0.2025, 0.3, 0.0025))
    pynn.run(0.1)                                # 39, recorded; the experiment ends
    trains = pop.get_data().segments[0].spiketrains
    assert [len(t) for t in trains] == [10, 39]   # bypass: one output spike per input
    assert [(float(t.t_start), float(t.t_stop)) for t in trains] == [
        pytest.approx((0.0, 0.1)), pytest.approx((0.2, 0.3))]
    assert pop.get_spike_counts()[pop.all_cells[0]] == 49
    with pytest.raises(RuntimeError, match="call reset"):
        pynn.run(0.1, pynn.RunCommand.APPEND)
    with pytest.raises(ValueError, match="a snippet needs a duration"):
        pynn.reset()
        pynn.run(None, pynn.RunCommand.APPEND)
    pynn.end()


def test_recording_per_cell_device_and_signal_layout():
    """Views record through the device given; one population may read some
    cells through the CADC and others through the MADC.  Each recorded cell
    gets a signal of its own (annotated with its id, device and index), and
    the synaptic line drops when input arrives (the synapses draw current)."""
    pynn.setup(ideal=True)
    src = pynn.Population(1, pynn.cells.SpikeSourceArray(spike_times=[0.02]))
    pop = pynn.Population(4, pynn.cells.HXNeuron(excitatory_input_enable=True))
    pynn.Projection(src, pop, pynn.AllToAllConnector(), pynn.synapses.StaticSynapse(weight=63),
                    receptor_type="excitatory")
    pop[0:2].record("v", device="cadc")
    pop[2:3].record("exc_synin")
    with pytest.raises(ValueError, match="only one analog variable per neuron"):
        pop[2:4].record("v")
    pynn.run(0.05)
    signals = pop.get_data().segments[0].irregularlysampledsignals
    assert [(s.name, s.annotations["device"], s.annotations["source_ids"]) for s in signals] == [
        ("exc_synin", "madc", [int(pop.all_cells[2])]),
        ("v", "cadc", [int(pop.all_cells[0])]), ("v", "cadc", [int(pop.all_cells[1])])]
    assert signals[1].array_annotations["channel_index"].tolist() == [0]
    assert len(signals[0]) > 10 * len(signals[1])          # MADC ~34 ns, CADC ~1 us
    line = np.asarray(signals[0])[:, 0]
    assert line[0] - line.min() > 20 and line.max() - line[0] < 3
    assert len(pop[3:4].get_data().segments[0].irregularlysampledsignals) == 0
    # record(None) ends the recording; what was recorded stays, until cleared
    pop.record(None)
    assert len(pop.get_data(clear=True).segments[0].irregularlysampledsignals) == 3
    assert len(pop.get_data().segments[0].irregularlysampledsignals) == 0
    pynn.end()


def test_on_chip_poisson_spikes_are_recorded():
    """The FPGA sees the background generators' events: a recorded on-chip
    source gives each cell's train (connected or not), and a neuron in bypass
    mode driven one-to-one fires at those times."""
    pynn.setup(ideal=True, enable_neuron_bypass=True)
    src = pynn.Population(2, pynn.cells.SpikeSourcePoissonOnChip(rate=5e4, seed=7))
    alone = pynn.Population(3, pynn.cells.SpikeSourcePoissonOnChip(rate=2e4, seed=8))
    out = pynn.Population(2, pynn.cells.HXNeuron())
    pynn.Projection(src, out, pynn.OneToOneConnector(), pynn.synapses.StaticSynapse(weight=63))
    for pop in (src, alone, out):
        pop.record("spikes")
    pynn.run(1.0)
    inputs = [t.magnitude for t in src.get_data().segments[0].spiketrains]
    outputs = [t.magnitude for t in out.get_data().segments[0].spiketrains]
    # 50 kHz for 1 ms: 50 events per cell (Poisson sd 7); 20 kHz: 20 (sd 4.5)
    assert all(25 < len(t) < 80 for t in inputs)
    assert all(5 < len(t.magnitude) < 40 for t in alone.get_data().segments[0].spiketrains)
    assert not np.array_equal(inputs[0], inputs[1])
    for i, o in zip(inputs, outputs):
        assert len(o) == len(i)
        # an event reaches its neuron within the integration step after it
        assert np.all((o - i >= -1e-6) & (o - i < 3e-4))
    pynn.end()


def test_backend_statistics_count_what_the_network_takes():
    pynn.setup(ideal=True)
    with pytest.raises(RuntimeError, match="not been mapped and routed yet"):
        pynn.get_backend_statistics()
    cells = pynn.Population(10, pynn.cells.HXNeuron())
    src = pynn.Population(5, pynn.cells.SpikeSourceArray(spike_times=[0.01]))
    pynn.Projection(src, cells, pynn.AllToAllConnector(), pynn.synapses.StaticSynapse(weight=100))
    pynn.Population(2, pynn.cells.SpikeSourcePoissonOnChip(rate=1e4)).record("spikes")
    pynn.run(None, pynn.RunCommand.PREPARE)
    state = pynn_brainscales.simulator.state
    assert state.builds == 1
    stats = pynn.get_backend_statistics()
    # weight 100 takes two parallel rows: 5 sources x 2 rows, 50 connections x 2
    assert (stats.num_neurons, stats.num_connections, stats.num_synapses,
            stats.num_synapse_rows, stats.num_background_generators) == (10, 50, 100, 10, 1)
    assert stats.neuron_usage == pytest.approx(10 / 512)
    assert "MappedTopologyStatistics" in str(stats)
    # the run after PREPARE takes the configuration it built
    pynn.run(0.05)
    assert state.builds == 1
    pynn.end()
    # the session is over: as on the real system, nothing to report until setup()
    with pytest.raises(RuntimeError, match="setup"):
        pynn.get_backend_statistics()


def test_projection_changes_between_snippets_apply_to_the_next():
    """The real system's tutorial on multiple configurations: weights set
    between APPENDed snippets drive each snippet with its own weights."""
    pynn.setup(ideal=True, enable_neuron_bypass=True)
    src = pynn.Population(1, pynn.cells.SpikeSourceArray(spike_times=np.arange(0.005, 0.3, 0.01)))
    out = pynn.Population(2, pynn.cells.HXNeuron())
    out.record("spikes")
    prj = pynn.Projection(src, out, pynn.AllToAllConnector(),
                          pynn.synapses.StaticSynapse(weight=32))
    for weights in ([32, 0], [0, 0], [0, 32]):
        prj.set(weight=weights)
        pynn.run(0.1, pynn.RunCommand.APPEND)
    pynn.run(None, pynn.RunCommand.EXECUTE)
    counts = [len(t) for t in out.get_data().segments[0].spiketrains]
    # one train per cell and snippet, in snippet order: 10 inputs per snippet
    assert counts == [10, 0, 0, 0, 0, 10]
    pynn.end()


def test_circuit_values_are_cast_to_integers_as_the_real_system_does():
    """The real system casts each HXNeuron value with int() (toward zero): its
    tutorials sweep CapMem currents with np.linspace.  Out-of-range values
    still raise."""
    pynn.setup(chip=0)
    pop = pynn.Population(2, pynn.cells.HXNeuron(constant_current_enable=True,
                                                 constant_current_i_offset=[20.41, 999.9]))
    pynn.run(None, pynn.RunCommand.PREPARE)
    from pynn_brainscales import simulator as core
    config = core.state.chip.config.neurons
    assert config.constant_current_i_offset[pop.slots].tolist() == [20, 999]
    pynn.end()
    pynn.setup(chip=0)
    pynn.Population(1, pynn.cells.HXNeuron(constant_current_i_offset=1030.5))
    with pytest.raises(Exception, match=r"constant_current_i_offset: value 1030 .*0\.\.1022"):
        pynn.run(0.01)
    pynn.end()


@pytest.mark.parametrize("name", ["synapse_dac_bias", "i_synin_gm_E", "i_synin_gm_I"])
def test_chip_wide_calibration_targets_take_one_value(name):
    """The synapse DAC bias and each receptor's input strength are calibrated
    once for the whole chip: several values raise at run(), a RuntimeError as
    on the real system (and a PyNN parameter error), naming the parameter;
    after reset() and one value the network runs."""
    pynn.setup(ideal=True)
    pop = pynn.Population(3, pynn.cells.CalibHXNeuronCuba())
    pop.set(**{name: [400, 500, 500]})
    with pytest.raises(RuntimeError, match=rf"{name}: values \[400.0, 500.0\]; it is set once"):
        pynn.run(0.1)
    with pytest.raises(InvalidParameterValueError):
        pynn.run(0.1)
    pynn.reset()
    pop.set(**{name: 450})
    pynn.run(0.1)
    pynn.end()
