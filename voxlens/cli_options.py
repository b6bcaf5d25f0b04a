"""What every command module shares: the ``--db`` option, opening the store, help epilogs.

The command modules (:mod:`voxlens.cli`, :mod:`voxlens.cli_collect`, ...) import this module and never each
other, so the command line has no import cycle.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import click

from voxlens.core.errors import VoxlensError

if TYPE_CHECKING:
    from voxlens.core.store import Store

DEFAULT_DB = "voxlens.duckdb"


def examples(*lines: str) -> str:
    """An ``--help`` epilog listing example invocations, kept on their own lines."""
    return "\b\nExamples:\n" + "\n".join(f"  {line}" for line in lines)


def db_option(command: Callable[..., Any]) -> Callable[..., Any]:
    """The ``--db PATH`` option every command takes."""
    return click.option("--db", "db", default=DEFAULT_DB, show_default=True, type=click.Path(dir_okay=False),
                        help="The DuckDB store file.")(command)


def open_db(db: str, read_only: bool = False) -> "Store":
    """The store at ``db`` for a command, waiting as long as the root ``--wait`` option says."""
    from voxlens.core.store import Store

    if read_only and not Path(db).exists():
        raise VoxlensError(f"no store at {db}: import data first (voxlens import reviews FILE --db {db})")
    wait = click.get_current_context().find_root().params.get("wait") or 0.0
    return Store(db, read_only=read_only, wait=wait)


def parse_mapping(pairs: tuple[str, ...]) -> dict[str, str]:
    """``--map FIELD=COLUMN`` pairs as a dict."""
    mapping = {}
    for pair in pairs:
        if "=" not in pair:
            raise click.BadParameter(f"{pair!r}: use FIELD=COLUMN, e.g. --map text=Body", param_hint="--map")
        field, column = pair.split("=", 1)
        mapping[field.strip()] = column
    return mapping
