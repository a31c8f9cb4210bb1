"""setup / run / reset / end for the standard API."""
import logging

from pyNN import common
from pyNN.common.control import DEFAULT_MAX_DELAY, DEFAULT_MIN_DELAY, DEFAULT_TIMESTEP
from pyNN.recording import get_io

from . import simulator

# keywords other backends accept that mean nothing on BrainScaleS-2
TOLERATED = {"threads", "verbosity", "spike_precision", "rng_seeds", "rng_seeds_seed",
             "grng_seed", "use_cvode", "returns_generic_rngs", "graphics", "quit_on_end",
             "rank", "num_processes", "pyslurm"}


def setup(timestep=DEFAULT_TIMESTEP, min_delay=DEFAULT_MIN_DELAY, chip=0, ideal=False,
          seed=None, **extra_params):
    """Set up the emulated chip.

    `timestep` (ms, biological) is also the MADC sampling interval of recorded
    analog data; the chip integrates with at most 0.1 us (= 0.1 ms) steps.
    `chip`: seed of the emulated chip (its fixed-pattern noise); `ideal=True`:
    a flawless chip (no mismatch, no noise, exact weights and CapMem values),
    for validation against reference simulators.  `seed`: seed of the
    backend's spike sources.  Keywords of other backends (threads, verbosity,
    spike_precision, ...) are accepted and ignored.
    """
    max_delay = extra_params.pop("max_delay", DEFAULT_MAX_DELAY)
    unknown = set(extra_params) - TOLERATED
    if unknown:
        # other backends' options: accepted, but say that they do nothing here
        logging.getLogger("PyNN").warning(
            "setup(): keyword(s) %s have no meaning on BrainScaleS-2 and are ignored",
            sorted(unknown))
    common.setup(timestep, min_delay, max_delay=max_delay)
    if simulator.state.native:           # after a script of the native API
        simulator.state = simulator.State()
    simulator.state.setup(timestep, min_delay, max_delay, chip, ideal, seed)
    return 0


def end(compatible_output=True):
    """Write the data requested with `write_data` on end()."""
    for (population, variables, filename) in simulator.state.write_on_end:
        io = get_io(filename)
        population.write_data(io, variables)
    simulator.state.write_on_end = []


run, run_until = common.build_run(simulator)
run_for = run

_reset = common.build_reset(simulator)


def reset(annotations=None):
    """Reset time to zero and the network's state; a new neo Segment begins."""
    _reset(annotations or {})
    for recorder in simulator.state.recorders:
        recorder._clear_simulator()


initialize = common.initialize

get_current_time, get_time_step, get_min_delay, get_max_delay, \
    num_processes, rank = common.build_state_queries(simulator)
