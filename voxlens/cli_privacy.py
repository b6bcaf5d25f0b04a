"""``voxlens forget``: erase a person's data from every table of the store (right to erasure)."""

from __future__ import annotations

import click


@click.command("forget", epilog="Example: voxlens forget --author anna.k --db feedback.duckdb")
@click.option("--author", "authors", multiple=True, required=True, metavar="NAME",
              help="The author name or customer id as it appears in the imported data (repeatable).")
@click.option("--db", "db", default="voxlens.duckdb", show_default=True, type=click.Path(dir_okay=False),
              help="The DuckDB store file.")
def forget_command(authors: tuple[str, ...], db: str) -> None:
    """Delete a person's items, scores, topic assignments, survey responses and quarantined rows."""
    from voxlens.cli_options import open_db
    from voxlens.core.privacy import forget

    with open_db(db) as store:
        for author in authors:
            deleted = forget(store, author)
            parts = ", ".join(f"{table} {count}" for table, count in deleted.items())
            click.echo(f"forgot {author!r}: rows deleted: {parts}")
