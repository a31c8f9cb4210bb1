"""PyNN backend for an emulated BrainScaleS-2 chip, in PyNN's biological units.

    import pynn_brainscales as sim
    sim.setup(timestep=0.1, chip=0)          # chip=<seed>; ideal=True for a flawless chip
    ...
Times are biological (the chip runs them 1000x faster); potentials, currents and
conductances are mapped linearly into the circuit's ranges (translation.py) and
recorded data come back in mV, nA, uS, ms.  Neurons of a real (non-ideal) chip
are calibrated to their requested parameters automatically (cached).
"""
from pyNN import errors, parameters, random, space                      # noqa: F401
from pyNN.connectors import *                                           # noqa: F401,F403
from pyNN.network import Network                                        # noqa: F401
from pyNN.random import GSLRNG, NumpyRNG, RandomDistribution            # noqa: F401
from pyNN.recording import *                                            # noqa: F401,F403
from pyNN.space import Space                                            # noqa: F401
from pyNN.standardmodels import StandardCellType

from . import simulator
from .control import (end, get_current_time, get_max_delay, get_min_delay,  # noqa: F401
                      get_time_step, initialize, num_processes, rank, reset, run,
                      run_for, run_until, setup)
from .populations import Assembly, Population, PopulationView           # noqa: F401
from .procedural_api import connect, create, record, record_gsyn, record_v  # noqa: F401
from .projections import Projection                                     # noqa: F401
from .rng import NativeRNG                                              # noqa: F401
from .standardmodels.cells import *                                     # noqa: F401,F403
from .standardmodels.electrodes import (ACSource, DCSource,             # noqa: F401
                                        NoisyCurrentSource, StepCurrentSource)
from .standardmodels.synapses import (                                  # noqa: F401
    AdditivePotentiationMultiplicativeDepression, AdditiveWeightDependence,
    GutigWeightDependence, MultiplicativeWeightDependence, SimpleStochasticSynapse,
    SpikePairRule, StaticSynapse, STDPMechanism, TsodyksMarkramSynapse)
from .unsupported import *                                              # noqa: F401,F403


def list_standard_models():
    """The standard cell types this backend realises on the chip."""
    return [obj.__name__ for obj in globals().values()
            if isinstance(obj, type) and issubclass(obj, StandardCellType)
            and obj is not StandardCellType and not getattr(obj, "unsupported", False)]
