"""BSS-2-style tutorial: reward-modulated STDP, the chip's "hybrid plasticity".

Two groups of 16 inputs code two patterns: in pattern A group 1 fires fast and
group 2 slowly, in pattern B the other way round.  Two calibrated output neurons
should answer, neuron 0 to A and neuron 1 to B.  Every trial (0.1 ms of hardware
time) shows one pattern; at its end the PPU program

1. reads both neurons' spike counters: the one that fired more gives the answer,
2. rewards each neuron (+1 where its pattern was shown, -1 where the other was)
   against the mean reward it has had for that pattern so far,
3. reads every synapse's causal and acausal correlation (the eligibility: which
   inputs helped the neuron fire) through the CADC and resets the sensors,
4. moves each weight by learning rate x (reward - mean reward) x eligibility.

The analog network runs the trials; the processor only looks at them now and
then -- the division of labour of BrainScaleS-2's hybrid plasticity.
Saves bss2_reward_stdp.png.

    python examples/bss2_reward_stdp.py [--chip SEED] [--trials N]
"""
import argparse

import matplotlib
import numpy as np

import calibration
import pynn_brainscales.brainscales2 as pynn

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--chip", type=int, default=0)
parser.add_argument("--trials", type=int, default=200)
args = parser.parse_args()

TRIAL = 0.1                       # ms of hardware time
GROUP = 16
FAST, SLOW = 8e4, 1e4             # input rates, Hz of hardware time
LEARNING_RATE = 0.6               # weight LSB per CADC LSB of eligibility

rng = np.random.default_rng(args.chip)
patterns = rng.integers(0, 2, args.trials)          # 0: A, 1: B


class RewardSTDP(pynn.PlasticityRule):
    def __init__(self, timer):
        answer = pynn.PlasticityRule.ObservableArray()
        answer.type = answer.Type.int8
        answer.size = 2                               # (pattern, answer or -1)
        weight = pynn.PlasticityRule.ObservablePerSynapse()
        weight.type = weight.Type.uint8
        super().__init__(timer, observables={"answer": answer, "weight": weight})
        self.trial = 0
        self.mean_reward = np.zeros((2, 2))         # [pattern, neuron]
        self.baseline = None

    def kernel(self, synapses, neurons, recording):
        s = synapses[0]
        if self.baseline is None:                     # sensors at their reset level
            s.reset_correlation()
            self.baseline = (s.get_causal_correlation(), s.get_acausal_correlation())
            return
        pattern = patterns[self.trial]
        counts = neurons[0].get_spike_counts(reset=True).astype(int)
        answer = int(np.argmax(counts)) if counts.max() > 0 and counts[0] != counts[1] else -1
        reward = np.where(np.arange(2) == pattern, 1.0, -1.0)
        advantage = reward - self.mean_reward[pattern]
        self.mean_reward[pattern] += 0.1 * advantage
        causal = self.baseline[0] - s.get_causal_correlation()
        acausal = self.baseline[1] - s.get_acausal_correlation()
        s.reset_correlation()
        weights = s.get_weights() + LEARNING_RATE * advantage[None, :] * (causal - 0.5 * acausal)
        # 6-bit weights: stochastic rounding keeps small changes on average
        weights = np.floor(weights + rng.random(weights.shape))
        s.set_weights(np.clip(weights, 0, 63))
        recording.answer = [pattern, answer]
        recording.weight = s.get_weights()
        self.trial += 1


# correlation sensors calibrated to 1.5 CADC LSB per pair and 10 us
calib = calibration.cached(args.chip, calibration.Targets(correlation_amplitude=1.5,
                                                          correlation_tau=10.0),
                           correlation=True)
pynn.setup(chip=args.chip, initial_config=calib)
rule = RewardSTDP(pynn.Timer(start=0.0, period=TRIAL, num_periods=args.trials + 1))
outputs = pynn.Population(2, pynn.cells.HXNeuron(plasticity_rule=rule))
trains = []
for group in (0, 1):
    for _ in range(GROUP):
        spikes = []
        for k, pattern in enumerate(patterns):
            rate = FAST if pattern == group else SLOW
            n = rng.poisson(rate * TRIAL * 1e-3)
            spikes.append(np.sort(rng.uniform(k * TRIAL, (k + 1) * TRIAL, n)))
        trains.append(np.round(np.concatenate(spikes), 6))
inputs = pynn.Population(2 * GROUP, pynn.cells.SpikeSourceArray(spike_times=trains))
# the start is the wrong way round: group 1 drives neuron 1, group 2 neuron 0
initial = np.where(np.repeat(np.eye(2, dtype=bool), GROUP, axis=0), 24, 36)
initial += rng.integers(-3, 4, initial.shape)
projection = pynn.Projection(
    inputs, outputs, pynn.AllToAllConnector(),
    pynn.synapses.PlasticSynapse(weight=initial, plasticity_rule=rule),
    receptor_type="excitatory")
pynn.run(args.trials * TRIAL + 0.001)

answers = np.array([r.data for r in rule.get_observable_array("answer")[0]])
correct = answers[:, 0] == answers[:, 1]
final = projection.get("weight", format="array")
pynn.end()

window = 10
running = np.convolve(correct, np.ones(window) / window, mode="valid")
fig, axes = plt.subplots(1, 2, figsize=(11, 4), gridspec_kw={"width_ratios": [2, 1]})
axes[0].plot(np.arange(window, len(correct) + 1), running)
axes[0].axhline(0.5, color="0.5", ls=":")
axes[0].set_xlabel("trial")
axes[0].set_ylabel(f"fraction correct (last {window} trials)")
axes[0].set_ylim(0, 1.05)
image = axes[1].imshow(final, aspect="auto", cmap="viridis", vmin=0, vmax=63)
axes[1].set_xticks([0, 1], ["neuron 0 (A)", "neuron 1 (B)"])
axes[1].set_ylabel("input (0-15: group 1, 16-31: group 2)")
fig.colorbar(image, ax=axes[1], label="learned weight")
fig.tight_layout()
fig.savefig("bss2_reward_stdp.png", dpi=110)
print(f"correct in the first {window} trials: {correct[:window].mean():.0%}, "
      f"in the last {window}: {correct[-window:].mean():.0%}")
print("mean weights [group, neuron]:", final.reshape(2, GROUP, 2).mean(axis=1).round(1).tolist())
print("figure saved to bss2_reward_stdp.png")
