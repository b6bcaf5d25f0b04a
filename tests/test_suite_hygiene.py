"""The test suite cleans up after itself: a run leaves no model cache behind in the temporary folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).parent


def caches(folder: Path) -> list[Path]:
    return list(folder.glob("voxlens-test-cache-*"))


def test_a_test_run_removes_the_model_cache_it_made(tmp_path: Path):
    env = {key: value for key, value in os.environ.items() if key != "VOXLENS_CACHE_DIR"}
    env["TMPDIR"] = str(tmp_path)
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--basetemp",
                          str(tmp_path / "basetemp"), "-k", "an_unknown_recipe_is_a_clear_error",
                          str(TESTS / "test_int8_recipe.py")],
                         cwd=TESTS.parent, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert caches(tmp_path) == []
    # the suite's set-up does make its cache there: imported alone (no session to end), it leaves one
    subprocess.run([sys.executable, "-c", "import conftest"], cwd=TESTS, env=env, check=True, timeout=120)
    assert len(caches(tmp_path)) == 1
