"""``xlr-bench leaderboard``: a static site of XLR results (see :mod:`xlr_bench.report.site`)."""

from __future__ import annotations

from pathlib import Path

import click

from xlr_bench.core.errors import XLRBenchError


@click.command("leaderboard")
@click.argument("results_dirs", nargs=-1, required=True,
                type=click.Path(path_type=Path, exists=True, file_okay=False))
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path),
              help="Folder to write the site into (must not exist, unless --overwrite).")
@click.option("--overwrite", is_flag=True, help="Replace an earlier site in --out.")
def leaderboard_cmd(results_dirs: tuple[Path, ...], out_dir: Path, overwrite: bool) -> None:
    """Build a self-contained static leaderboard site from RESULTS_DIR(s).

    Each RESULTS_DIR is an mteb results tree (<org__model>/<revision>/...), e.g. the project's
    results/ or the results/ folder of a checkout of the MTEB results repository; several are merged
    (the first wins where two hold the same run). Open SITE/index.html in a browser, or serve the
    folder from any static host.
    """
    from xlr_bench.report.site import build_site

    site = build_site(results_dirs, out_dir, overwrite=overwrite)
    for problem in site.problems:
        click.echo(f"warning: not used: {problem}", err=True)
    index = out_dir / "index.html"
    if site.empty:
        raise XLRBenchError(f"No results of XLR tasks in {', '.join(map(str, results_dirs))} (expected "
                            f"<org__model>/<revision>/model_meta.json beside <Task>.json files); {index} says so.")
    models = len({row.model.name for row in site.rows})
    click.echo(f"{index}: {len(site.rows)} runs of {models} models, {len(site.columns)} score columns"
               + (f", {len(site.problems)} file(s) not used (listed on the page)" if site.problems else ""))
