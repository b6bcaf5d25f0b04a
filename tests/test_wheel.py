"""The wheel installs one top-level package, voxlens, and the public names import from a fresh environment
installed from it (not from this checkout)."""

from __future__ import annotations

import os
import site
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PUBLIC_IMPORTS = """
from voxlens.sentiment import Encoder, SentimentModel
from voxlens.sentiment.topics import TopicModel
from voxlens.metrics import nps, csat, ces
from voxlens.collectors import import_reviews, import_survey
from voxlens.core.store import Store
from voxlens.pipeline import Pipeline
from voxlens.report import write_report
import importlib.util, voxlens, voxlens.models
from pathlib import Path
assert Path(voxlens.__file__).is_relative_to(Path(__import__("sys").prefix)), voxlens.__file__
assert (Path(voxlens.models.__file__).parent / "previous" / "sentiment_head_v3" / "card.json").is_file()
for bare in ("sentiment", "collectors", "metrics", "models"):
    assert importlib.util.find_spec(bare) is None, f"{bare} is importable on its own"
print(round(nps([10, 9, 8, 6, 0]).value, 1), csat([5, 4, 3, 1]).value)
"""


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet",
                    "-w", str(out), str(ROOT)], check=True, cwd=out)
    (built,) = out.glob("voxlens-*.whl")
    return built


def test_the_wheel_holds_one_top_level_package(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    top = {name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")}

    assert top == {"voxlens"}
    previous = {name.split("/")[3] for name in names if name.startswith("voxlens/models/previous/") and name.count("/") > 3}
    assert previous == {"sentiment_head_v3"}          # v1 and v2 are evaluation-only; v3 is the fallback default
    shipped = ["voxlens/sentiment/topics.py", "voxlens/metrics/emerging.py", "voxlens/collectors/reddit.py",
               "voxlens/core/store.py", "voxlens/models/previous/sentiment_head_v3/head.npz",
               "voxlens/sample/data/reviews.csv", "voxlens/sentiment/branch_runtime.py"]
    shipped += [f"voxlens/models/sentiment_branch/{p.name}" for p in (ROOT / "models" / "sentiment_branch").glob("*")]
    for module in shipped:
        assert module in names


@pytest.mark.slow
def test_public_names_import_from_a_fresh_environment_installed_from_the_wheel(wheel, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    fresh_site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                                capture_output=True, text=True, check=True).stdout.strip()
    # the dependencies come from this environment's site-packages, read as plain folders: their .pth files
    # (this checkout's editable install among them) are not run
    Path(fresh_site, "dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index",
                    "--quiet", str(wheel)], check=True)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}

    result = subprocess.run([python, "-c", PUBLIC_IMPORTS], capture_output=True, text=True, cwd=tmp_path, env=env)
    command = subprocess.run([venv / "bin" / "voxlens", "--help"], capture_output=True, text=True, cwd=tmp_path,
                             env=env)

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["0.0", "50.0"]
    assert command.returncode == 0 and "analyze" in command.stdout
