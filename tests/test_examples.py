"""Every script in examples/ runs top to bottom (with its small-budget flag)."""

import os
import runpy
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).parent.parent / "examples").glob("*.py"))

# A script runs in this process, as ``python script.py --fast`` runs it (as
# __main__, with that sys.argv, in an empty working directory): TensorFlow is
# already imported here, a fresh process would spend seconds importing it
# again. These change process-wide state, so they run in a process of their own:
OWN_PROCESS = {
    "transfer_learning.py": "seeds the global RNGs (keras.utils.set_random_seed)",
    "dask_search.py": "opens a dask.distributed Client (this process's default)",
}


@pytest.mark.slow
@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.name)
def test_example_runs(script, tmp_path, request, monkeypatch, capsys):
    if script.name not in OWN_PROCESS:
        monkeypatch.chdir(tmp_path)
        monkeypatch.setattr(sys, "argv", [str(script), "--fast"])
        runpy.run_path(str(script), run_name="__main__")
        assert capsys.readouterr().out.strip(), "an example should show its results"
        return
    command = [sys.executable, str(script), "--fast"]
    if script.name == "dask_search.py":
        # on the session's cluster (its own would start two more processes)
        cluster = request.getfixturevalue("dask_cluster")
        command += ["--scheduler", cluster.scheduler_address]
    result = subprocess.run(
        command, cwd=tmp_path, capture_output=True,
        text=True, timeout=600, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip(), "an example should show its results"
