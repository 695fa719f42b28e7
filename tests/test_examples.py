"""Every script in examples/ runs top to bottom (with its small-budget flag)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).parent.parent / "examples").glob("*.py"))


@pytest.mark.slow
@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.name)
def test_example_runs(script, tmp_path, request):
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
