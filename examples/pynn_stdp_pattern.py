"""STDP learns a rate-coded pattern (standard PyNN; any simulator):

    python -m pynn_brainscales.run examples/pynn_stdp_pattern.py brainscales2
    python examples/pynn_stdp_pattern.py nest

100 inputs fire at 2 Hz.  Now and then (50 ms every 200 ms) the pattern is
shown: inputs 30..59 fire at 60 Hz.  Eight neurons receive all inputs through
STDP synapses that start equal.  The pattern inputs drive the neurons when they
fire together, so their spikes precede the neurons' spikes: their synapses grow
to w_max, the others less.  The contrast is weaker on BrainScaleS-2 than in
NEST: the sensors pair nearest neighbours (NEST's stdp_synapse pairs all), and
each synapse's sensor mismatch tips its own balance of potentiation and
depression.  Saves pynn_stdp_pattern_<simulator>.png.
"""
import matplotlib
import numpy as np
from pyNN.utility import get_simulator

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

sim, options = get_simulator()
sim.setup(timestep=0.1, min_delay=0.1)
inputs, pattern = 100, np.arange(30, 60)
duration, cycle, shown = 20000.0, 200.0, 50.0
rng = np.random.default_rng(7)
trains = []
for i in range(inputs):
    spikes = rng.uniform(0, duration, rng.poisson(2.0 * duration / 1000.0))
    if i in pattern:
        for start in np.arange(0.0, duration, cycle):
            spikes = np.append(spikes, rng.uniform(start, start + shown,
                                                   rng.poisson(60.0 * shown / 1000.0)))
    trains.append(np.unique(np.sort(spikes).round(1)))
source = sim.Population(inputs, sim.SpikeSourceArray(spike_times=trains))
neurons = sim.Population(8, sim.IF_cond_exp(tau_m=10.0, tau_refrac=2.0))
stdp = sim.STDPMechanism(
    timing_dependence=sim.SpikePairRule(tau_plus=20.0, tau_minus=20.0, A_plus=0.02,
                                        A_minus=0.021),
    weight_dependence=sim.AdditiveWeightDependence(w_min=0.0, w_max=0.01),
    weight=0.005, delay=0.1)
projection = sim.Projection(source, neurons, sim.AllToAllConnector(), stdp)
neurons.record("spikes")
snapshots = []
for _ in range(4):
    sim.run(duration / 4)
    snapshots.append(projection.get("weight", format="array").mean(axis=1))
rate = neurons.mean_spike_count() / (duration / 1000.0)
final = projection.get("weight", format="array")

fig, axes = plt.subplots(1, 2, figsize=(11, 4))
for k, snap in enumerate(snapshots):
    axes[0].plot(snap / 0.01, color=plt.cm.viridis(k / 3),
                 label=f"after {(k + 1) * duration / 4000:g} s")
axes[0].axvspan(pattern[0], pattern[-1], color="0.9")
axes[0].set_xlabel("input")
axes[0].set_ylabel("mean weight / w_max (8 neurons)")
axes[0].legend(fontsize=8)
axes[1].imshow(final.T / 0.01, aspect="auto", cmap="viridis", vmin=0, vmax=1)
axes[1].set_xlabel("input")
axes[1].set_ylabel("neuron")
axes[1].set_title("learned weights / w_max")
fig.suptitle(f"STDP on {options.simulator}: the pattern inputs (shaded) are learned")
fig.tight_layout()
name = f"pynn_stdp_pattern_{options.simulator}.png"
fig.savefig(name, dpi=110)
inside = final[pattern].mean() / 0.01
outside = np.delete(final, pattern, axis=0).mean() / 0.01
print(f"output rate {rate:.1f} Hz; mean weight / w_max: pattern inputs {inside:.2f}, "
      f"others {outside:.2f}")
print(f"figure saved to {name}")
sim.end()
