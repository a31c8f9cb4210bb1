"""Run PyNN 0.13.0's system scenarios (test/system/scenarios, from PyNN's source
distribution on the package registry) against pynn_brainscales.

The scenarios are fetched with pip at run time into a cache directory; nothing
of them is kept in this repository.  Each scenario function gets a proxy of
`pynn_brainscales` whose `setup()` defaults to an ideal chip.

    python tests/pynn_conformance.py [--list-failures] [--simulator nest]
"""
import argparse
import importlib
import inspect
import os
import subprocess
import sys
import tarfile
import tempfile
import time
import traceback
import types
from pathlib import Path

PYNN_VERSION = "0.13.0"


def cache_root():
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "pynn-brainscales-emu" / f"pynn-{PYNN_VERSION}-sdist"


def fetch_scenarios():
    """Directory holding PyNN's `scenarios` package (downloaded once)."""
    root = cache_root()
    target = root / "system"
    if (target / "scenarios" / "fixtures.py").exists():
        return target
    root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary",
                        ":all:", f"pynn=={PYNN_VERSION}", "-d", tmp, "-q"], check=True,
                       capture_output=True, timeout=300)
        archive = next(Path(tmp).glob("*.tar.gz"))
        with tarfile.open(archive) as tar:
            members = [m for m in tar.getmembers() if "/test/system/scenarios/" in m.name]
            tar.extractall(tmp, members=members, filter="data")
        src = next(Path(tmp).glob("*/test/system/scenarios"))
        (target / "scenarios").mkdir(parents=True, exist_ok=True)
        for f in src.iterdir():
            (target / "scenarios" / f.name).write_bytes(f.read_bytes())
    return target


def simulator_proxy():
    """pynn_brainscales with an ideal chip as setup()'s default."""
    import pynn_brainscales as backend
    proxy = types.ModuleType("pynn_brainscales_ideal")
    proxy.__dict__.update({k: v for k, v in vars(backend).items() if not k.startswith("__")})
    proxy.__name__ = "pyNN.brainscales2"

    def setup(*args, **kwargs):
        kwargs.setdefault("ideal", True)
        return backend.setup(*args, **kwargs)

    proxy.setup = setup
    return proxy


def scenario_functions(directory):
    sys.path.insert(0, str(directory))
    out = []
    for path in sorted((directory / "scenarios").glob("test_*.py")):
        module = importlib.import_module(f"scenarios.{path.stem}")
        for name, func in inspect.getmembers(module, inspect.isfunction):
            if name.startswith("test") and "sim" in inspect.signature(func).parameters \
                    and func.__module__ == module.__name__:
                out.append((f"{path.stem}::{name}", func))
    return out


def run_all(verbose=False, simulator="brainscales2"):
    """Returns a list of (name, passed, reason, seconds).  `simulator`: this
    backend (ideal chip), or "nest" for PyNN's NEST backend as a reference."""
    import matplotlib
    matplotlib.use("Agg")
    directory = fetch_scenarios()
    sim = simulator_proxy() if simulator == "brainscales2" else importlib.import_module(
        f"pyNN.{simulator}")
    results = []
    previous_cwd = os.getcwd()
    # some scenarios write data files (Results/...) into the working directory
    with tempfile.TemporaryDirectory() as scratch:
        os.chdir(scratch)
        try:
            for name, func in scenario_functions(directory):
                results.append(run_one(name, func, sim, verbose))
        finally:
            os.chdir(previous_cwd)
    return results


def run_one(name, func, sim, verbose):
    start = time.perf_counter()
    try:
        func(sim)
        return name, True, "", time.perf_counter() - start
    except KeyboardInterrupt:
        raise
    except BaseException as err:    # failures, pytest's fail/skip: results, not crashes
        reason = f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"
        if verbose:
            traceback.print_exc()
        return name, False, reason[:200], time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--list-failures", action="store_true")
    parser.add_argument("--verbose", action="store_true")
    parser.add_argument("--simulator", default="brainscales2", choices=["brainscales2", "nest"],
                        help="the backend to run them on (nest: the reference, if installed)")
    args = parser.parse_args()
    results = run_all(args.verbose, args.simulator)
    passed = sum(r[1] for r in results)
    for name, ok, reason, seconds in results:
        if args.list_failures and not ok:
            print(f"FAIL {name}: {reason}")
        elif not args.list_failures:
            print(f"{'pass' if ok else 'FAIL'} {seconds:6.2f}s {name} {reason}")
    print(f"{passed} of {len(results)} PyNN {PYNN_VERSION} system scenarios pass on "
          f"{args.simulator}")


if __name__ == "__main__":
    main()
