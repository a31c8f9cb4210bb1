"""A standard PyNN script: an excitatory/inhibitory network driven by Poisson
noise, run on the emulated BrainScaleS-2 chip (or any PyNN simulator).

    python -m pynn_brainscales.run examples/pynn_network.py brainscales2
    python examples/pynn_network.py nest            # the same script on NEST

It saves a raster plot and one membrane trace to pynn_network_<simulator>.png.
"""
import matplotlib
import numpy as np
from pyNN.utility import get_simulator

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

sim, options = get_simulator(("--ideal", "ideal chip (brainscales2 only)",
                              {"action": "store_true"}))
extra = {"ideal": True} if options.simulator == "brainscales2" and options.ideal else {}
sim.setup(timestep=0.1, min_delay=1.0, **extra)

cell = sim.IF_cond_exp(tau_m=20.0, v_rest=-65.0, v_reset=-65.0, v_thresh=-52.0,
                       tau_syn_E=5.0, tau_syn_I=10.0, tau_refrac=2.0)
exc = sim.Population(160, cell, label="excitatory")
inh = sim.Population(40, cell, label="inhibitory")
noise = sim.Population(60, sim.SpikeSourcePoisson(rate=20.0), label="noise")

rng = sim.NumpyRNG(seed=7)
sim.Projection(noise, exc, sim.FixedProbabilityConnector(0.3, rng=rng),
               sim.StaticSynapse(weight=0.006, delay=1.0), receptor_type="excitatory")
sim.Projection(noise, inh, sim.FixedProbabilityConnector(0.3, rng=rng),
               sim.StaticSynapse(weight=0.006, delay=1.0), receptor_type="excitatory")
sim.Projection(exc, inh, sim.FixedProbabilityConnector(0.1, rng=rng),
               sim.StaticSynapse(weight=0.004, delay=1.0), receptor_type="excitatory")
sim.Projection(inh, exc, sim.FixedProbabilityConnector(0.2, rng=rng),
               sim.StaticSynapse(weight=0.02, delay=1.0), receptor_type="inhibitory")

exc.record("spikes")
inh.record("spikes")
exc[:1].record(["v", "gsyn_exc", "gsyn_inh"])
sim.run(500.0)

e = exc.get_data().segments[0]
i = inh.get_data().segments[0]
rate_e = np.mean([len(t) for t in e.spiketrains]) / 0.5
rate_i = np.mean([len(t) for t in i.spiketrains]) / 0.5
print(f"{options.simulator}: excitatory {rate_e:.1f} Hz, inhibitory {rate_i:.1f} Hz")

fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(9, 6), sharex=True)
for k, t in enumerate(e.spiketrains):
    ax1.plot(t.magnitude, np.full(len(t), k), "|", color="tab:blue", ms=3)
for k, t in enumerate(i.spiketrains):
    ax1.plot(t.magnitude, np.full(len(t), 160 + k), "|", color="tab:red", ms=3)
ax1.set_ylabel("neuron")
ax1.set_title(f"{options.simulator}: E {rate_e:.1f} Hz, I {rate_i:.1f} Hz")
v = e.filter(name="v")[0]
ax2.plot(v.times, v.magnitude[:, 0])
ax2.set_xlabel("time (ms, biological)")
ax2.set_ylabel("v (mV)")
fig.tight_layout()
out = f"pynn_network_{options.simulator}.png"
fig.savefig(out, dpi=110)
print(f"figure saved to {out}")
sim.end()
