"""PyNN 0.13.0's own system scenarios against pynn_brainscales (ideal chip).

PyNN 0.13.0 has 66 scenario functions; NEST 3.10 passes 65 of them through this
runner (scenario5 needs morphio).  What cannot exist on BrainScaleS-2 fails by
design: alpha-shaped synapses (7 scenarios, composed neurons included) and
Hodgkin-Huxley channels (2, the multicompartment scenario5 included), STDP that
expects all-to-all pairing (scenario3) and short-term plasticity per (source,
delay) with distance-dependent delays (scenario4: far more synapse drivers than a
hemisphere has).  The README's compatibility table lists every failure with its
reason.
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
