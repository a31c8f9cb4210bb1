"""Full-chip STDP network through PyNN (the performance issue's network):
256 SpikeSourcePoisson at 10 Hz -> 512 EIF_cond_exp_isfa_ista, all-to-all
(131,072 plastic synapses), weights uniform in 0..0.004 uS, delay 1 ms,
SpikePairRule (tau 20/20 ms, A+ 0.01, A- 0.012), additive, w_max 0.01 uS;
1000 ms of biological time on calibrated chip 0 (or --chip N, --ideal).

Prints build and run() times (medians), where run() spends its time (the
engine's dynamics, the PPU's STDP program, the rest: input preparation,
configuration, readout), the output rate and how the weights moved.

    python tests/benchmarks/stdp_full_chip.py [--repeats N] [--chip N | --ideal] [--static]
                                              [--threads 1|2]
"""
import argparse
import os
import statistics
import time

import numpy as np

import pynn_brainscales as sim
from nest_comparison import build_network      # the same network, defined once


def one(ideal, static, seed, chip=0):
    sim.setup(timestep=0.1, min_delay=1.0, **({"ideal": True} if ideal else {"chip": chip}))
    t0 = time.perf_counter()
    _, post, prj = build_network(sim, not static, seed=seed)
    build = time.perf_counter() - t0
    before = prj.get("weight", format="array")
    t0 = time.perf_counter()
    sim.run(1000.0)
    run = time.perf_counter() - t0
    profile = dict(sim.simulator.state.chip.last_run_profile,
                   configuration_s=sim.simulator.state.build_seconds)
    counts = post.get_spike_counts()
    rate = np.array([counts[i] for i in post.all_cells], float) / 1.0     # Hz per neuron
    after = prj.get("weight", format="array")
    t0 = time.perf_counter()
    sim.run(1000.0)                     # continued: the configuration is reused
    profile["continued_s"] = time.perf_counter() - t0
    sim.end()
    return build, run, profile, rate, before, after


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--ideal", action="store_true")
    parser.add_argument("--chip", type=int, default=0, help="emulated chip seed (default 0)")
    parser.add_argument("--static", action="store_true", help="StaticSynapse instead of STDP")
    parser.add_argument("--threads", type=int, default=1,
                        help="engine threads (default 1: the one-core figures)")
    args = parser.parse_args()
    os.environ["PYNN_BSS2_EMU_THREADS"] = str(args.threads)     # read by each new chip
    one(args.ideal, args.static, 0, args.chip)     # warm-up: calibrates the chip once (cached)
    runs = [one(args.ideal, args.static, seed, args.chip) for seed in range(args.repeats)]
    med = lambda values: statistics.median(values)
    build = med([r[0] for r in runs])
    run = med([r[1] for r in runs])
    engine = med([r[2]["engine_s"] for r in runs])
    ppu = med([r[2]["ppu_s"] for r in runs])
    configuration = med([r[2]["configuration_s"] for r in runs])
    continued = med([r[2]["continued_s"] for r in runs])
    calls = runs[0][2]["ppu_calls"]
    rates = runs[0][3]
    before, after = runs[0][4], runs[0][5]
    kind = "static" if args.static else "STDP"
    print(f"{kind} full-chip network, {'ideal chip' if args.ideal else f'calibrated chip {args.chip}'}, "
          f"{args.threads} thread(s), median of {args.repeats}:")
    print(f"  build (populations + projection of 131,072 synapses): {build * 1e3:8.1f} ms")
    print(f"  run(1000 ms):                                      {run * 1e3:8.1f} ms")
    print(f"    engine (neuron and synapse dynamics):            {engine * 1e3:8.1f} ms")
    print(f"    PPU programs ({calls} calls of the STDP rule):    {ppu * 1e3:8.1f} ms")
    print(f"    configuration (translation, calibration lookup, routing): "
          f"{configuration * 1e3:8.1f} ms")
    print(f"    rest (inputs, readout):                          "
          f"{(run - engine - ppu - configuration) * 1e3:8.1f} ms")
    print(f"  a continued run(1000 ms) (configuration reused):  {continued * 1e3:8.1f} ms")
    low, median, high = np.percentile(rates, [5, 50, 95])
    print(f"  output rate: {rates.mean():.1f} Hz per neuron (median {median:.0f}, "
          f"5-95 % {low:.0f}..{high:.0f}; first repetition)")
    print(f"  weights: mean {before.mean():.5f} -> {after.mean():.5f} uS, "
          f"{np.mean(after != before) * 100:.0f} % changed")


if __name__ == "__main__":
    main()
