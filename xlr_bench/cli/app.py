"""The ``xlr-bench`` command line (click).

Every :class:`~xlr_bench.core.errors.XLRBenchError` is printed as one message with exit code 2; no
traceback reaches the user for a problem with their input.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from xlr_bench.core.errors import XLRBenchError


class _FriendlyGroup(click.Group):
    """Turns XLRBenchError into ``error: ...`` and exit code 2."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except XLRBenchError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(2)


def _set_data_dir(data_dir: Path | None) -> None:
    # The data layer reads XLR_BENCH_DATA; --data-dir outranks it for this process.
    if data_dir is not None:
        os.environ["XLR_BENCH_DATA"] = str(data_dir)


data_dir_option = click.option(
    "--data-dir", type=click.Path(path_type=Path, file_okay=False), default=None,
    help="Folder holding the data files (overrides XLR_BENCH_DATA; default: the user cache).",
)


@click.group(cls=_FriendlyGroup)
@click.version_option(package_name="xlr-bench")
def main() -> None:
    """Cross-lingual and low-resource retrieval on MTEB: tasks, models, hybrid-batch training."""


@main.group()
def data() -> None:
    """Fetch and verify the pinned upstream data files."""


@data.command("fetch")
@click.argument("datasets", nargs=-1, required=True)
@click.option("--dest", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Where to write (default: the user cache).")
@click.option("--force", is_flag=True, help="Download again even if a verified copy exists.")
def data_fetch(datasets: tuple[str, ...], dest: Path | None, force: bool) -> None:
    """Download DATASETS (xquad-r, mlqa-r, afriqa; 42 MB for all three) with sha256 verification."""
    from xlr_bench.data.files import fetch, files_of

    for dataset in datasets:  # every name known before anything is downloaded
        files_of(dataset)
    for dataset in datasets:
        paths = fetch(dataset, dest, force=force)
        click.echo(f"{len(paths)} files of {dataset} present and verified (first: {paths[0]})")


@data.command("check")
@data_dir_option
@click.option("--dataset", default=None, help="Check one dataset only.")
def data_check(data_dir: Path | None, dataset: str | None) -> None:
    """Verify every registered file that is present; exit 1 if any is missing or corrupt."""
    from xlr_bench.data.files import check, search_roots

    report = check(data_dir, dataset)
    bad = [r for r in report if r.status != "ok"]
    for r in report:
        if r.status != "ok":
            click.echo(f"{r.status:8} {r.entry.path}" + (f"  ({r.path})" if r.path else ""))
    click.echo(f"{len(report) - len(bad)}/{len(report)} files ok; searched: {', '.join(map(str, search_roots(data_dir)))}")
    if bad:
        sys.exit(1)


@main.command("mteb", context_settings={"ignore_unknown_options": True, "allow_extra_args": True,
                                        "help_option_names": []})
@click.argument("mteb_args", nargs=-1, type=click.UNPROCESSED)
def mteb_cli(mteb_args: tuple[str, ...]) -> None:
    """Run mteb's own CLI with xlr-bench's tasks registered (every `mteb` flag passes through).

    Example: xlr-bench mteb run -t XQuADRRetrieval -m MODEL --output-folder results
    """
    import mteb.cli.build_cli as mteb_build_cli

    sys.argv = ["mteb", *mteb_args]
    mteb_build_cli.main()


def _register_subcommands() -> None:
    # Command groups that live in their own modules (one responsibility each).
    from xlr_bench.cli.leaderboard import leaderboard_cmd
    from xlr_bench.cli.models import evaluate_cmd, models, results
    from xlr_bench.cli.tasks import tasks, translate_beir
    from xlr_bench.cli.sweep import report_cmd, sweep_cmd
    from xlr_bench.cli.train import train_cmd

    for command in (tasks, translate_beir, evaluate_cmd, models, results, train_cmd, sweep_cmd, report_cmd,
                    leaderboard_cmd):
        main.add_command(command)


_register_subcommands()


if __name__ == "__main__":
    main()
