"""``xlr-bench sweep`` and ``xlr-bench report``: the α study from the command line."""

from __future__ import annotations

from pathlib import Path

import click

from xlr_bench.cli.options import data_dir_option
from xlr_bench.training.sweep import SweepConfig
from xlr_bench.training.config import TrainConfig

_S, _T = SweepConfig(), TrainConfig()

# The README's main job: the whole pipeline (convert, train per α, evaluate, report) in minutes on 2
# CPU cores, on real data: sentence-only XQuAD-R, a seen (de) and an unseen (th) language. Training in
# bf16 only where it pays (training/devices.py: bf16_training_pays; 1.9x faster on cores with bf16
# units, 5.7x slower on AVX2-only ones), so the main job holds on any machine; scoring with --backend auto.
QUICK = {
    "ratios": "0,0.5,1", "steps": 5, "batch_size": 16, "max_length": 128, "bf16_train": "auto",
    # one validation (and checkpoint) per run, at its last step, instead of two: each costs a quarter of
    # a 5-step run on 2 cores, and 5 steps leave no earlier checkpoint worth selecting
    "eval_steps": 5,
    "tasks": "XQuADRSentenceMonolingualRetrieval,XQuADRSentenceCrossLingualRetrieval",
    "subsets": "de-de,th-th,de-th,th-de", "eval_batch_size": 64,
    "sweep_dir": Path("runs/quick"), "results_dir": Path("runs/quick/results"),
    # a finished run is never resumed: its trainer checkpoint (here only the last step's: the model, 488 MB) goes
    "keep_checkpoints": False,
}


def _executor_options(f):
    """The options that say where the sweep's jobs run (see xlr_bench.training.executors)."""
    options = [
        click.option("--executor", type=click.Choice(["serial", "local", "slurm"]), default=None,
                     help="serial: in this process (default); local: parallel processes; slurm: one Slurm job per "
                          "(α, seed) — both through submitit."),
        click.option("--max-parallel", type=int, default=None, help="Jobs at once (local default: one per GPU, else 2; more than the GPUs share them; Slurm: all)."),
        click.option("--executor-config", type=click.Path(path_type=Path, dir_okay=False), default=None,
                     help="TOML file: executor, max_parallel, [slurm] partition, gpus_per_job, time, cpus_per_job, "
                          "mem, account, qos, constraint, [slurm.extra]. Options given here win."),
        click.option("--slurm-partition", default=None),
        click.option("--slurm-gpus-per-job", type=int, default=None),
        click.option("--slurm-time", type=int, default=None, help="Minutes per job (default 1440)."),
        click.option("--slurm-cpus-per-job", type=int, default=None),
        click.option("--slurm-mem", default=None, help="Memory per job, e.g. 32G."),
        click.option("--slurm-account", default=None),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def _executor_from_cli(values: dict):
    """ExecutorOptions from the command line over the --executor-config file."""
    from xlr_bench.training.executors import ExecutorOptions, load_executor_config

    config_file = values.get("executor_config")
    raw = load_executor_config(config_file) if config_file else {}
    slurm = dict(raw.get("slurm", {}))
    slurm.update({k.removeprefix("slurm_"): v for k, v in values.items() if k.startswith("slurm_") and v is not None})
    return ExecutorOptions(kind=values["executor"] or raw.get("executor", "serial"),
                           max_parallel=values["max_parallel"] or raw.get("max_parallel"), slurm=slurm)


def _numbers(text: str, kind: type, option: str) -> list:
    """``"0,0.5"`` -> ``[0.0, 0.5]`` (``kind`` float or int); anything else is a usage error naming the option."""
    try:
        values = [kind(x) for x in text.split(",") if x.strip()]
    except ValueError:
        values = []
    if not values:
        what = "whole numbers" if kind is int else "numbers"
        raise click.BadParameter(f"expected comma-separated {what}, got {text!r}.", param_hint=f"'{option}'")
    return values


@click.command("sweep")
@click.option("--base", default=_S.base, show_default=True)
@click.option("--ratios", default=",".join(map(str, _S.ratios)), show_default=True, help="α values, comma-separated.")
@click.option("--seeds", default="42", show_default=True, help="Seeds, comma-separated.")
@click.option("--replicate-ratios", default=None, help="Run seeds after the first only for these α (default: all).")
@click.option("--train-data", default=",".join(_T.train_data), show_default=True)
@click.option("--tasks", default=",".join(_S.tasks), show_default=True)
@click.option("--subsets", default=None, help="Evaluate only these subsets (e.g. de-de,de-en for a quick run).")
@click.option("--steps", type=int, default=_T.steps, show_default=True)
@click.option("--batch-size", type=int, default=_T.batch_size, show_default=True)
@click.option("--max-pairs", type=int, default=None)
@click.option("--max-length", type=int, default=_T.max_length, show_default=True)
@click.option("--lr", "learning_rate", type=float, default=_T.learning_rate, show_default=True)
@click.option("--scale", type=float, default=_T.scale, show_default=True,
              help="InfoNCE inverse temperature (multilingual-e5 was trained at 100, i.e. temperature 0.01).")
@click.option("--eval-batch-size", type=click.IntRange(1), default=_S.eval_batch_size, show_default=True)
@click.option("--precision", type=click.Choice(["fp32", "bf16", "fp16", "int8"]), default=None,
              help="Encoding precision of the evaluations (default: fp32, or what --backend auto picks).")
@click.option("--backend", type=click.Choice(["auto", "torch", "openvino"]), default="auto", show_default=True,
              help="Encoding backend of the evaluations. auto: the fastest that agrees with fp32 on whole tasks — "
                   "OpenVINO bf16 on CPU cores with bf16 units (AMX) where xlr-bench[openvino] is installed, else "
                   "torch fp32 (benchmarks/README.md). openvino: CPU only.")
@click.option("--bf16-train", is_flag=True, help="bf16 mixed precision for training (--quick: where it pays).")
@click.option("--eval-steps", type=click.IntRange(1), default=None,
              help="Validate and checkpoint every N steps (default: twice per run, the second at its end).")
@click.option("--tag", default="", help="Recipe label in the models' names (me5-small-hybrid-TAG-a050-s42), so that "
                                        "a sweep with another recipe never reuses the names of an earlier one.")
@click.option("--sweep-dir", type=click.Path(path_type=Path, file_okay=False), default=Path("runs/sweep"), show_default=True)
@click.option("--results", "results_dir", type=click.Path(path_type=Path, file_okay=False), default=Path("results"), show_default=True)
@click.option("--report", "report_dir", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Report folder (default: <sweep-dir>/report).")
@click.option("--allow-eval-overlap", is_flag=True, help="Allow training data that shares a source with an evaluation task.")
@click.option("--keep-checkpoints/--drop-checkpoints", default=True, show_default=True,
              help="Keep each finished run's resumable trainer checkpoints (model + optimizer state); the final "
                   "model is kept either way. --quick drops them.")
@click.option("--quick", is_flag=True, help="Minutes-long preset (the README's main job); explicit options still win.")
@_executor_options
@data_dir_option
def sweep_cmd(base: str, ratios: str, seeds: str, replicate_ratios: str | None, train_data: str, tasks: str,
              subsets: str | None, steps: int, batch_size: int, max_pairs: int | None, max_length: int,
              learning_rate: float, scale: float, eval_batch_size: int, precision: str, backend: str, bf16_train: bool,
              eval_steps: int | None, tag: str,
              sweep_dir: Path, results_dir: Path, report_dir: Path | None, allow_eval_overlap: bool,
              keep_checkpoints: bool, quick: bool, **executor: object) -> None:
    """Train one checkpoint per (α, seed), score them and the base model, and write the report."""
    from click.core import ParameterSource

    from xlr_bench.training.sweep import run_sweep, sweep_family

    executor_options = _executor_from_cli(executor)
    executor_options.check()
    if quick:
        context = click.get_current_context()
        chosen = {k: v for k, v in QUICK.items() if context.get_parameter_source(k) == ParameterSource.DEFAULT}
        ratios, steps, batch_size = chosen.get("ratios", ratios), chosen.get("steps", steps), chosen.get("batch_size", batch_size)
        max_length, bf16_train = chosen.get("max_length", max_length), chosen.get("bf16_train", bf16_train)
        tasks, subsets = chosen.get("tasks", tasks), chosen.get("subsets", subsets)
        eval_batch_size = chosen.get("eval_batch_size", eval_batch_size)
        sweep_dir, results_dir = chosen.get("sweep_dir", sweep_dir), chosen.get("results_dir", results_dir)
        keep_checkpoints = chosen.get("keep_checkpoints", keep_checkpoints)
        eval_steps = chosen.get("eval_steps", eval_steps)
        if bf16_train == "auto":
            from xlr_bench.training.devices import bf16_training_pays

            bf16_train, why = bf16_training_pays(jobs_elsewhere=executor_options.kind == "slurm")
            click.echo(f"training: {'bf16 autocast' if bf16_train else 'fp32'} (--quick: {why})")
    report_dir = report_dir or sweep_dir / "report"
    click.echo(f"report: {report_dir / 'report.md'} (written when the sweep ends; results in {results_dir})")
    if backend == "auto" and precision is None:
        from xlr_bench.models.encoder import auto_encoding

        backend, precision, why = auto_encoding(jobs_elsewhere=executor_options.kind == "slurm")
        click.echo(f"encoding: {backend} {precision} (--backend auto: {why})")
    backend, precision = ("torch" if backend == "auto" else backend), precision or "fp32"

    config = SweepConfig(
        base=base, ratios=_numbers(ratios, float, "--ratios"), seeds=_numbers(seeds, int, "--seeds"),
        replicate_ratios=_numbers(replicate_ratios, float, "--replicate-ratios") if replicate_ratios else None,
        tasks=tasks.split(","), subsets=subsets.split(",") if subsets else None,
        eval_batch_size=eval_batch_size, precision=precision, backend=backend,
        train=TrainConfig(base=base, train_data=train_data.split(","), steps=steps, batch_size=batch_size,
                          max_pairs=max_pairs, max_length=max_length, learning_rate=learning_rate, scale=scale, bf16=bf16_train,
                          eval_steps=eval_steps, tag=tag,
                          allow_eval_overlap=allow_eval_overlap),
    )
    report = run_sweep(config, sweep_dir, results_dir, report_dir, executor=executor_options,
                       keep_checkpoints=keep_checkpoints)
    _print_headline(results_dir, sweep_family(config, sweep_dir), config.precision)
    click.echo(f"report: {report}")


def _print_headline(results_dir: Path, family: str | None, precision: str | None) -> None:
    """The report's main numbers on the terminal, so a run ends with its result and not only a path."""
    from xlr_bench.report.study import headline

    click.echo("")
    for line in headline(results_dir, family, precision):
        click.echo(line)


@click.command("report")
@click.argument("results_dir", type=click.Path(path_type=Path, exists=True, file_okay=False))
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), required=True)
@click.option("--family", default=None, help="The hybrid family (name or recipe tag, e.g. 300steps) to report when "
                                             "RESULTS_DIR holds several; the base models are always included.")
@click.option("--precision", type=click.Choice(["fp32", "bf16", "fp16", "int8"]), default=None,
              help="Read only results encoded at this precision (default: all; a model scored at two counts twice).")
@click.option("--sweep-dir", type=click.Path(path_type=Path, exists=True, file_okay=False), default=None,
              help="A sweep folder (its sweep.json): put the sweep's \"About this run\" section first, as the sweep does.")
def report_cmd(results_dir: Path, out: Path, family: str | None, precision: str | None, sweep_dir: Path | None) -> None:
    """Build the Markdown report and plots from RESULTS_DIR alone."""
    from xlr_bench.core.paths import check_output_folder
    from xlr_bench.report.study import build_report
    from xlr_bench.training.sweep import sweep_about

    check_output_folder(out, "--out")
    about = sweep_about(sweep_dir) if sweep_dir is not None else None
    report = build_report(results_dir, out, family, precision, about=about)
    _print_headline(results_dir, family, precision)
    click.echo(f"report: {report}")
