"""Options shared by several commands, each defined once."""

from __future__ import annotations

import os
from pathlib import Path

import click


def _set_data_dir(ctx: click.Context, param: click.Parameter, data_dir: Path | None) -> None:
    # The data layer reads XLR_BENCH_DATA; --data-dir outranks it for this process. A folder that does
    # not exist must not fall back to XLR_BENCH_DATA and report success.
    if data_dir is not None:
        if not data_dir.is_dir():
            raise click.BadParameter(f"{data_dir} is not a folder.", ctx=ctx, param=param)
        os.environ["XLR_BENCH_DATA"] = str(data_dir)


data_dir_option = click.option(
    "--data-dir", type=click.Path(path_type=Path), default=None,
    callback=_set_data_dir, expose_value=False, is_eager=True,
    help="Folder holding the data files (overrides XLR_BENCH_DATA; default: the user cache).",
)
