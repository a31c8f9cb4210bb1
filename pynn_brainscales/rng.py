"""The backend's native random number generator.

The chip has no generator for connectivity or parameter values (its spike
sources and noise are its own): whatever a script draws through
`NativeRNG` is drawn on the host while the network is built, with numpy's
generator, as `NumpyRNG` draws it.  PyNN's base class only marks the request
and cannot draw, so scripts written for NEST (`sim.NativeRNG(seed=...)` in
connectors and distributions) would fail without this.
"""
from pyNN import random


class NativeRNG(random.NativeRNG, random.NumpyRNG):
    """The simulator's own generator: reproducible from `seed`, drawn with numpy."""

    def __init__(self, seed=None, parallel_safe=True):
        random.NumpyRNG.__init__(self, seed=seed, parallel_safe=parallel_safe)

    def __str__(self):
        return f"NativeRNG(seed={self.seed})"
