from . import cells, synapses  # noqa: F401
