"""Figures of the examples (matplotlib is an optional dependency).  They are
drawn without pyplot, so that they leave a session's backend alone."""
import numpy as np


def figure(rows, height=2.4):
    """A matplotlib Figure with `rows` stacked axes sharing the time axis."""
    from matplotlib.figure import Figure
    fig = Figure(figsize=(7, height * rows))
    axes = fig.subplots(rows, 1, sharex=True, squeeze=False)[:, 0]
    return fig, axes


def save_membranes(path, panels, title):
    """One panel per (label, membrane signal, spike train or None[, input
    spike times]): the MADC trace against hardware time, the neuron's spikes
    marked above it, input spikes below.  Saves `path`."""
    fig, axes = figure(len(panels))
    for ax, (label, membrane, spikes, *inputs) in zip(axes, panels):
        trace = np.asarray(membrane).ravel()
        ax.plot(np.asarray(membrane.times), trace, lw=0.8)
        for times, level, colour, name in ((spikes, trace.max() + 10.0, "C3", "spikes"),
                                           (inputs[0] if inputs else None, trace.min() - 10.0,
                                            "C2", "input spikes")):
            if times is not None and len(times):
                ax.plot(np.asarray(times), np.full(len(times), level), "|", color=colour, ms=8,
                        label=name)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(loc="upper right", fontsize=8)
        ax.set_ylabel("MADC code")
        ax.set_title(label, fontsize=9)
    axes[-1].set_xlabel("hardware time (ms)")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return path
