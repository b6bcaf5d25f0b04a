"""Every `voxlens ...` command shown in the README and the docs exists, with the options it is shown with."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import click
import pytest

from voxlens.cli import load_commands, main

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SHELL_BLOCKS = {"bash", "sh", "shell", "console"}
SHELL_BREAKS = {">", ">>", "|", "&&", ";", "2>&1", "<"}

load_commands()


def shown_commands(page: Path) -> list[tuple[int, list[str]]]:
    """``voxlens`` invocations in the page's shell code blocks, as argument lists (line number, args)."""
    found, in_block, shell = [], False, False
    for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), start=1):
        if line.lstrip().startswith("```"):
            in_block, shell = not in_block, line.strip().removeprefix("```") in SHELL_BLOCKS
            continue
        command = re.sub(r"^\s*(\$\s+)?(\S+=\S+\s+)*", "", line)     # a prompt, VAR=value prefixes
        if in_block and shell and command.startswith("voxlens "):
            words = shlex.split(command, comments=True)
            cut = next((i for i, word in enumerate(words) if word in SHELL_BREAKS), len(words))
            found.append((number, words[1:cut]))
    return found


CASES = [(page, number, args) for page in PAGES for number, args in shown_commands(page)]


def test_the_pages_show_commands():
    readme = [args for page, _, args in CASES if page.name == "README.md"]
    assert len(readme) >= 10 and {"import", "analyze", "issues", "report"} <= {a[0] for a in readme if a}


@pytest.mark.parametrize("page, number, args", CASES,
                         ids=[f"{page.name}:{number}" for page, number, _ in CASES])
def test_a_shown_command_exists_with_its_options(page, number, args):
    context = main.make_context("voxlens", list(args), resilient_parsing=True)
    command, rest = main, context.protected_args + context.args
    while isinstance(command, click.Group) and rest:
        name, *rest = rest
        assert name in command.commands, f"{page.name}:{number}: no command {name!r} in voxlens {' '.join(args)}"
        command = command.commands[name]
        if isinstance(command, click.Group):
            sub = command.make_context(name, list(rest), parent=context, resilient_parsing=True)
            rest = sub.protected_args + sub.args
    options = {name for param in command.params if isinstance(param, click.Option)
               for name in (*param.opts, *param.secondary_opts)} | {"--help"}
    shown = {word.split("=", 1)[0] for word in rest if word.startswith("-") and word != "-"}
    assert shown <= options, f"{page.name}:{number}: voxlens {' '.join(args)}: no option {sorted(shown - options)}"
