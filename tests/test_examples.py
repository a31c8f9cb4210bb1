"""The examples run and save their figures (smoke test; their physics is
tested elsewhere)."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.mark.parametrize("command, figure", [
    (["engine_demo.py"], "engine_demo.png"),
    (["bss2_psp.py"], "bss2_psp.png"),
    (["-m", "pynn_brainscales.run", "pynn_synfire_chain.py", "brainscales2"],
     "pynn_synfire_chain_brainscales2.png"),
    (["-m", "pynn_brainscales.run", "pynn_stdp_window.py", "brainscales2"],
     "pynn_stdp_window_brainscales2.png"),
    (["-m", "pynn_brainscales.run", "pynn_stdp_pattern.py", "brainscales2"],
     "pynn_stdp_pattern_brainscales2.png"),
    (["bss2_homeostasis.py"], "bss2_homeostasis.png"),
    (["bss2_reward_stdp.py"], "bss2_reward_stdp.png"),
])
def test_example_runs(command, figure, tmp_path):
    pytest.importorskip("matplotlib")
    args = [str(EXAMPLES / c) if c.endswith(".py") else c for c in command]
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache"), "MPLBACKEND": "Agg"}
    out = subprocess.run([sys.executable, *args], cwd=tmp_path, capture_output=True, text=True,
                         timeout=600, env=env)
    assert out.returncode == 0, out.stderr[-2000:]
    assert (tmp_path / figure).stat().st_size > 10_000


def test_native_example_modules(tmp_path, monkeypatch):
    """The native API's example modules, named as the real system's, run and
    give what their callers rely on (functions, return values, figures)."""
    pytest.importorskip("matplotlib")
    import runpy
    from pynn_brainscales.brainscales2.examples import (
        external_input, internal_projections, isi_calib, leak_over_threshold,
        static_recording_synapse)
    monkeypatch.chdir(tmp_path)
    assert leak_over_threshold.main(leak_over_threshold.cell_params) is None
    # another parameter set: a divided leak and a smaller capacitance
    assert leak_over_threshold.main({
        "threshold_v_threshold": 400, "leak_v_leak": 1022, "leak_i_bias": 420,
        "leak_enable_division": True, "reset_v_reset": 50, "reset_i_bias": 950,
        "reset_enable_multiplication": True, "threshold_enable": True,
        "membrane_capacitance_capacitance": 32, "refractory_period_refractory_time": 100}) is None
    output, inputs = external_input.main(external_input.cell_params)
    assert len(inputs) == len(external_input.VOLLEY_TIMES) and len(output) >= len(inputs)
    assert internal_projections.main() > 0
    isi, count = isi_calib.calibrate_isi(0.01)
    assert abs(isi - 0.01) <= 0.001 and 0 < count < isi_calib.COUNTER_MAX
    with pytest.raises(ValueError, match="target_isi: value 1.0 ms is out of range"):
        isi_calib.calibrate_isi(1.0)
    weights = static_recording_synapse.main()
    # one record, 5 ms into the run (FPGA cycles, 125 per us), the weight 63
    assert len(weights) == 1 and 4 * 125_000 <= weights[0].time <= 6 * 125_000
    assert len(weights[0].data) == 1 and list(weights[0].data[0]) == [63]
    runpy.run_module("pynn_brainscales.brainscales2.examples.single_neuron_demo")
    # a rule in Python on the emulated PPU (its sensor calibration cached here)
    from pynn_brainscales.brainscales2.examples import plasticity_rule
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    spikes = plasticity_rule.main(plasticity_rule.cell_params)
    assert len(spikes) == len(plasticity_rule.VOLLEY_TIMES)      # one spike per volley
    from pynn_brainscales.brainscales2.examples import calibhxneuron
    counts = [len(train) for train in calibhxneuron.main()]
    # the same input: the higher the calibrated rest, the more spikes
    assert counts[-1] > counts[0] and counts == sorted(counts)
    for figure in ("leak_over_threshold.png", "external_input.png", "internal_projections.png",
                   "isi_calib.png", "single_neuron_demo.png", "plasticity_rule.png",
                   "calibhxneuron.png"):
        assert (tmp_path / figure).stat().st_size > 10_000, figure
