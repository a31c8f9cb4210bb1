import numpy as np
import pytest

from cython_core import Chip, constants as C


def drive_with_input(chip, neuron, receptor="excitatory", weight=40, label=0):
    """Connect external label `label` (row_select 0, address 0) to `neuron`
    through one synapse row of the neuron's hemisphere."""
    hemisphere, column = divmod(neuron, C.COLUMNS_PER_HEMISPHERE)
    syn = chip.config.synapses
    row = 0 if receptor == "excitatory" else 1
    syn.driver_enable[hemisphere, 0] = True
    syn.driver_row_select[hemisphere, 0] = label >> 6
    if syn.row_modes[hemisphere, row] == C.ROW_DISABLED:
        # a fresh row: no other column matches this address
        syn.labels[hemisphere, row, :] = ((label & 63) + 1) % 64
    syn.row_modes[hemisphere, row] = C.ROW_EXCITATORY if receptor == "excitatory" else C.ROW_INHIBITORY
    syn.labels[hemisphere, row, column] = label & 63
    syn.weights[hemisphere, row, column] = weight
    getattr(chip.config.neurons, f"{receptor}_input_enable")[neuron] = True


@pytest.fixture
def ideal_chip():
    return Chip(seed=0, ideal=True)


def trace(chip, steps, key="v", neuron=0):
    """Run `steps` integration steps one at a time and probe the analog state."""
    out = np.empty(steps + 1)
    out[0] = chip.analog_state()[key][neuron]
    for k in range(steps):
        chip.run(chip.dt)
        out[k + 1] = chip.analog_state()[key][neuron]
    return out


@pytest.fixture
def ideal():
    """The standard PyNN backend on an ideal chip."""
    import pynn_brainscales as sim
    sim.setup(timestep=0.1, ideal=True)
    yield sim
    sim.end()
