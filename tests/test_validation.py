"""Bad configuration and bad inputs raise errors naming field, value and range."""
import numpy as np
import pytest

from cython_core import Chip, ConfigurationError, MadcRecording, PPUProgram


@pytest.fixture
def chip():
    return Chip(seed=0)


def test_capmem_out_of_range(chip):
    with pytest.raises(ConfigurationError, match=r"neurons\.leak_v_leak: value 1023 .*0\.\.1022"):
        chip.config.neurons.leak_v_leak = 1023
    with pytest.raises(ConfigurationError, match=r"neurons\.leak_i_bias: value -1 .*0\.\.1022"):
        chip.config.neurons.set("leak_i_bias", -1, 5)


def test_in_place_edits_are_checked_before_a_run(chip):
    chip.config.neurons.threshold_v_threshold[17] = 5000
    with pytest.raises(ConfigurationError,
                       match=r"threshold_v_threshold: value 5000 at index \(17,\).*0\.\.1022"):
        chip.run(1.0)


def test_weights(chip):
    chip.config.synapses.weights[1, 2, 3] = 64
    with pytest.raises(ConfigurationError, match=r"synapses\.weights: value 64 at index \(1, 2, 3\).*0\.\.63"):
        chip.run(1.0)
    chip.config.synapses.weights[1, 2, 3] = 12.5
    with pytest.raises(ConfigurationError, match=r"synapses\.weights: value 12\.5 is not an integer"):
        chip.run(1.0)
    # the load checks the weights' bits (-ffast-math may drop comparisons with
    # NaN): negative values and -inf fail, -0 is 0
    steps = chip._engine.synapse_step.copy()
    for bad in (-1.0, -np.inf, -1e-30):
        chip.config.synapses.weights[1, 2, 3] = bad
        with pytest.raises(ConfigurationError, match=r"synapses\.weights: value -"):
            chip.run(1.0)
        np.testing.assert_array_equal(chip._engine.synapse_step, steps)   # nothing loaded
    chip.config.synapses.weights[1, 2, 3] = -0.0
    chip.run(1.0)
    # an array put in place of the float32 one is checked as given, before
    # its conversion to float32 could round 3.0000000001 to an integer
    chip.config.synapses.weights = np.zeros((2, 256, 256))
    chip.config.synapses.weights[1, 2, 3] = 3.0000000001
    with pytest.raises(ConfigurationError, match=r"synapses\.weights: value 3\.0000000001 is not"):
        chip.run(1.0)
    ideal = Chip(seed=0, ideal=True)
    ideal.config.synapses.weights[1, 2, 3] = 12.5       # no weight quantisation on an ideal chip
    ideal.run(1.0)


def test_weight_load_bound():
    """The one-pass weight load compares bits: its bound must be 0 or above
    (NaN and negatives refused by name, value and range), and a bound of -0
    holds weights to 0, as +0 does."""
    from cython_core._plasticity import load_weights
    zeros = np.zeros((2, 256, 256), np.float32)
    weights = zeros.copy()
    weights[0, 0, 0] = 1.0
    for bad in (-1.0, np.nan):
        with pytest.raises(ValueError, match=r"high: value (-1\.0|nan) is out of range; "
                                             r"allowed range is 0 and above"):
            load_weights(zeros, bad, True, zeros.copy(), zeros, zeros.copy())
    for zero in (0.0, -0.0):
        assert load_weights(zeros, zero, True, zeros.copy(), zeros, zeros.copy())
        assert not load_weights(weights, zero, True, zeros.copy(), zeros, zeros.copy())
    assert load_weights(weights, np.inf, False, zeros.copy(), zeros, zeros.copy())


def test_nan_is_rejected(chip):
    chip.config.synapses.weights[0, 0, 0] = np.nan
    with pytest.raises(ConfigurationError, match=r"synapses\.weights: value nan is not finite"):
        chip.run(1.0)
    with pytest.raises(ConfigurationError, match="not finite"):
        chip.config.neurons.leak_v_leak = np.nan


def test_unknown_neuron_index_and_field(chip):
    with pytest.raises(ConfigurationError, match=r"neurons\.leak_v_leak index: value 512 .*0\.\.511"):
        chip.config.neurons.set("leak_v_leak", 600, 512)
    with pytest.raises(KeyError, match="unknown neurons field 'leak_v_lek'"):
        chip.config.neurons.set("leak_v_lek", 600)
    with pytest.raises(ConfigurationError, match=r"madc\.neurons: value 600 .*0\.\.511"):
        chip.run(1.0, madc=MadcRecording([600]))
    with pytest.raises(ConfigurationError, match="madc.observable: value 'w'"):
        chip.run(1.0, madc=MadcRecording([0], observable="w"))


def test_input_spikes(chip):
    with pytest.raises(ConfigurationError, match=r"spikes\.labels: value 16384 .*0\.\.16383"):
        chip.run(1.0, spikes=([0.5], [16384]))
    with pytest.raises(ConfigurationError, match=r"spikes\.times: value 2 .*allowed range is 0\.\.1 \(exclusive\)"):
        chip.run(1.0, spikes=([2.0], [1]))
    with pytest.raises(ConfigurationError, match="2 times but 1 labels"):
        chip.run(1.0, spikes=([0.1, 0.2], [1]))


def test_run_arguments(chip):
    with pytest.raises(ConfigurationError, match=r"duration: value 0\.15 us is not a multiple"):
        chip.run(0.15)
    with pytest.raises(ConfigurationError, match=r"duration: value -1 .*out of range"):
        chip.run(-1.0)
    with pytest.raises(ConfigurationError, match=r"ppu\.times: value 20 .*allowed range is 0\.\.10"):
        chip.run(10.0, ppu=[PPUProgram([20.0], lambda ppu: None)])
    with pytest.raises(ConfigurationError, match=r"constant_current_i_offset\): value 2000"):
        chip.run(10.0, offset_current_schedule=([1.0], [0], [2000]))


@pytest.mark.parametrize("call, message", [
    (lambda ppu: ppu.read_correlation(0, rows=[300]), r"rows: value 300 .*allowed range is 0\.\.255"),
    (lambda ppu: ppu.reset_correlation(1, rows=[-1]), r"rows: value -1 .*allowed range is 0\.\.255"),
    (lambda ppu: ppu.set_weights(0, 5, rows=[256]), r"rows: value 256 .*allowed range is 0\.\.255"),
    (lambda ppu: ppu.read_spike_counters(neurons=[512]), r"neurons: value 512 .*0\.\.511"),
    (lambda ppu: ppu.read_membrane([-2]), r"neurons: value -2 .*0\.\.511"),
])
def test_ppu_indices_are_checked(chip, call, message):
    """A row beyond the array read as an empty block, a negative one wrapped."""
    with pytest.raises(RuntimeError, match=message):
        chip.run(2.0, ppu=[PPUProgram([1.0], call)])


def test_chip_arguments():
    with pytest.raises(ValueError, match=r"chip seed: value -3"):
        Chip(seed=-3)
    with pytest.raises(ValueError, match=r"chip seed: value 1\.5"):
        Chip(seed=1.5)
    with pytest.raises(ConfigurationError, match=r"dt: value 5\.0 .*0\.001\.\.1\.0 us"):
        Chip(dt=5.0)


def test_routing_and_generator_fields(chip):
    chip.config.synapses.driver_row_select[0, 0] = 256
    with pytest.raises(ConfigurationError, match=r"driver_row_select: value 256 .*0\.\.255"):
        chip.run(1.0)
    chip.config.synapses.driver_row_select[0, 0] = 0
    with pytest.raises(ConfigurationError, match=r"generators\.period: value 0 .*1\.\.65535"):
        chip.config.generators.period = 0


from hypothesis import given, settings, strategies as st

from cython_core import ChipConfig
from cython_core.config import NEURON_FIELDS


@settings(max_examples=200, deadline=None)
@given(name=st.sampled_from(sorted(NEURON_FIELDS)), value=st.integers(-3000, 20000),
       neuron=st.integers(0, 511))
def test_every_neuron_field_accepts_exactly_its_range(name, value, neuron):
    cfg = ChipConfig()
    field = NEURON_FIELDS[name]
    if field.low <= value <= field.high:
        cfg.neurons.set(name, value, neuron)
        assert getattr(cfg.neurons, name)[neuron] == value
    else:
        with pytest.raises(ConfigurationError) as info:
            cfg.neurons.set(name, value, neuron)
        message = str(info.value)
        assert name in message and str(value) in message
        assert f"{field.low}..{field.high}" in message


def test_fractional_capmem_only_on_an_ideal_chip():
    with pytest.raises(ConfigurationError, match=r"leak_v_leak: value 600\.5 is not an integer"):
        Chip(seed=0).config.neurons.leak_v_leak = 600.5
    ideal = Chip(seed=0, ideal=True)
    ideal.config.neurons.leak_v_leak = 600.5        # an ideal chip's CapMem is exact
    assert ideal.physical_parameters()["e_leak"][0] == pytest.approx(400.5)
    with pytest.raises(ConfigurationError, match="not an integer"):
        ideal.config.neurons.refractory_period_refractory_time = 10.5   # digital: integer


def test_thread_count_is_checked(monkeypatch):
    with pytest.raises(ConfigurationError, match=r"threads: value 3 .* 1\.\.2"):
        Chip(threads=3)
    monkeypatch.setenv("PYNN_BSS2_EMU_THREADS", "two")
    with pytest.raises(ConfigurationError, match=r"PYNN_BSS2_EMU_THREADS: value 'two'.*1\.\.2"):
        Chip()
    monkeypatch.setenv("PYNN_BSS2_EMU_THREADS", "3")
    with pytest.raises(ConfigurationError, match=r"PYNN_BSS2_EMU_THREADS: value 3 .* 1\.\.2"):
        Chip()


def test_pynn_run_off_the_time_step_is_an_error(ideal):
    """As NEST: a simulated time off the grid is not silently rounded."""
    sim = ideal
    sim.Population(1, sim.IF_curr_exp())
    for duration in (0.1, 0.2, 0.3, 0.7, 12.3):          # float sums stay on the grid
        sim.run(duration)
    with pytest.raises(ValueError, match=r"run: simulated time 0\.15 ms .* not a multiple of "
                                         r"the time step 0\.1 ms"):
        sim.run(0.15)
