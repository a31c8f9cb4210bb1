"""Plasticity rules of the native API: Python kernels run by the emulated PPU at
their timer's times, observables, errors."""
import numpy as np
import pytest

import pynn_brainscales.brainscales2 as pynn

CYCLES_PER_MS = 125_000        # the FPGA clock (125 MHz) stamps plasticity records


def driven_neuron(**extra):
    # fires regularly (~6 us) on its offset current
    return pynn.cells.HXNeuron(threshold_enable=True, constant_current_enable=True,
                               constant_current_i_offset=600, excitatory_input_enable=True,
                               **extra)


def one_plastic_synapse(rule, weight):
    """An ideal chip with one silent source -> one neuron synapse under `rule`."""
    pynn.setup(ideal=True)
    src = pynn.Population(1, pynn.cells.SpikeSourceArray(spike_times=[]))
    pop = pynn.Population(1, pynn.cells.HXNeuron())
    return pynn.Projection(src, pop, pynn.AllToAllConnector(), pynn.synapses.PlasticSynapse(
        weight=weight, plasticity_rule=rule))


def observable(kind, type_name):
    obs = kind()
    obs.type = getattr(obs.Type, type_name)
    return obs


class Recorder(pynn.PlasticityRule):
    """Records weights, spike counts and the number of executions."""

    def __init__(self, timer):
        super().__init__(timer, observables={
            "w": observable(pynn.PlasticityRule.ObservablePerSynapse, "uint8"),
            "counts": observable(pynn.PlasticityRule.ObservablePerNeuron, "uint8"),
            "calls": self._array(3)})
        self.calls = 0

    @staticmethod
    def _array(size):
        obs = pynn.PlasticityRule.ObservableArray()
        obs.type = obs.Type.uint16
        obs.size = size
        return obs

    def kernel(self, synapses, neurons, recording):
        self.calls += 1
        recording.w = [s.get_weights() for s in synapses]
        recording.counts = neurons[0].get_spike_counts(reset=True)
        recording.calls = [self.calls, len(synapses), len(neurons)]


def test_observables_come_back_per_snippet_with_times_and_shapes():
    pynn.setup(ideal=True)
    rule = Recorder(pynn.Timer(start=0.01, period=0.02, num_periods=5))
    src = pynn.Population(3, pynn.cells.SpikeSourceArray(spike_times=[0.005]))
    pop = pynn.Population(2, driven_neuron(plasticity_rule=rule))
    weights = np.array([[1, 2], [3, 4], [5, 6]])
    prj = pynn.Projection(src, pop, pynn.AllToAllConnector(),
                          pynn.synapses.PlasticSynapse(weight=weights, plasticity_rule=rule))
    pop.record("spikes")
    pynn.run(0.1)
    data = prj.get_data("w")
    assert len(data) == 1                                  # one executed run
    # record times in FPGA clock cycles (125 per us), as the real system's
    assert [r.time for r in data[0]] == [1250, 3750, 6250, 8750, 11250]
    for record in data[0]:
        assert record.data.shape == (3, 2) and record.data.dtype == np.uint8
        np.testing.assert_array_equal(record.data, weights)
    counts = pop.get_plasticity_data("counts")[0]
    spikes = pop.get_data().segments[0].spiketrains
    # each count covers the spikes since the previous execution (reset=True)
    edges = [0.0] + [r.time / CYCLES_PER_MS for r in counts]
    for j, train in enumerate(spikes):
        expected = np.histogram(np.asarray(train), bins=edges)[0]
        np.testing.assert_array_equal([r.data[j] for r in counts], expected)
    assert counts[-1].data.sum() > 0
    calls = rule.get_observable_array("calls")[0]
    assert [list(r.data) for r in calls] == [[k, 1, 1] for k in range(1, 6)]
    pynn.reset()
    pynn.run(0.05)                                          # a second snippet
    second = prj.get_data("w")
    assert len(second) == 2 and [r.time for r in second[1]] == [1250, 3750]
    pynn.end()


def test_a_rule_writes_weights_that_act_at_once():
    """The real system's first example: a rule zeroes the weights at 0.05 ms; the
    input that made the neuron fire before leaves it silent after."""
    class Zero(pynn.PlasticityRule):
        def kernel(self, synapses, neurons, recording):
            synapses[0].set_weights(np.zeros(synapses[0].shape))

    pynn.setup(ideal=True)
    src = pynn.Population(1, pynn.cells.SpikeSourceArray(spike_times=np.arange(0.002, 0.1, 0.01)))
    # rests at 200 mV, fires at 450 mV: one input event of 4 x 63 crosses it
    cell = pynn.cells.HXNeuron(threshold_enable=True, excitatory_input_enable=True,
                               leak_v_leak=400, threshold_v_threshold=200)
    pop = pynn.Population(1, cell)
    prj = pynn.Projection(src, pop, pynn.AllToAllConnector(), pynn.synapses.PlasticSynapse(
        weight=63 * 4, plasticity_rule=Zero(pynn.Timer(start=0.05, period=1.0, num_periods=1))))
    pop.record("spikes")
    pynn.run(0.1)
    spikes = np.asarray(pop.get_data().segments[0].spiketrains[0])
    assert np.sum(spikes < 0.05) >= 3 and np.sum(spikes > 0.0505) == 0
    assert prj.get("weight", format="array")[0, 0] == 0
    pynn.end()


def test_one_rule_serves_two_projections_and_keeps_their_signs():
    class Halve(pynn.PlasticityRule):
        def kernel(self, synapses, neurons, recording):
            for s in synapses:
                s.set_weights(np.floor(s.get_weights() / 2))

    pynn.setup(ideal=True)
    rule = Halve(pynn.Timer(start=0.01, period=0.01, num_periods=2))
    src = pynn.Population(2, pynn.cells.SpikeSourceArray(spike_times=[]))
    pop = pynn.Population(3, pynn.cells.HXNeuron(excitatory_input_enable=True,
                                                  inhibitory_input_enable=True))
    exc = pynn.Projection(src, pop, pynn.AllToAllConnector(),
                          pynn.synapses.PlasticSynapse(weight=40, plasticity_rule=rule),
                          receptor_type="excitatory")
    inh = pynn.Projection(src, pop[:2], pynn.AllToAllConnector(),
                          pynn.synapses.PlasticSynapse(weight=-63, plasticity_rule=rule),
                          receptor_type="inhibitory")
    pynn.run(0.03)
    assert np.all(exc.get("weight", format="array") == 10)
    assert np.all(inh.get("weight", format="array") == -15)
    pynn.end()


def test_correlation_through_the_cadc_falls_with_pairs_and_resets():
    class Sensors(pynn.PlasticityRule):
        def __init__(self, timer):
            obs = observable(pynn.PlasticityRule.ObservablePerSynapse, "uint8")
            super().__init__(timer, {"causal": obs, "acausal": obs})
            self.calls = 0

        def kernel(self, synapses, neurons, recording):
            s = synapses[0]
            recording.causal = np.rint(s.get_causal_correlation())
            recording.acausal = np.rint(s.get_acausal_correlation())
            self.calls += 1
            if self.calls == 5:
                s.reset_correlation()

    pynn.setup(ideal=True)
    rule = Sensors(pynn.Timer(start=0.0, period=0.05, num_periods=10))
    src = pynn.Population(1, pynn.cells.SpikeSourcePoisson(rate=1e6, start=0.0, duration=0.5))
    pop = pynn.Population(1, driven_neuron())
    prj = pynn.Projection(src, pop, pynn.AllToAllConnector(),
                          pynn.synapses.PlasticSynapse(weight=0, plasticity_rule=rule))
    pynn.run(0.5)
    for name in ("causal", "acausal"):
        codes = np.array([r.data[0, 0] for r in prj.get_data(name)[0]], float)
        # ~3 pairs per period at ~0.5 LSB each: the codes fall from the reset
        # level while pairs accumulate; after the reset that follows the 5th
        # read, the 6th holds only one period's pairs
        assert np.all(np.diff(codes[:5]) < 0) and codes[0] > 130, codes
        assert codes[5] - codes[4] > 0.5 * (codes[0] - codes[4]), codes
        assert np.all(np.diff(codes[5:]) < 0), codes
    pynn.end()


def test_a_failing_rule_stops_the_run_with_its_time_and_traceback():
    class Fails(pynn.PlasticityRule):
        def kernel(self, synapses, neurons, recording):
            if synapses[0].get_weights()[0, 0] == 0:
                raise ZeroDivisionError("no weight left")
            synapses[0].set_weights(synapses[0].get_weights() - 5)

    one_plastic_synapse(Fails(pynn.Timer(start=0.01, period=0.01, num_periods=9)), weight=10)
    with pytest.raises(RuntimeError, match=r"Fails failed at 0.03 ms") as info:
        pynn.run(0.1)
    chain, cause = [], info.value
    while cause is not None:
        chain.append(cause)
        cause = cause.__cause__
    assert isinstance(chain[-1], ZeroDivisionError)
    pynn.end()


def test_rules_with_only_a_cpp_kernel_say_how_to_write_the_python_form():
    class CppOnly(pynn.PlasticityRule):
        def generate_kernel(self):
            return "void PLASTICITY_RULE_KERNEL() {}"

    one_plastic_synapse(CppOnly(pynn.Timer(start=0, period=0.01, num_periods=1)), weight=1)
    with pytest.raises(NotImplementedError, match=r"def kernel\(self, synapses, neurons"):
        pynn.run(0.02)
    pynn.end()


def test_recorded_values_are_checked_against_the_observable():
    class Bad(pynn.PlasticityRule):
        def __init__(self, timer):
            super().__init__(timer, {"w": observable(pynn.PlasticityRule.ObservablePerSynapse,
                                                     "int8")})

        def kernel(self, synapses, neurons, recording):
            recording.w = synapses[0].get_weights() * 10

    one_plastic_synapse(Bad(pynn.Timer(start=0, period=0.01, num_periods=1)), weight=30)
    with pytest.raises(RuntimeError,
                       match=r"Bad failed at 0 ms.*value 300 does not fit .* int8 \(-128..127"):
        pynn.run(0.02)
    with pytest.raises(ValueError, match="Timer.period: value 0"):
        pynn.Timer(start=0, period=0, num_periods=1)
    pynn.end()


def test_static_recording_synapse():
    pynn.setup(ideal=True)
    src = pynn.Population(2, pynn.cells.SpikeSourceArray(spike_times=[0.001]))
    pop = pynn.Population(1, pynn.cells.HXNeuron())
    synapse = pynn.synapses.StaticRecordingSynapse(
        timer=pynn.Timer(start=0.005, period=0.01, num_periods=2), weight=17,
        observables={"weights", "correlation_causal"})
    prj = pynn.Projection(src, pop, pynn.AllToAllConnector(), synapse)
    pynn.run(0.03)
    weights = prj.get_data("weights")[0]
    assert [r.time / CYCLES_PER_MS for r in weights] == pytest.approx([0.005, 0.015])
    assert all(np.all(r.data == 17) for r in weights)
    assert prj.get_data("correlation_causal")[0][0].data.shape == (2, 1)
    with pytest.raises(RuntimeError, match="no observable 'correlation_acausal'"):
        prj.get_data("correlation_acausal")
    pynn.end()


def test_two_rules_with_one_timer_on_two_projections():
    """Each rule sees only its own projection; both run at the shared timer's times."""
    class Count(pynn.PlasticityRule):
        def __init__(self, timer, step):
            obs = observable(pynn.PlasticityRule.ObservableArray, "uint8")
            obs.size = 1
            super().__init__(timer, {"n": obs})
            self.step = step

        def kernel(self, synapses, neurons, recording):
            assert len(synapses) == 1
            synapses[0].set_weights(synapses[0].get_weights() + self.step)
            recording.n = [synapses[0].get_weights().max()]

    pynn.setup(ideal=True)
    timer = pynn.Timer(start=0.01, period=0.01, num_periods=3)
    up, down = Count(timer, 2), Count(timer, -1)
    src = pynn.Population(2, pynn.cells.SpikeSourceArray(spike_times=[]))
    pop = pynn.Population(2, pynn.cells.HXNeuron())
    a = pynn.Projection(src, pop, pynn.AllToAllConnector(),
                        pynn.synapses.PlasticSynapse(weight=10, plasticity_rule=up))
    b = pynn.Projection(src, pop, pynn.OneToOneConnector(),
                        pynn.synapses.PlasticSynapse(weight=10, plasticity_rule=down))
    pynn.run(0.05)
    assert np.all(a.get("weight", format="array") == 16)
    np.testing.assert_array_equal(b.get("weight", format="array"), [[7, np.nan], [np.nan, 7]])
    for rule, values in ((up, [12, 14, 16]), (down, [9, 8, 7])):
        records = rule.get_observable_array("n")[0]
        assert [r.time / CYCLES_PER_MS for r in records] == pytest.approx([0.01, 0.02, 0.03])
        assert [int(r.data[0]) for r in records] == values
    pynn.end()


def test_plastic_hxneuron_readout_source():
    """The rule reads the node each neuron's readout source selects: at rest the
    synaptic lines sit at their 400 mV baseline, the adaptation node at 500 mV,
    the membrane at the leak potential (620 -> 420 mV); 0.222 LSB per mV."""
    seen = []

    class Read(pynn.PlasticityRule):
        def kernel(self, synapses, neurons, recording):
            seen.append((neurons[0].get_readout(), neurons[0].get_membrane()))

    pynn.setup(ideal=True)
    source = pynn.cells.HXNeuron.ReadoutSource
    cell = pynn.cells.HXNeuron(
        plasticity_rule=Read(pynn.Timer(start=0.01, period=0.01, num_periods=1)),
        plasticity_rule_enable_readout_source=True,
        plasticity_rule_readout_source=source.exc_synin)
    pop = pynn.Population(3, cell)
    pop[2:3].set(plasticity_rule_readout_source=source.adaptation)
    pop[0:1].set(plasticity_rule_enable_readout_source=False)
    assert list(pop.get("plasticity_rule_readout_source")) == [1, 1, 3]
    pynn.run(0.02)
    readout, membrane = seen[0]
    # neuron 1 reads its excitatory line at rest (above the membrane, near the
    # top of the readout range), neuron 2 its adaptation node
    from cython_core.mismatch import SYNIN_BASELINE_MV
    from cython_core.readout import cadc_design_code
    assert readout[0] == membrane[0]
    assert abs(float(readout[1]) - cadc_design_code(SYNIN_BASELINE_MV)) <= 1.0
    assert readout[1] != membrane[1] and readout[2] != membrane[2]
    pynn.end()


def test_a_snippet_without_executions_gives_none():
    class Weights(pynn.PlasticityRule):
        def __init__(self, timer):
            super().__init__(timer, {"w": observable(pynn.PlasticityRule.ObservablePerSynapse,
                                                     "uint8")})

        def kernel(self, synapses, neurons, recording):
            recording.w = synapses[0].get_weights()

    rule = Weights(pynn.Timer(start=0.01, period=0.01, num_periods=2))
    prj = one_plastic_synapse(rule, weight=5)
    pynn.run(0.05)
    pynn.reset()
    rule.timer.start = 1.0                # after the second run's end
    pynn.run(0.05)
    data = prj.get_data("w")
    assert len(data) == 2 and len(data[0]) == 2 and data[1] is None
    pynn.end()
