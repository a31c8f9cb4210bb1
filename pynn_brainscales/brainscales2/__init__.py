"""The BSS-2-native PyNN API on an emulated chip.

Scripts written for the real system run unchanged:

    import pynn_brainscales.brainscales2 as pynn
    pynn.setup(initial_config=calibration.cached(0))
    pop = pynn.Population(4, pynn.cells.HXNeuron(threshold_enable=True))
    pop.record(["spikes", "v"])
    pynn.run(0.2)                       # 0.2 ms of hardware time (200 us)

Times are hardware time in ms, neuron parameters the circuit's own (see
`cells.HXNeuron`), weights 6-bit integers, recordings raw ADC codes.
"""
from pyNN import errors, random, space                                  # noqa: F401
from pyNN.connectors import (AllToAllConnector, FixedNumberPostConnector,   # noqa: F401
                             FixedNumberPreConnector, FixedProbabilityConnector,
                             FromListConnector, IndexBasedProbabilityConnector,
                             OneToOneConnector)
from pyNN.recording import get_io
from pyNN.space import Space                                            # noqa: F401

from .. import simulator as _core
from . import simulator
from . import plasticity_rules                                          # noqa: F401
from .plasticity_rules import PlasticityRule, Timer                     # noqa: F401
from .populations import Population                                     # noqa: F401
from .projections import Projection                                     # noqa: F401
from .simulator import INFRASTRUCTURE_KEYWORDS, INJECTION_KEYWORDS, RunCommand  # noqa: F401
from .standardmodels import cells, synapses                             # noqa: F401
from . import helper, logger, standardmodels                            # noqa: F401
from ..populations import Assembly, PopulationView                     # noqa: F401


def setup(chip=0, ideal=False, initial_config=None, neuronPermutation=None, seed=None,
          enable_neuron_bypass=False, **extra_params):
    """Set up the emulated chip.

    `chip`: seed of the emulated chip; `ideal`: a flawless chip.
    `initial_config`: a calibration result (`calibration.cached(chip)`, a loaded
    file) applied to HXNeuron populations when they are created.
    `neuronPermutation`: the neuron circuits to place neurons on, in order.
    `enable_neuron_bypass`: every neuron spikes on each event that reaches it
    through a nonzero weight (threshold off, bypass circuits on), as on the
    real system.
    Keywords of the real system's infrastructure are accepted and ignored;
    injected hardware programs (`injected_config`, `injection_*`) raise
    NotImplementedError unless None; anything else raises KeyError.
    """
    unknown = set(extra_params) - INFRASTRUCTURE_KEYWORDS - INJECTION_KEYWORDS
    if unknown:
        raise KeyError(f"setup(): unknown keyword(s) {sorted(unknown)}")
    injected = sorted(k for k in INJECTION_KEYWORDS if extra_params.get(k) is not None)
    if injected:
        raise NotImplementedError(
            f"setup(): {injected} hand the real system hardware playback programs (haldls/"
            f"stadls) to run around the experiment; the emulator cannot run them.  Configure "
            f"the emulated chip through the PyNN API (HXNeuron fields, projections, "
            f"plasticity rules) instead")
    if initial_config is not None and getattr(initial_config, "chip_seed", chip) != chip:
        raise ValueError(f"initial_config: a calibration of chip {initial_config.chip_seed}, "
                         f"not of chip {chip}")
    state = simulator.NativeState()
    _core.state = state
    state.setup_native(chip, ideal, initial_config, neuronPermutation, seed,
                       enable_neuron_bypass)
    return 0


def _state():
    if not isinstance(_core.state, simulator.NativeState):
        raise RuntimeError("call pynn_brainscales.brainscales2.setup() first")
    return _core.state


def run(duration, command=RunCommand.EXECUTE):
    """Run for `duration` ms of hardware time: a snippet of the experiment
    (APPEND) or its last one (EXECUTE).  A run after EXECUTE needs reset() in
    between (the real system runs each experiment from its start)."""
    state = _state()
    if command == RunCommand.PREPARE:
        state.prepare()
        return state.t
    if not isinstance(command, RunCommand):
        raise ValueError(f"run(): command {command!r} is not one of {list(RunCommand)}")
    if state.executed:
        raise RuntimeError("run(): the network has run already; call reset() before running "
                           "it again (or queue runs with RunCommand.APPEND)")
    if duration is None:
        if command == RunCommand.APPEND:
            raise ValueError("run(None, RunCommand.APPEND): a snippet needs a duration")
        if not state.snippets:
            raise ValueError("run(None): no snippet has been appended to execute; give a "
                             "duration, or APPEND snippets first")
    else:
        state.run(duration)
    if command == RunCommand.EXECUTE:
        state.executed = True
    # new data: the next reset() keeps this segment even if get_data(clear=True)
    # was called before it
    for recorder in state.recorders:
        recorder.clear_flag = False
    return state.t


def get_backend_statistics():
    """What the network takes of the chip (neurons, synapses, rows, drivers,
    generators) and how long placement and routing took, as the last mapping
    found it.  RuntimeError before setup() or before the first mapping (run()
    or run(None, RunCommand.PREPARE))."""
    state = _state()
    if state.synapses_placed is None:
        raise RuntimeError("get_backend_statistics(): the network has not been mapped and "
                           "routed yet; that happens in run() (or run(None, "
                           "RunCommand.PREPARE))")
    return simulator.backend_statistics(state)


def preprocess():
    """Map, route and calibrate now (as RunCommand.PREPARE)."""
    return run(0.0, RunCommand.PREPARE)


def reset(annotations=None):
    """Back to time zero; recorded data begin a new neo Segment."""
    state = _state()
    for recorder in state.recorders:
        recorder.store_to_cache(annotations or {})
    state.reset()
    for recorder in state.recorders:
        recorder._clear_simulator()


def end():
    """Write what was recorded to files, and end the session: as on the real
    system, the next experiment starts with setup()."""
    state = _state()
    for (population, variables, filename) in state.write_on_end:
        population.write_data(get_io(filename), variables)
    state.write_on_end = []
    _core.state = _core.State()


def get_current_time():
    return _state().t


def get_time_step():
    return _state().dt
