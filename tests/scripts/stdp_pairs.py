"""Spike pairs at fixed intervals through an STDP projection; prints the final
weights and the post spike times as JSON.  Runs on any PyNN simulator:

    python stdp_pairs.py nest [--dependence ...]
    python -m pynn_brainscales.run stdp_pairs.py brainscales2 [--chip N] [--posts N]

One source per pre-post interval dt; a teacher input makes every post neuron
fire `latency` ms after it, so each source's pre spikes precede the post spikes
by dt (dt > 0: causal).  Pairings are `interval` ms apart, far beyond tau, so
all-to-all and nearest-neighbour pairing agree.
"""
import json

import numpy as np
from pyNN.utility import get_simulator

sim, options = get_simulator(
    ("--dependence", "weight dependence class", {"default": "AdditiveWeightDependence"}),
    ("--chip", "emulated chip seed (default: an ideal chip)", {"type": int, "default": -1}),
    ("--posts", "number of post neurons", {"type": int, "default": 16}),
    ("--pairs", "number of pairings", {"type": int, "default": 20}))
extra = {}
if options.simulator == "brainscales2":
    extra = {"ideal": True} if options.chip < 0 else {"chip": options.chip}
sim.setup(timestep=0.1, min_delay=0.1, **extra)

dts = [-40.0, -20.0, -10.0, -5.0, 5.0, 10.0, 20.0, 40.0]
interval, latency = 200.0, 3.4
teacher_times = 50.0 + interval * np.arange(options.pairs)
# a last pre spike long after the last pairing: NEST applies potentiation at pre spikes
end = teacher_times[-1] + 150.0
post = sim.Population(options.posts, sim.IF_cond_exp(tau_refrac=2.0))
teacher = sim.Population(1, sim.SpikeSourceArray(spike_times=teacher_times))
sim.Projection(teacher, post, sim.AllToAllConnector(), sim.StaticSynapse(weight=0.1, delay=0.1))
pre = sim.Population(len(dts), sim.SpikeSourceArray(
    spike_times=[np.append(teacher_times + latency - dt, end).round(1) for dt in dts]))
stdp = sim.STDPMechanism(
    timing_dependence=sim.SpikePairRule(tau_plus=20.0, tau_minus=20.0, A_plus=0.02,
                                        A_minus=0.025),
    weight_dependence=getattr(sim, options.dependence)(w_min=0.0, w_max=0.01),
    weight=0.005, delay=0.1)
projection = sim.Projection(pre, post, sim.AllToAllConnector(), stdp)
# as realised: a calibrated chip puts 0.005 uS on its 6-bit grid, per neuron
initial = projection.get("weight", format="array")
post.record("spikes")
sim.run(end + 10.0)
posts = [t.magnitude.tolist() for t in post.get_data().segments[0].spiketrains]
print(json.dumps({"dts": dts, "initial": initial.tolist(), "pairs": options.pairs,
                  "weights": projection.get("weight", format="array").tolist(),
                  "posts": posts}))
sim.end()
