"""Where the α sweep's jobs run: parallel processes on this machine, or Slurm — through submitit.

A job is one (α, seed) — train the checkpoint, then score it — or the untrained base model's
scoring (:func:`xlr_bench.training.sweep.run_job`). submitit pickles the call, starts it (a local
process, or an ``sbatch`` job on Slurm), keeps its stdout/stderr and hands back its result or its
error. What this module adds is the dispatcher around it:

* at most ``max_parallel`` jobs in flight; each local job gets ``cpus // max_parallel`` torch threads,
  so parallel jobs share the cores instead of fighting over them, and on a machine with GPUs one GPU
  (``CUDA_VISIBLE_DEVICES``): one job per GPU by default, ``ceil(max_parallel / GPUs)`` per GPU when
  ``--max-parallel`` asks for more jobs than there are GPUs (a small model leaves a large GPU mostly idle);
* the sweep folder stays the single source of truth: a job writes only what the serial sweep writes
  (the checkpoint folder, the results folder), and ``status.json`` — written by this dispatcher
  alone — lists every job with its state, job id and log paths. A rerun of the same command skips
  the jobs marked done and re-runs the others (failed, killed, never started), which resume from
  their last trainer checkpoint;
* a job that fails does not stop the grid: the others run to the end, then the sweep stops with one
  message naming each failed job and its log.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from xlr_bench.core.atomic import write_json
from xlr_bench.core.errors import XLRBenchError
from xlr_bench.training.devices import GpuPool

EXECUTORS = ("serial", "local", "slurm")
STATUS_FILE = "status.json"
JOBS_DIR = "jobs"  # submitit's folder: pickled calls, results and logs, one subfolder per job id
# Slurm settings this project names itself; anything else sbatch knows goes through ``extra``.
SLURM_FIELDS = {"partition": str, "gpus_per_job": int, "time": int, "cpus_per_job": int, "mem": str,
                "account": str, "qos": str, "constraint": str}


@dataclass
class ExecutorOptions:
    """How the sweep's jobs are run; ``serial`` is the sweep's own loop in this process."""

    kind: str = "serial"
    max_parallel: int | None = None  # local: default the GPU count, else 2 (or the CPU count if lower); Slurm: no limit
    slurm: dict[str, Any] = field(default_factory=dict)  # SLURM_FIELDS, plus "extra": {sbatch option: value}

    def check(self) -> None:
        if self.kind not in EXECUTORS:
            raise XLRBenchError(f"Unknown executor {self.kind!r}; use one of {', '.join(EXECUTORS)}.")
        if self.slurm and self.kind != "slurm":
            raise XLRBenchError(f"Slurm options ({', '.join(sorted(self.slurm))}) apply to --executor slurm only, "
                                f"not to --executor {self.kind}.")
        if self.max_parallel is not None and self.max_parallel < 1:
            raise XLRBenchError(f"--max-parallel must be at least 1, got {self.max_parallel}.")
        if int(self.slurm.get("gpus_per_job") or 1) > 1:
            raise XLRBenchError("--slurm-gpus-per-job: a sweep job trains in one process on one GPU, so more would sit "
                                "idle; for several GPUs per run, launch xlr-bench train under torchrun instead.")
        unknown = sorted(set(self.slurm) - set(SLURM_FIELDS) - {"extra"})
        if unknown:
            raise XLRBenchError(f"Unknown Slurm option(s) {', '.join(unknown)}; known: {', '.join(SLURM_FIELDS)}, "
                                "and [slurm.extra] for any other sbatch option.")
        if self.kind != "serial":
            _submitit()
        if self.kind == "slurm" and shutil.which("sbatch") is None:
            raise XLRBenchError("--executor slurm needs a Slurm cluster: sbatch is not on this machine's PATH "
                                "(run the sweep from a Slurm login node).")


def load_executor_config(path: Path) -> dict[str, Any]:
    """An executor configuration file (TOML): ``max_parallel`` and a ``[slurm]`` table."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise XLRBenchError(f"Executor configuration {path} does not exist.") from exc
    except tomllib.TOMLDecodeError as exc:
        raise XLRBenchError(f"Executor configuration {path} is not valid TOML: {exc}.") from exc
    unknown = sorted(set(raw) - {"executor", "max_parallel", "slurm"})
    if unknown:
        raise XLRBenchError(f"{path}: unknown key(s) {', '.join(unknown)} (expected executor, max_parallel, [slurm]).")
    for name, value in raw.get("slurm", {}).items():
        wanted = SLURM_FIELDS.get(name, dict if name == "extra" else None)
        if wanted is not None and not isinstance(value, wanted):
            raise XLRBenchError(f"{path}: slurm.{name} must be a {wanted.__name__}, got {value!r}.")
    return raw


def slurm_parameters(slurm: dict[str, Any], jobs: int) -> dict[str, Any]:
    """submitit ``SlurmExecutor.update_parameters`` keywords for the project's Slurm options."""
    names = {"partition": "partition", "gpus_per_job": "gpus_per_node", "time": "time",
             "cpus_per_job": "cpus_per_task", "mem": "mem", "account": "account", "qos": "qos",
             "constraint": "constraint"}
    params: dict[str, Any] = {names[k]: v for k, v in slurm.items() if k in names}
    params.setdefault("time", 24 * 60)  # minutes; submitit's default (5) would kill any real training
    params.update(job_name="xlr-bench-sweep", ntasks_per_node=1, nodes=1, array_parallelism=jobs)
    if slurm.get("extra"):
        params["additional_parameters"] = dict(slurm["extra"])
    return params


def _submitit() -> Any:
    try:
        import submitit
    except ImportError as exc:
        raise XLRBenchError("--executor local and --executor slurm run jobs through submitit, which is not installed: "
                            "pip install 'xlr-bench[cluster]' (or pip install submitit).") from exc
    return submitit


@dataclass(frozen=True)
class JobSpec:
    """One job of the sweep: its name in ``status.json`` and the arguments of the job function."""

    name: str
    args: tuple


def _make_executor(options: ExecutorOptions, folder: Path, jobs: int) -> tuple[Any, int, int | None]:
    """(submitit executor, jobs in flight at most, torch threads per job or None)."""
    submitit = _submitit()
    if options.kind == "local":
        gpus = _gpu_count()
        limit = options.max_parallel or (gpus or min(2, os.cpu_count() or 1))
        executor = submitit.LocalExecutor(folder=str(folder / "%j"))
        executor.update_parameters(timeout_min=7 * 24 * 60)  # submitit's local default (2 min) would kill training
        return executor, limit, max(1, (os.cpu_count() or 1) // limit)
    try:
        executor = submitit.SlurmExecutor(folder=str(folder / "%j"))
    except RuntimeError as exc:  # submitit checks for srun
        raise XLRBenchError(f"--executor slurm needs a Slurm cluster: {exc}") from exc
    try:
        executor.update_parameters(**slurm_parameters(options.slurm, jobs))
    except ValueError as exc:
        raise XLRBenchError(f"Slurm options refused by submitit: {exc}") from exc
    return executor, options.max_parallel or jobs, None


def _gpu_count() -> int:
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def _still_running_elsewhere(entry: dict[str, Any], kind: str, folder: Path) -> Any:
    """For a job an earlier dispatcher left running: its live submitit job (Slurm), or a refusal (local)."""
    if entry.get("state") != "running" or not entry.get("job_id"):
        return None
    if kind == "slurm":
        submitit = _submitit()
        job = submitit.SlurmJob(folder=str(folder / "%j"), job_id=entry["job_id"])
        return job if job.state in ("PENDING", "RUNNING", "REQUEUED", "CONFIGURING", "COMPLETING") else None
    pid = int(entry["job_id"])
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    if b"submitit" in cmdline:
        raise XLRBenchError(f"Job {entry['name']} of an earlier run of this sweep is still running (pid {pid}). "
                            "Wait for it or stop it, then run the same command again.")
    return None


def _last_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[-1] if lines else type(exc).__name__


def dispatch(job: Callable[..., Any], specs: Sequence[JobSpec], options: ExecutorOptions, sweep_dir: Path,
             poll_seconds: float = 1.0, progress: Callable[[str], None] | None = None) -> None:
    """Run every job not already done, at most ``max_parallel`` at once; raise naming the failed ones."""
    folder = sweep_dir / JOBS_DIR
    status_path = sweep_dir / STATUS_FILE
    status: dict[str, dict[str, Any]] = json.loads(status_path.read_text()) if status_path.is_file() else {}
    todo = [s for s in specs if status.get(s.name, {}).get("state") != "done"]
    if not todo:
        return
    executor, limit, threads = _make_executor(options, folder, len(todo))
    gpu_count = _gpu_count() if options.kind == "local" else 0
    gpus = GpuPool(gpu_count, per_gpu=-(-limit // gpu_count) if gpu_count else 1)
    in_flight: dict[str, Any] = {}
    for spec in list(todo):
        running = _still_running_elsewhere({"name": spec.name, **status.get(spec.name, {})}, options.kind, folder)
        if running is not None:  # Slurm: wait for the job an earlier dispatcher submitted
            in_flight[spec.name] = running
            todo.remove(spec)

    def save() -> None:
        write_json(status_path, status)

    def record(name: str, submitted: Any, state: str, error: str | None = None) -> None:
        status[name] = {"state": state, "executor": options.kind, "job_id": str(submitted.job_id),
                        "stdout": str(submitted.paths.stdout), "stderr": str(submitted.paths.stderr),
                        "attempts": status.get(name, {}).get("attempts", 0) + (state == "running")}
        if error:
            status[name]["error"] = error
        save()

    try:
        while todo or in_flight:
            while todo and len(in_flight) < limit:
                spec = todo.pop(0)
                gpu = gpus.take(spec.name)
                if gpu is not None:  # a local job sees one GPU of its own as cuda:0
                    executor.update_parameters(gpus_per_node=1, visible_gpus=(gpu,))
                submitted = executor.submit(job, *spec.args, threads)
                in_flight[spec.name] = submitted
                record(spec.name, submitted, "running")
                if progress:
                    progress(f"{spec.name}: started (job {submitted.job_id}, log {submitted.paths.stderr})")
            time.sleep(poll_seconds)
            for name, submitted in list(in_flight.items()):
                if not submitted.done():
                    continue
                del in_flight[name]
                gpus.give_back(name)
                try:
                    submitted.result()
                except Exception as exc:  # the job's own error, or submitit's word that it was killed
                    record(name, submitted, "failed", _last_line(exc))
                else:
                    record(name, submitted, "done")
                if progress:
                    progress(f"{name}: {status[name]['state']}")
    except BaseException:
        if options.kind == "local":  # local jobs outlive this process unless stopped
            for name, submitted in in_flight.items():
                submitted.cancel(check=False)
                record(name, submitted, "interrupted")
        raise
    failed = [name for name in (s.name for s in specs) if status.get(name, {}).get("state") != "done"]
    if failed:
        details = "; ".join(f"{n} ({status[n].get('error', status[n]['state'])}; log {status[n]['stderr']})" for n in failed)
        raise XLRBenchError(f"{len(failed)} of {len(specs)} sweep jobs did not finish: {details}. The other jobs "
                            f"finished; run the same command again to re-run these (status: {status_path}).")
