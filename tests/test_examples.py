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
