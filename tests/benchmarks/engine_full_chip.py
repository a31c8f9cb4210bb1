"""Full-chip engine benchmark: 512 neurons, 131,072 synapses, sensors on.

256 external inputs fire Poisson trains at 10 kHz hardware rate (10 Hz
biological) into both synapse arrays (each input owns one row per hemisphere,
all 256 columns), 80 % excitatory rows, random 6-bit weights, AdEx neurons with
COBA inputs, adaptation and exponential term, temporal noise on.  One run is
1 ms of chip time (1 s biological).

Prints the median wall time of `Chip.run` and the work rates, then the same run
with parts switched off to show where the time goes.

    python tests/benchmarks/engine_full_chip.py [--repeats N] [--dt US] [--threads 2]

It also prints the engine's time with all 512 membranes recorded through
the MADC at the step rate, with the inputs stopping after a tenth of the run,
and the run's time when a network uses only some of the circuits (the engine
then integrates those alone).
"""
import argparse
import statistics
import time

import numpy as np

from cython_core import Chip, MadcRecording, constants as C

INPUTS = 256
RATE_PER_US = 0.010          # 10 kHz hardware = 10 Hz biological
DURATION_US = 1000.0         # 1 ms hardware = 1 s biological


def build(dt, seed=0):
    chip = Chip(seed=seed, dt=dt)
    n = chip.config.neurons
    n.threshold_enable = True
    n.excitatory_input_enable = True
    n.inhibitory_input_enable = True
    n.excitatory_input_enable_coba_mode = True
    n.inhibitory_input_enable_coba_mode = True
    n.excitatory_input_v_rev_coba = 667      # 800 mV
    n.inhibitory_input_v_rev_coba = 250      # 300 mV
    n.excitatory_input_i_bias_gm = 150
    n.inhibitory_input_i_bias_gm = 300
    n.adaptation_enable = True
    n.adaptation_i_bias_a = 100
    n.adaptation_i_bias_b = 20
    n.adaptation_i_bias_tau = 100
    n.exponential_enable = True
    n.exponential_i_bias = 100
    n.exponential_v_exp = 800
    syn = chip.config.synapses
    rng = np.random.default_rng(1)
    syn.driver_enable[:, :] = True
    syn.driver_row_select[:, :] = np.arange(C.DRIVERS_PER_HEMISPHERE)
    rows = np.arange(C.ROWS_PER_HEMISPHERE)
    syn.row_modes[:, :] = np.where(rows < 205, C.ROW_EXCITATORY, C.ROW_INHIBITORY)
    syn.labels[...] = (rows % 2)[None, :, None]          # input i -> row i of each array
    syn.weights[...] = rng.integers(0, 64, syn.weights.shape)
    return chip


def inputs(t0, seed=2):
    rng = np.random.default_rng(seed)
    counts = rng.poisson(RATE_PER_US * DURATION_US, INPUTS)
    times = np.concatenate([np.sort(rng.uniform(t0, t0 + DURATION_US, c)) for c in counts])
    src = np.repeat(np.arange(INPUTS), counts)
    labels = ((src // 2) << 6) | (src % 2)
    order = np.argsort(times, kind="stable")
    return times[order], labels[order]


def measure(chip, repeats, spikes=True, madc=None, inputs_until=DURATION_US):
    """Median wall time of run() over `repeats` runs (inputs from the run's
    start up to `inputs_until` us into it), its last result and input count;
    measure.engine_s: the engine's part (median)."""
    walls, results, engine = [], [], []
    for _ in range(repeats):
        chip.reset_state()
        stim = inputs(chip.time) if spikes else None
        if spikes:
            kept = stim[0] < chip.time + inputs_until
            stim = (stim[0][kept], stim[1][kept])
        t = time.perf_counter()
        results.append(chip.run(DURATION_US, spikes=stim, madc=madc))
        walls.append(time.perf_counter() - t)
        engine.append(chip.last_run_profile["engine_s"])
    measure.engine_s = statistics.median(engine)
    return statistics.median(walls), results[-1], (len(stim[0]) if spikes else 0)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--dt", type=float, default=C.DEFAULT_TIMESTEP_US)
    parser.add_argument("--threads", type=int, default=1,
                        help="1, or 2: a thread per hemisphere (no neuron-to-neuron events "
                             "here, so the hemispheres run apart)")
    args = parser.parse_args()

    chip = build(args.dt)
    chip.threads = args.threads
    measure(chip, 2)                                    # warm-up: caches, page faults
    wall, res, n_events = measure(chip, args.repeats)
    engine_alone = measure.engine_s
    steps = round(DURATION_US / args.dt)
    row_events = 2 * n_events                           # one row per hemisphere
    synaptic_events = row_events * C.COLUMNS_PER_HEMISPHERE
    rate_hz_bio = len(res.spike_times) / C.NUM_NEURONS / (DURATION_US * 1e-3)  # 1 us hw = 1 ms bio
    print(f"full chip, dt = {args.dt} us, {steps} steps, {chip.threads} thread(s), "
          f"median of {args.repeats} runs")
    print(f"  chip time                 {DURATION_US:.0f} us  (= {DURATION_US / 1000:.0f} s biological)")
    print(f"  wall time of run()        {wall * 1e3:8.2f} ms")
    print(f"  speed vs biology          {DURATION_US / 1000 / wall:8.1f} x real time")
    print(f"  neuron updates/s          {C.NUM_NEURONS * steps / wall:10.3e}")
    print(f"  synaptic events/s         {synaptic_events / wall:10.3e}  "
          f"({synaptic_events} events, {n_events} input spikes)")
    print(f"  output spikes             {len(res.spike_times)}  ({rate_hz_bio:.1f} Hz biological per neuron)")

    membranes = MadcRecording(np.arange(C.NUM_NEURONS), "v", args.dt)
    with_madc, recorded, _ = measure(chip, args.repeats, madc=membranes)
    engine_recording = measure.engine_s

    print("where the time goes (median wall time of run()):")
    chip.config.correlation_sensors_enable = False
    no_sensors, _, _ = measure(chip, args.repeats)
    quiet, _, _ = measure(chip, args.repeats, spikes=False)
    chip.config.neurons.threshold_enable = False
    kernel, _, _ = measure(chip, args.repeats, spikes=False)
    print(f"  neuron kernel alone (no inputs, no spikes)   {kernel * 1e3:8.2f} ms")
    print(f"  + output spikes, no inputs, no sensors       {quiet * 1e3:8.2f} ms")
    print(f"  + input events, no sensors                   {no_sensors * 1e3:8.2f} ms")
    print(f"  + correlation sensors (full benchmark)       {wall * 1e3:8.2f} ms")
    print(f"recording all {C.NUM_NEURONS} membranes through the MADC at the step rate "
          f"({len(recorded.madc_times)} samples each):")
    print(f"  engine                        {engine_alone * 1e3:8.2f} ms without, "
          f"{engine_recording * 1e3:8.2f} ms with")
    print(f"  run() (with the codes' conversion) {with_madc * 1e3:8.2f} ms")

    chip.config.correlation_sensors_enable = True
    chip.config.neurons.threshold_enable = True
    # synaptic lines and adaptation decay through the subnormal floats once
    # their input stops (the engine flushes them to zero: _fpmode.h)
    stimulus_us = DURATION_US / 10
    silent_after, _, _ = measure(chip, args.repeats, inputs_until=stimulus_us)
    print(f"inputs for the first {stimulus_us:.0f} us only, then none:")
    print(f"  engine {measure.engine_s * 1e3:8.2f} ms, run() {silent_after * 1e3:8.2f} ms")

    # a network that uses only some of the circuits: the others are not
    # integrated (Chip.active_neurons, which the PyNN backends set)
    print("the same inputs into a network that uses only some circuits (median wall time "
          "of run()):")
    for used in (1, 16, 64, 128, 256, C.NUM_NEURONS):
        chip.active_neurons = (0, used)
        wall_used, _, _ = measure(chip, args.repeats)
        print(f"  {used:3d} neuron(s)  {wall_used * 1e3:8.2f} ms")
    chip.active_neurons = None


if __name__ == "__main__":
    main()
