"""The sweep's jobs through submitit: one α × 2 seeds on the local executor (parallel processes, one
killed), against the serial sweep; and the Slurm options as submitit writes them into sbatch."""

from __future__ import annotations

import json
import signal
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest

from xlr_bench.cli.sweep import _executor_from_cli
from xlr_bench.core.errors import XLRBenchError
from xlr_bench.training.executors import ExecutorOptions, slurm_parameters
from xlr_bench.training.sweep import SweepConfig, run_sweep
from xlr_bench.training.trainer import TrainConfig


def _config(base: Path, pairs: Path) -> SweepConfig:
    return SweepConfig(
        base=str(base), ratios=[1.0], seeds=[1, 2], tasks=["XQuADRSentenceMonolingualRetrieval"],
        subsets=["de-de"], eval_batch_size=64,
        train=TrainConfig(base=str(base), train_data=[str(pairs)], steps=2, batch_size=8, eval_steps=2, save_steps=2,
                          learning_rate=1e-3),
    )


def _results(folder: Path) -> dict[str, object]:
    """Every result file by path (the revision folder is a hash of the weights), with its scores."""
    return {str(p.relative_to(folder)): json.loads(p.read_text()).get("scores") for p in sorted(folder.rglob("*.json"))}


def _kill_while_training(sweep: Path, name: str, timeout: float = 900) -> None:
    """SIGKILL the job ``name`` (its submitit controller and the task under it) once it has begun to
    train — its run folder holds the training configuration — as a node failure would."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = sweep / "status.json"
        entry = json.loads(status.read_text()).get(name, {}) if status.is_file() else {}
        if entry.get("state") == "running" and (sweep / name / "xlr_bench_train_config.json").is_file():
            controller = psutil.Process(int(entry["job_id"]))
            for process in [*controller.children(recursive=True), controller]:
                process.send_signal(signal.SIGKILL)
            return
        time.sleep(0.05)
    raise AssertionError(f"{name} never began to train")


def test_local_executor_runs_the_grid_in_parallel_like_the_serial_sweep(tiny_model_dir, small_pairs_file, tmp_path):
    import torch

    config = _config(tiny_model_dir, small_pairs_file)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as each of the two parallel jobs: the revision hashes the weights bit for bit
    try:
        run_sweep(config, tmp_path / "serial" / "sweep", tmp_path / "serial" / "results")
    finally:
        torch.set_num_threads(threads)

    sweep, results = tmp_path / "parallel" / "sweep", tmp_path / "parallel" / "results"
    local = ExecutorOptions("local", max_parallel=2)
    outcome: list[BaseException] = []

    def first_attempt() -> None:
        try:
            run_sweep(config, sweep, results, executor=local)
        except BaseException as exc:  # noqa: BLE001 (handed to the test thread)
            outcome.append(exc)

    started = threading.Thread(target=first_attempt)
    started.start()
    _kill_while_training(sweep, "a100-s1")
    started.join()
    # The killed job is reported with its log; the rest of the grid went on.
    (error,) = outcome
    status = json.loads((sweep / "status.json").read_text())
    assert isinstance(error, XLRBenchError), error
    assert "1 of 3 sweep jobs did not finish: a100-s1" in str(error) and status["a100-s1"]["stderr"] in str(error)
    assert status["a100-s1"]["state"] == "failed" and Path(status["a100-s1"]["stderr"]).is_file()
    assert not (sweep / "a100-s1" / "xlr_bench_training.json").exists()  # killed before its training ended
    assert {n: e["state"] for n, e in status.items() if n != "a100-s1"} == dict.fromkeys(["base", "a100-s2"], "done")

    # The same command again re-runs the killed job only, and the grid ends as the serial one did.
    run_sweep(config, sweep, results, executor=local)
    status = json.loads((sweep / "status.json").read_text())
    assert {n: (e["state"], e["attempts"]) for n, e in status.items()} == {
        "base": ("done", 1), "a100-s1": ("done", 2), "a100-s2": ("done", 1)}
    assert sorted(p.name for p in sweep.glob("a*-s*")) == sorted(p.name for p in (tmp_path / "serial" / "sweep").glob("a*-s*"))
    serial = _results(tmp_path / "serial" / "results")
    assert len([p for p in serial if p.endswith("XQuADRSentenceMonolingualRetrieval.json")]) == 3
    assert _results(results) == serial


def test_bad_executor_input_is_refused(monkeypatch):
    with pytest.raises(XLRBenchError, match="Unknown executor 'cloud'; use one of serial, local, slurm"):
        ExecutorOptions("cloud").check()
    with pytest.raises(XLRBenchError, match=r"Slurm options \(partition\) apply to --executor slurm only"):
        ExecutorOptions("local", slurm={"partition": "gpu"}).check()
    with pytest.raises(XLRBenchError, match="a sweep job trains in one process on one GPU"):
        ExecutorOptions("slurm", slurm={"gpus_per_job": 4}).check()
    with pytest.raises(XLRBenchError, match="needs a Slurm cluster: sbatch is not on this machine's PATH"):
        ExecutorOptions("slurm", slurm={"partition": "gpu"}).check()
    monkeypatch.setitem(sys.modules, "submitit", None)  # as if not installed
    with pytest.raises(XLRBenchError, match=r"through submitit, which is not installed: pip install 'xlr-bench\[cluster\]'"):
        ExecutorOptions("slurm", slurm={"partition": "gpu"}).check()


def test_slurm_options_from_file_and_command_line_reach_sbatch(tmp_path):
    from submitit.slurm.slurm import _make_sbatch_string

    config = tmp_path / "cluster.toml"
    config.write_text('executor = "slurm"\nmax_parallel = 3\n[slurm]\npartition = "cpu"\ntime = 30\nmem = "16G"\n'
                      '[slurm.extra]\nqos = "high"\n')
    cli = {"executor": None, "max_parallel": None, "executor_config": config, "slurm_partition": "gpu",
           "slurm_gpus_per_job": 1, "slurm_time": None, "slurm_cpus_per_job": 8, "slurm_mem": None, "slurm_account": None}
    options = _executor_from_cli(cli)
    assert (options.kind, options.max_parallel) == ("slurm", 3)
    sbatch = _make_sbatch_string(command="python -m submitit.core._submit x", folder=str(tmp_path / "%j"),
                                 **slurm_parameters(options.slurm, jobs=4))
    for line in ("#SBATCH --partition=gpu", "#SBATCH --gpus-per-node=1", "#SBATCH --cpus-per-task=8",
                 "#SBATCH --time=30", "#SBATCH --mem=16G", "#SBATCH --qos=high", "#SBATCH --ntasks-per-node=1"):
        assert line in sbatch, line
    config.write_text("[slurm]\ntime = \"soon\"\n")
    with pytest.raises(XLRBenchError, match="slurm.time must be a int, got 'soon'"):
        _executor_from_cli(cli)
    config.write_text("[slurm]\npartition = \"gpu\"\n[other]\n")
    with pytest.raises(XLRBenchError, match="unknown key.s. other"):
        _executor_from_cli(cli)
