"""Run an unmodified PyNN script on the emulated chip.

    python -m pynn_brainscales.run SCRIPT [ARGS...]

The script chooses its simulator by name -- `pyNN.utility.get_simulator()`
with `brainscales2` among ARGS, or `from pyNN.brainscales2 import *` -- and
gets this backend under the name `pyNN.brainscales2`.
"""
import runpy
import sys


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if argv else 2
    import pyNN

    import pynn_brainscales
    sys.modules["pyNN.brainscales2"] = pynn_brainscales
    pyNN.brainscales2 = pynn_brainscales
    sys.argv = argv
    runpy.run_path(argv[0], run_name="__main__")
    return 0


if __name__ == "__main__":
    sys.exit(main())
