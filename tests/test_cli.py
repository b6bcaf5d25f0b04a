"""The command line as a user meets it: help with examples, clear errors, meaningful exit codes."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from tests.report_store import build_small_store
from voxlens.cli import load_commands, main

load_commands()


def _commands(group: click.Group, prefix: tuple[str, ...] = ()):
    for name, command in group.commands.items():
        yield prefix + (name,)
        if isinstance(command, click.Group):
            yield from _commands(command, prefix + (name,))


@pytest.mark.parametrize("path", [()] + list(_commands(main)), ids=lambda p: " ".join(p) or "voxlens")
def test_every_command_has_help_with_an_example(path):
    result = CliRunner().invoke(main, [*path, "--help"])
    assert result.exit_code == 0
    assert "Example" in result.output and "voxlens " in result.output.split("Example", 1)[1]


@pytest.fixture(scope="module")
def small_db(tmp_path_factory):
    return str(build_small_store(tmp_path_factory.mktemp("cli") / "small.duckdb"))


def test_report_with_filters_writes_the_file_and_says_where(small_db, tmp_path):
    out = tmp_path / "issues.md"
    result = CliRunner().invoke(main, ["report", "--db", small_db, "--out", str(out), "--since", "2026-09-01",
                                       "--source", "appstore", "--source", "survey"])
    assert result.exit_code == 0, result.output
    assert str(out) in result.output
    assert "Filter: from 2026-09-01 · sources appstore, survey." in out.read_text()


def test_csv_report_lists_every_file_it_wrote(small_db, tmp_path):
    result = CliRunner().invoke(main, ["report", "--db", small_db, "--out", str(tmp_path / "x.csv")])
    assert result.exit_code == 0
    assert [line.strip().split("/")[-1] for line in result.output.splitlines()] == [
        "x.csv", "x-topics.csv", "x-metrics.csv", "x-drivers.csv"]


@pytest.mark.parametrize("args, message", [
    (["report", "--out", "r.html", "--source", "zendesk"], "no source named zendesk"),
    (["report", "--out", "r.html", "--until", "30/09/2026"], "use YYYY-MM-DD"),
    (["report", "--out", "r.pdf"], "add --format html|md|csv|json"),
    (["report"], "Missing option '--out'"),
])
def test_bad_report_options_exit_2_and_say_what_to_do(small_db, tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, args + ["--db", small_db])
    assert result.exit_code == 2
    assert message in result.output


def test_input_errors_exit_2_with_one_line_saying_what_to_do(tmp_path):
    runner = CliRunner()
    db = str(tmp_path / "store.duckdb")
    missing = runner.invoke(main, ["import", "reviews", str(tmp_path / "nope.csv"), "--db", db])
    assert missing.exit_code == 2 and "no such file" in missing.output
    (tmp_path / "wrong.csv").write_text("foo,bar\n1,2\n")
    no_text = runner.invoke(main, ["import", "reviews", str(tmp_path / "wrong.csv"), "--db", db])
    assert no_text.exit_code == 2 and "--map text=COLUMN" in no_text.output
    for command in (["report", "--out", str(tmp_path / "r.html")], ["issues"], ["analyze"]):
        empty = runner.invoke(main, [*command, "--db", db])
        assert empty.exit_code == 2 and "import some first" in empty.output, command
        assert "Traceback" not in empty.output


def test_an_unexpected_error_exits_1_and_says_how_to_see_the_traceback(small_db, tmp_path, monkeypatch):
    import voxlens.report

    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(voxlens.report, "write_report", broken)
    monkeypatch.delenv("VOXLENS_DEBUG", raising=False)
    result = CliRunner().invoke(main, ["report", "--db", small_db, "--out", str(tmp_path / "r.html")])
    assert result.exit_code == 1
    assert "unexpected error (RuntimeError): disk on fire" in result.output and "VOXLENS_DEBUG=1" in result.output


def test_writing_where_it_cannot_exits_2(small_db, tmp_path):
    (tmp_path / "taken").write_text("a file, not a folder")
    result = CliRunner().invoke(main, ["report", "--db", small_db, "--out", str(tmp_path / "taken" / "r.html")])
    assert result.exit_code == 2 and "error: cannot use" in result.output


@pytest.mark.slow
def test_analyze_shows_its_own_progress_bars_not_the_model_loaders(tmp_path):
    import os
    import subprocess
    import sys

    (tmp_path / "reviews.csv").write_text("id,text,date\n" + "".join(
        f"{i},Courier came late again {i},2026-05-04\n" for i in range(12)), encoding="utf-8")
    env = {**os.environ, "VOXLENS_CACHE_DIR": str(tmp_path / "cache")}     # a fresh cache: the encoder is loaded
    env.pop("HF_HUB_DISABLE_PROGRESS_BARS", None)
    voxlens = [sys.executable, "-m", "voxlens"]
    subprocess.run(voxlens + ["import", "reviews", "reviews.csv"], cwd=tmp_path, env=env, check=True,
                   capture_output=True)

    analyzed = subprocess.run(voxlens + ["analyze"], cwd=tmp_path, env=env, capture_output=True, text=True)

    assert analyzed.returncode == 0, analyzed.stderr
    assert "language:" in analyzed.stderr
    assert "Loading weights" not in analyzed.stderr
