"""The STDP window, measured through standard PyNN.  Runs on any PyNN simulator:

    python -m pynn_brainscales.run examples/pynn_stdp_window.py brainscales2
    python examples/pynn_stdp_window.py nest

A teacher input makes 128 neurons fire 20 times, 200 ms apart; each of 24
sources fires once per pairing, dt before the neurons' spikes (dt < 0: after).
Every synapse learns by the pair rule (tau 20 ms); the mean weight change per
source against the measured dt is the window.  On BrainScaleS-2 (calibrated chip
0 by default) the correlation sensors' mismatch, the CADC's noise and 6-bit
weights scatter the single synapses around it.  Saves
pynn_stdp_window_<simulator>.png.
"""
import matplotlib
import numpy as np
from pyNN.utility import get_simulator

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

sim, options = get_simulator()
sim.setup(timestep=0.1, min_delay=0.1)
dts = np.concatenate([-np.geomspace(60, 2, 12), np.geomspace(2, 60, 12)]).round(1)
pairs, interval, latency = 20, 200.0, 3.4
tau, a_plus, a_minus, w_max, w0 = 20.0, 0.02, 0.025, 0.01, 0.005
teacher_times = 50.0 + interval * np.arange(pairs)
post = sim.Population(128, sim.IF_cond_exp(tau_refrac=2.0))
teacher = sim.Population(1, sim.SpikeSourceArray(spike_times=teacher_times))
sim.Projection(teacher, post, sim.AllToAllConnector(), sim.StaticSynapse(weight=0.1, delay=0.1))
pre = sim.Population(len(dts), sim.SpikeSourceArray(
    spike_times=[(teacher_times + latency - dt).round(1) for dt in dts]))
stdp = sim.STDPMechanism(
    timing_dependence=sim.SpikePairRule(tau_plus=tau, tau_minus=tau, A_plus=a_plus,
                                        A_minus=a_minus),
    weight_dependence=sim.AdditiveWeightDependence(w_min=0.0, w_max=w_max),
    weight=w0, delay=0.1)
projection = sim.Projection(pre, post, sim.AllToAllConnector(), stdp)
post.record("spikes")
sim.run(teacher_times[-1] + 200.0)

trains = post.get_data().segments[0].spiketrains
regular = np.array([len(t) == pairs for t in trains])
# the measured interval: post spike minus pre spike (both at the synapse)
first_post = np.median([float(t[0]) for t, ok in zip(trains, regular) if ok])
measured = first_post - (teacher_times[0] + latency - dts) - 0.1
change = (projection.get("weight", format="array") - w0)[:, regular] / (pairs * w_max)

fig, ax = plt.subplots(figsize=(7, 4))
for j in range(change.shape[1]):
    ax.plot(measured, change[:, j], ".", color="0.8", ms=2)
ax.plot(measured, change.mean(axis=1), "o", color="C0", label="mean over synapses")
grid = np.linspace(-65, 65, 400)
rule = np.where(grid > 0, a_plus * np.exp(-grid / tau), -a_minus * np.exp(grid / tau))
ax.plot(grid, rule, color="C3", label="pair rule (A exp(-|dt| / tau))")
ax.axhline(0, color="k", lw=0.5)
ax.set_xlabel("t_post - t_pre (ms)")
ax.set_ylabel("weight change per pairing / w_max")
ax.set_title(f"STDP window on {options.simulator}: {regular.sum()} neurons, {pairs} pairings")
ax.legend(fontsize=8)
fig.tight_layout()
name = f"pynn_stdp_window_{options.simulator}.png"
fig.savefig(name, dpi=110)
for dt, m in zip(measured, change.mean(axis=1)):
    print(f"dt {dt:6.1f} ms: mean change per pairing {m:+.4f} w_max")
print(f"figure saved to {name}")
sim.end()
