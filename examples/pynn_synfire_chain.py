"""A synfire chain in standard PyNN: ten groups of excitatory neurons, each
driving the next with a delay; a single volley at the start travels down the
chain.  Runs on any PyNN simulator:

    python -m pynn_brainscales.run examples/pynn_synfire_chain.py brainscales2
    python examples/pynn_synfire_chain.py nest

Saves pynn_synfire_chain_<simulator>.png.
"""
import matplotlib
import numpy as np
from pyNN.utility import get_simulator

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

sim, options = get_simulator()
sim.setup(timestep=0.1, min_delay=0.1)
groups, size = 10, 20
cell = sim.IF_cond_exp(tau_m=10.0, v_thresh=-55.0, v_reset=-70.0, v_rest=-70.0,
                       tau_refrac=5.0, tau_syn_E=2.0, e_rev_I=-80.0)
chain = [sim.Population(size, cell, label=f"group{k}") for k in range(groups)]
start = sim.Population(size, sim.SpikeSourceArray(spike_times=[10.0]))
sim.Projection(start, chain[0], sim.AllToAllConnector(),
               sim.StaticSynapse(weight=0.01, delay=1.0))
for a, b in zip(chain[:-1], chain[1:]):
    sim.Projection(a, b, sim.FixedProbabilityConnector(0.6, rng=sim.NumpyRNG(seed=1)),
                   sim.StaticSynapse(weight=0.025, delay=4.0))
for group in chain:
    group.record("spikes")
sim.run(100.0)

fig, ax = plt.subplots(figsize=(8, 4))
for k, group in enumerate(chain):
    for i, train in enumerate(group.get_data().segments[0].spiketrains):
        ax.plot(train.magnitude, np.full(len(train), k * size + i), "|", color=f"C{k % 10}")
    times = np.concatenate([t.magnitude for t in group.get_data().segments[0].spiketrains])
    if times.size:
        print(f"group {k}: {times.size} spikes around {np.median(times):.1f} ms")
ax.set_xlabel("time (ms)")
ax.set_ylabel("neuron (group by group)")
ax.set_title(f"synfire chain on {options.simulator}")
fig.tight_layout()
out = f"pynn_synfire_chain_{options.simulator}.png"
fig.savefig(out, dpi=110)
print(f"figure saved to {out}")
sim.end()
