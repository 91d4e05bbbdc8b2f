"""``xlr-bench evaluate``, ``models ...`` and ``results ...``: scoring models and checking results."""

from __future__ import annotations

from pathlib import Path

import click

from xlr_bench.cli.options import data_dir_option
from xlr_bench.core.errors import XLRBenchError


@click.command("evaluate")
@click.argument("model")
@click.option("--tasks", "-t", "task_names", required=True, help="Comma-separated task names, e.g. XQuADRRetrieval.")
@click.option("--subsets", default=None, help="Comma-separated subsets (e.g. de,en); default: all.")
@click.option("--output", "-o", type=click.Path(path_type=Path, file_okay=False), default=Path("results"),
              show_default=True, help="The results root: it holds <org__model>/<revision>/..., whatever its name.")
@click.option("--batch-size", type=click.IntRange(1), default=32, show_default=True)
@click.option("--precision", type=click.Choice(["fp32", "bf16", "fp16", "int8"]), default="fp32", show_default=True,
              help="Encoding precision (recorded in the results); see benchmarks/README.md for speed and agreement.")
@click.option("--backend", type=click.Choice(["torch", "openvino"]), default=None,
              help="Encoding backend (recorded in the results; default: the model definition's, else torch). "
                   "openvino runs on CPU and needs xlr-bench[openvino].")
@click.option("--device", default=None, help="cpu, cuda, ... (default: cuda if available).")
@click.option("--overwrite", is_flag=True,
              help="Recompute tasks already in --output (an old result is replaced only by a complete new one).")
@data_dir_option
def evaluate_cmd(model: str, task_names: str, subsets: str | None, output: Path, batch_size: int,
                 precision: str, backend: str | None, device: str | None, overwrite: bool) -> None:
    """Score MODEL (a definition name, checkpoint directory or hub id) and write mteb results."""
    from xlr_bench.models.encoder import XLREncoder
    from xlr_bench.evaluation import evaluate, select_tasks
    from xlr_bench.training.pairs import eval_overlap

    select_tasks(task_names.split(","), subsets.split(",") if subsets else None)  # fail fast on typos
    encoder = XLREncoder(model, device=device, precision=precision, backend=backend)
    overlap = eval_overlap(encoder.definition.training_data, task_names.split(","))
    if overlap:
        click.echo(f"warning: {encoder.definition.name} was trained on data that {', '.join(overlap)} is built "
                   "from: these scores are not zero-shot.", err=True)
    result = evaluate(encoder, task_names.split(","), output, subsets=subsets.split(",") if subsets else None,
                      batch_size=batch_size, overwrite=overwrite)
    meta = encoder.mteb_model_meta
    click.echo(f"results: {output / meta.model_name_as_path() / meta.revision}")
    for task_result in result.task_results:
        click.echo(f"  {task_result.task_name}: main score {task_result.get_score():.4f}")


@click.group()
def models() -> None:
    """Model definitions: the built-in ones, yours (~/.config/xlr-bench/models) and XLR_BENCH_MODELS."""


@models.command("list")
def models_list() -> None:
    """Every model definition with where its weights come from."""
    from xlr_bench.definitions.models import load_model_definitions

    for definition in sorted(load_model_definitions().values(), key=lambda d: d.name):
        where = ", ".join(f"{k}={v}" for k, v in definition.checkpoint.items())
        alpha = "-" if definition.alpha is None else f"{definition.alpha:.2f}"
        click.echo(f"{definition.name:40} alpha={alpha:5} base={definition.base_model or '-':36} {where}")


@models.command("add")
@click.argument("checkpoint", type=click.Path(path_type=Path, exists=True, file_okay=False))
@click.option("--folder", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Where to write the definition (default: your definitions folder, ~/.config/xlr-bench/models). "
                   "Another folder must be listed in XLR_BENCH_MODELS to be read.")
@click.option("--overwrite", is_flag=True, help="Replace an existing definition of the same name.")
def models_add(checkpoint: Path, folder: Path | None, overwrite: bool) -> None:
    """Add a definition for a trained CHECKPOINT (its training record gives α, seed, data).

    The definition records the weights' revision, so that `xlr-bench mteb run` (which reads the model
    registry, not the weights) writes results into the revision folder `evaluate` writes.
    """
    from dataclasses import replace

    from xlr_bench.core.paths import user_definitions_dir
    from xlr_bench.models.encoder import definition_from_directory, weights_revision
    from xlr_bench.definitions.models import write_definition

    definition = definition_from_directory(checkpoint.resolve())
    try:
        revision = {"revision": weights_revision(checkpoint.resolve())}
    except XLRBenchError:  # no weight files: nothing to record (loading it names the problem)
        revision = {}
    definition = replace(definition, checkpoint={**definition.checkpoint, **revision})
    path = write_definition(definition, folder or user_definitions_dir("models"), overwrite=overwrite)
    click.echo(f"wrote {path} ({definition.name})")


@click.group()
def results() -> None:
    """Leaderboard-format result folders."""


@results.command("validate")
@click.argument("folder", type=click.Path(path_type=Path))
def results_validate(folder: Path) -> None:
    """Check FOLDER (a results root) by the MTEB results repository's rules; exit 1 on any problem."""
    from xlr_bench.results.validate import validate_results

    found = validate_results(folder)
    _print_validation(found)
    if found.problems:
        raise SystemExit(1)


def _print_validation(found) -> None:
    for problem in found.problems:
        click.echo(f"{problem.path}: [{problem.rule}] {problem.message}")
    click.echo(f"{found.checked} task result files checked, {len(found.problems)} problem(s)")
    if found.upstream_models or found.upstream_tasks:
        click.echo("upstream step: the results repository's stock CI (mteb without xlr_bench) needs these inside "
                   "mteb itself:")
        if found.upstream_models:
            click.echo(f"  models: {', '.join(found.upstream_models)}")
        if found.upstream_tasks:
            click.echo(f"  tasks: {', '.join(found.upstream_tasks)}")


@results.command("submit")
@click.argument("model")
@click.option("--results", "results_dir", type=click.Path(path_type=Path, exists=True, file_okay=False),
              default=Path("results"), show_default=True, help="The results root holding the model's results.")
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), required=True,
              help="New folder for the submission (refused if it exists and is not empty).")
@click.option("--training-code-url", default=None,
              help="Public URL of the training code, written as public_training_code (trained checkpoints).")
def results_submit(model: str, results_dir: Path, out: Path, training_code_url: str | None) -> None:
    """Turn MODEL's results into a pull request for the MTEB results repository.

    Writes OUT/results/<org__model>/... (the repository's layout, checked by its rules first) and
    OUT/mteb_model_meta.py (the ModelMeta that mteb's model registry needs), plus OUT/README.md.
    """
    from xlr_bench.results.submit import build_submission

    submission = build_submission(model, results_dir, out, training_code_url=training_code_url)
    _print_validation(submission.validation)
    if submission.validation.problems:
        click.echo(f"nothing written: fix the problems above in {results_dir} first", err=True)
        raise SystemExit(1)
    click.echo(f"submission: {out} ({submission.files} files; next steps in {out / 'README.md'})")
