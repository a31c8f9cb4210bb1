"""The emulator against NEST on one PyNN script (the performance issue's network).

256 SpikeSourcePoisson at 10 Hz -> 512 EIF_cond_exp_isfa_ista, AllToAllConnector
(131,072 synapses), weights uniform in 0..0.004 uS, delay 1 ms, run 1000 ms; once
with StaticSynapse, once with STDPMechanism (SpikePairRule tau 20/20 ms, A+ 0.01,
A- 0.012, additive, w_max 0.01).  Spikes recorded.

Each measurement runs in a fresh process (`--worker`), pynn_brainscales and
pyNN.nest alternating, each pinned to the same CPU(s) (one per thread); the
medians of build time (populations and projection), run() time, peak memory of
the process and output rate are printed with the ratio NEST / emulator, and
the time of `get_data()` afterwards, then the time of a second run() of the
same duration that continues the first; for the emulator also the part of its
run() that the engine and the PPU programs took.  `--record-v` also records the
membrane of all 512 neurons (10,001 samples each).  `--chunks` adds the 1000 ms
run as run() calls of 1, 10 and 100 ms on both simulators.  `--sweep` adds the
emulator's scaling: run() time against simulated duration, number of neurons
and input rate (tables, and a figure nest_comparison_scaling.png).

    python tests/benchmarks/nest_comparison.py [--repeats 3] [--threads 1] [--record-v]
                                               [--chunks] [--sweep]

The emulator runs calibrated chip 0 (calibrated once before the timings, from
then on cached); NEST 3.10 runs with one thread unless --threads says otherwise
(the emulator uses OMP_NUM_THREADS, the same number).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

SCRIPT = os.path.abspath(__file__)


def build_network(sim, plastic, neurons=512, rate=10.0, seed=1, record_v=False):
    """The issue's network on `sim`: (sources, neurons, projection)."""
    pre = sim.Population(256, sim.SpikeSourcePoisson(rate=rate))
    post = sim.Population(neurons, sim.EIF_cond_exp_isfa_ista())
    weights = sim.RandomDistribution("uniform", low=0.0, high=0.004,
                                     rng=sim.NumpyRNG(seed=seed))
    if plastic:
        synapse = sim.STDPMechanism(
            timing_dependence=sim.SpikePairRule(tau_plus=20.0, tau_minus=20.0,
                                                A_plus=0.01, A_minus=0.012),
            weight_dependence=sim.AdditiveWeightDependence(w_min=0.0, w_max=0.01),
            weight=weights, delay=1.0)
    else:
        synapse = sim.StaticSynapse(weight=weights, delay=1.0)
    projection = sim.Projection(pre, post, sim.AllToAllConnector(), synapse)
    post.record(["spikes", "v"] if record_v else "spikes")
    return pre, post, projection


def network(sim, plastic, neurons, rate, duration, record_v=False, chunk=None):
    """Build and run the network; returns (build s, run s, output rate Hz,
    get_data s, profile of the emulator's run or {}, peak memory MB until then,
    continued run s or None).  With `chunk` (ms), the duration runs as
    run(chunk) calls, all of them timed, and no continued run follows."""
    t0 = time.perf_counter()
    _, post, _ = build_network(sim, plastic, neurons, rate, record_v=record_v)
    build = time.perf_counter() - t0
    t0 = time.perf_counter()
    if chunk:
        for _ in range(round(duration / chunk)):
            sim.run(chunk)
    else:
        sim.run(duration)
    run = time.perf_counter() - t0
    chip = getattr(sim.simulator.state, "chip", None)        # the emulator's; NEST has none
    profile = dict(chip.last_run_profile) if chip is not None else {}
    rate = post.mean_spike_count() / (duration / 1000.0)
    t0 = time.perf_counter()
    post.get_data()
    data = time.perf_counter() - t0
    import resource                       # POSIX: the workers only
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    # the same network run on for as long again: what a script that calls
    # run() in a loop pays per call once the network is on the chip (the
    # chunked runs measure that themselves)
    continued = None
    if not chunk:
        t0 = time.perf_counter()
        sim.run(duration)
        continued = time.perf_counter() - t0
    return build, run, rate, data, profile, peak_mb, continued


def worker(args):
    if args.cpus:
        os.sched_setaffinity(0, {int(c) for c in args.cpus.split(",")})
    if args.worker == "nest":
        import pyNN.nest as sim
        sim.setup(timestep=0.1, min_delay=1.0, threads=args.threads, verbosity="error")
    else:
        import pynn_brainscales as sim
        sim.setup(timestep=0.1, min_delay=1.0, chip=0)
    build, run, rate, data, profile, peak_mb, continued = network(
        sim, args.plastic, args.neurons, args.rate, args.duration, args.record_v, args.chunk)
    # the part of the emulator's run() spent in compiled loops: its neuron and
    # synapse dynamics and its PPU programs (their Python preparation included)
    compiled = profile.get("engine_s", float("nan")) + profile.get("ppu_s", 0.0)
    sim.end()
    print(json.dumps({"build": build, "run": run, "rate": rate, "peak_mb": peak_mb,
                      "data": data, "compiled": compiled,
                      "continued": continued}))


def measure(simulator, plastic, threads, neurons=512, rate=10.0, duration=1000.0,
            record_v=False, chunk=None):
    # NEST takes setup(threads=...); the emulator's engine its environment variable
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), PYNN_BSS2_EMU_THREADS=str(threads))
    cmd = [sys.executable, SCRIPT, "--worker", simulator, "--threads", str(threads),
           "--neurons", str(neurons), "--rate", str(rate), "--duration", str(duration)]
    cpus = worker_cpus(threads)
    if cpus:
        cmd += ["--cpus", ",".join(map(str, cpus))]
    if plastic:
        cmd.append("--plastic")
    if record_v:
        cmd.append("--record-v")
    if chunk:
        cmd += ["--chunk", str(chunk)]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1800)
    if out.returncode != 0:
        raise RuntimeError(f"{simulator} worker failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def worker_cpus(threads):
    """The CPUs every worker runs on: as many as threads, the same for both
    simulators (a process the scheduler moves between cores loses its caches
    on the way); None where the platform cannot pin."""
    if not hasattr(os, "sched_getaffinity"):
        return None
    available = sorted(os.sched_getaffinity(0))
    return available[-threads:] if len(available) >= threads else None


def comparison(repeats, threads, record_v=False):
    cpus = worker_cpus(threads)
    print(f"one PyNN script, {repeats} repetitions each, alternating; {threads} thread(s)"
          + (f" on CPU {','.join(map(str, cpus))}" if cpus else "")
          + ("; spikes and v of all neurons recorded" if record_v else ""))
    print(f"{'network':8s} {'simulator':18s} {'build ms':>9s} {'run() ms':>9s} "
          f"{'peak MB':>8s} {'rate Hz':>8s} {'get_data ms':>12s}")
    for plastic in (False, True):
        name = "STDP" if plastic else "static"
        results = {"nest": [], "bss2": []}
        for _ in range(repeats):
            for simulator in ("nest", "bss2"):
                results[simulator].append(measure(simulator, plastic, threads,
                                                  record_v=record_v))
        medians = {s: {k: statistics.median(r[k] for r in runs) for k in runs[0]}
                   for s, runs in results.items()}
        for s, label in (("nest", "NEST 3.10"), ("bss2", "pynn_brainscales")):
            m = medians[s]
            print(f"{name:8s} {label:18s} {m['build'] * 1e3:9.1f} {m['run'] * 1e3:9.1f} "
                  f"{m['peak_mb']:8.0f} {m['rate']:8.1f} {m['data'] * 1e3:12.1f}")
        ratio = {k: medians["nest"][k] / medians["bss2"][k] for k in ("build", "run", "data")}
        print(f"{name:8s} {'NEST / emulator':18s} {ratio['build']:9.2f} {ratio['run']:9.1f} "
              f"{'':8s} {'':8s} {ratio['data']:12.2f}")
        compiled = medians["bss2"]["compiled"]
        print(f"{name:8s} {'  engine + PPU':18s} {'':9s} {compiled * 1e3:9.1f}   "
              f"(NEST / this: {medians['nest']['run'] / compiled:.1f}x, run()'s ratio "
              f"were all else free)")
        continued = {s: medians[s]["continued"] for s in medians}
        print(f"{name:8s} {'a continued run()':18s} {'':9s} "
              f"{continued['bss2'] * 1e3:9.1f}   (NEST {continued['nest'] * 1e3:.1f} ms: "
              f"{continued['nest'] / continued['bss2']:.1f}x)")


def chunks(repeats, threads):
    """The 1000 ms in run() calls of 1, 10 and 100 ms (as PyNN's callbacks, a
    weight recorder for instance, split a run): each call's cost beyond the
    simulation itself, on both simulators."""
    print(f"\nthe 1000 ms as run(chunk) calls, all timed (medians of {repeats})")
    print(f"{'network':8s} {'chunk ms':>8s} {'calls':>6s} {'NEST ms':>9s} {'emulator ms':>12s} "
          f"{'per call':>9s} {'NEST / emulator':>16s}")
    for plastic in (False, True):
        name = "STDP" if plastic else "static"
        for chunk in (1.0, 10.0, 100.0):
            results = {"nest": [], "bss2": []}
            for _ in range(repeats):
                for simulator in ("nest", "bss2"):
                    results[simulator].append(
                        measure(simulator, plastic, threads, chunk=chunk)["run"])
            nest, bss2 = (statistics.median(results[s]) for s in ("nest", "bss2"))
            calls = round(1000.0 / chunk)
            print(f"{name:8s} {chunk:8g} {calls:6d} {nest * 1e3:9.1f} {bss2 * 1e3:12.1f} "
                  f"{bss2 / calls * 1e3:9.3f} {nest / bss2:15.1f}x")


def sweep(threads):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    sweeps = [("duration", "simulated duration (ms)", [1000.0, 2000.0, 5000.0, 10000.0]),
              ("neurons", "neurons", [64, 128, 256, 512]),
              ("rate", "input rate (Hz)", [1.0, 10.0, 30.0, 100.0])]
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    for ax, (name, label, values) in zip(axes, sweeps):
        print(f"\nemulator run() against {label} (STDP network, others as above)")
        print(f"{label:>28s} {'run() ms':>9s} {'ms per unit':>12s} {'rate Hz':>8s}")
        times = []
        for value in values:
            measure("bss2", True, threads, **{name: value})     # calibrates (cached)
            r = measure("bss2", True, threads, **{name: value})
            times.append(r["run"] * 1e3)
            print(f"{value:28g} {r['run'] * 1e3:9.1f} {r['run'] * 1e3 / value:12.4f} "
                  f"{r['rate']:8.1f}")
        ax.plot(values, times, "o-")
        ax.set_xlabel(label)
        ax.set_ylabel("run() wall time (ms)")
        ax.set_ylim(bottom=0)
    fig.tight_layout()
    fig.savefig("nest_comparison_scaling.png", dpi=110)
    print("figure saved to nest_comparison_scaling.png")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--record-v", action="store_true",
                        help="record the membrane of all neurons too")
    parser.add_argument("--sweep", action="store_true")
    parser.add_argument("--chunks", action="store_true",
                        help="also run the 1000 ms as run() calls of 1, 10 and 100 ms")
    parser.add_argument("--worker", choices=["nest", "bss2"], help=argparse.SUPPRESS)
    parser.add_argument("--plastic", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--neurons", type=int, default=512, help=argparse.SUPPRESS)
    parser.add_argument("--rate", type=float, default=10.0, help=argparse.SUPPRESS)
    parser.add_argument("--duration", type=float, default=1000.0, help=argparse.SUPPRESS)
    parser.add_argument("--chunk", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--cpus", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    for plastic in (False, True):                  # calibrates chip 0 once for each (cached)
        measure("bss2", plastic, args.threads)
    comparison(args.repeats, args.threads, args.record_v)
    if args.chunks:
        chunks(args.repeats, args.threads)
    if args.sweep:
        sweep(args.threads)


if __name__ == "__main__":
    main()
