"""The ``xlr-bench`` command line (click).

The one place where failures become messages: every command runs inside :class:`_FriendlyGroup`,
which prints an :class:`~xlr_bench.core.errors.XLRBenchError` or a known input error (malformed JSON
or TOML, text that is not UTF-8, a record pydantic rejects, a file system error such as a full disk
or a path under a file) as one ``error: ...`` line on stderr with exit code 2. No traceback reaches
the user for a problem with their input; an unexpected exception (a bug) still shows one.
"""

from __future__ import annotations

import json
import sys
import tomllib
from pathlib import Path

import click

from xlr_bench.cli.options import data_dir_option
from xlr_bench.core.errors import XLRBenchError


def describe_error(exc: BaseException) -> str | None:
    """The one-line message for a failure caused by input or environment; None for anything else (a bug)."""
    import pydantic

    if isinstance(exc, XLRBenchError):
        return str(exc)
    if isinstance(exc, json.JSONDecodeError):
        return f"malformed JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}."
    if isinstance(exc, tomllib.TOMLDecodeError):
        return f"malformed TOML: {exc}."
    if isinstance(exc, UnicodeDecodeError):
        return (f"a file is not UTF-8 text ({exc.reason} at byte {exc.start}, {exc.object[exc.start:exc.start + 4]!r}); "
                "save it as UTF-8.")
    if isinstance(exc, pydantic.ValidationError):
        first = exc.errors()[0]
        where = ".".join(map(str, first.get("loc", ()))) or "record"
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        return f"invalid {exc.title}: field {where!r}: {first.get('msg')}{more}."
    if isinstance(exc, OSError):
        paths = " -> ".join(str(p) for p in (exc.filename, exc.filename2) if p)
        return f"{exc.strerror or exc}" + (f": {paths}" if paths else "") + "."
    return None


class _FriendlyGroup(click.Group):
    """Runs every command; input errors become ``error: <one line>`` on stderr and exit code 2."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            click.echo("interrupted; run the same command again to continue where it stopped.", err=True)
            ctx.exit(130)
        except click.UsageError as exc:  # a bad option value: click's message, on one line like the rest
            hint = f" (see {exc.ctx.command_path} --help)" if exc.ctx else ""
            click.echo(f"error: {exc.format_message()}{hint}", err=True)
            ctx.exit(2)
        except Exception as exc:
            message = describe_error(exc)
            if message is None:
                raise
            click.echo(f"error: {message}", err=True)
            ctx.exit(2)


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
def data_check(dataset: str | None) -> None:
    """Verify every registered file that is present; exit 1 if any is missing or corrupt."""
    from xlr_bench.data.files import check, search_roots

    report = check(None, dataset)
    bad = [r for r in report if r.status != "ok"]
    for r in report:
        if r.status != "ok":
            click.echo(f"{r.status:8} {r.entry.path}" + (f"  ({r.path})" if r.path else ""))
    click.echo(f"{len(report) - len(bad)}/{len(report)} files ok; searched: {', '.join(map(str, search_roots()))}")
    if bad:
        sys.exit(1)


@main.command("mteb", context_settings={"ignore_unknown_options": True, "allow_extra_args": True,
                                        "help_option_names": []})
@click.argument("mteb_args", nargs=-1, type=click.UNPROCESSED)
def mteb_cli(mteb_args: tuple[str, ...]) -> None:
    """Run mteb's own CLI with xlr-bench's tasks registered (every `mteb` flag passes through).

    Example: xlr-bench mteb run -t XQuADRRetrieval -m MODEL --output-folder results

    `run --output-folder DIR` writes where `xlr-bench evaluate -o DIR` does: DIR is the results root
    (DIR/<org__model>/<revision>/), written atomically, so the two merge.
    """
    import mteb.cli.build_cli as mteb_build_cli

    if mteb_args[:1] == ("run",):
        from xlr_bench.core.mteb_adapter import use_cli_result_cache
        from xlr_bench.results.cache import result_cache_for

        use_cli_result_cache(result_cache_for)
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
