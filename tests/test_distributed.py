"""``xlr-bench train`` under real launchers: two gloo processes on CPU, a tiny model, real MLQA-R pairs.

One uninterrupted ``torchrun`` run, one ``accelerate launch`` run killed at step 4 and resumed by the
same command, and one launch whose ranks disagree. What each rank's data loader really produced is
read back from the ranks' batch logs and checked here against the pairs, independently of the
trainer's own comparison in the training record.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file

from xlr_bench.training.pairs import jsonl_pairs
from xlr_bench.training.trainer import split_validation

ENTRY = str(Path(__file__).with_name("launch_entry.py"))
TORCHRUN = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]


def _accelerate() -> list[str]:
    # On a CPU-only machine accelerate starts several processes only in its torchrun mode (--multi_gpu);
    # they train on CPU with gloo all the same.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
            "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", str(port)]


def _launch(launcher: list[str], output: Path, pairs: Path, model: Path, **env: str) -> subprocess.CompletedProcess:
    command = [*launcher, ENTRY, "train", "--base", str(model), "--train-data", str(pairs), "--ratio", "0.5",
               "--steps", "6", "--batch-size", "4", "--lr", "1e-3", "--output", str(output)]
    return subprocess.run(command, env=os.environ | {"OMP_NUM_THREADS": "1"} | env, capture_output=True, text=True,
                          timeout=900)


def _record(run: Path) -> dict:
    return json.loads((run / "xlr_bench_training.json").read_text())


def _batches(run: Path, rank: int) -> dict[int, list[int]]:
    lines = (run / "batches" / f"rank-{rank}.jsonl").read_text().splitlines()
    # (a rank may have collated one batch beyond the last step before it stopped)
    return {entry["step"]: entry["rows"] for entry in map(json.loads, lines) if entry["step"] <= 6}


@pytest.fixture(scope="module")
def torchrun_run(tmp_path_factory, small_pairs_file, tiny_model_dir):
    root = tmp_path_factory.mktemp("torchrun")
    (root / "writes").mkdir()
    done = _launch(TORCHRUN, root / "run", small_pairs_file, tiny_model_dir, XLR_TEST_WRITES=str(root / "writes"))
    assert done.returncode == 0, done.stderr[-3000:]
    return root


def test_two_ranks_share_batch_type_and_language_and_hold_disjoint_questions(torchrun_run, small_pairs_file):
    run = torchrun_run / "run"
    record = _record(run)
    assert record["steps"] == 6 and record["world_size"] == 2
    # The rows the records index are the training split of the file (the trainer's own split).
    train_pairs, _ = split_validation(jsonl_pairs(small_pairs_file).pairs, 0.02)
    ranks = [_batches(run, 0), _batches(run, 1)]
    kinds = []
    for step in range(1, 7):
        rows = [[train_pairs[i] for i in rank[step]] for rank in ranks]
        assert all(len(r) == 4 for r in rows)
        per_rank = {(r[0].monolingual, r[0].lang_q if r[0].monolingual else None) for r in rows}
        assert len(per_rank) == 1, f"step {step}: ranks drew {per_rank}"
        monolingual, language = per_rank.pop()
        gathered = rows[0] + rows[1]  # the in-batch negatives every rank scores against
        if monolingual:
            assert all(p.lang_q == p.lang_p == language for p in gathered), step
        else:
            assert all(p.lang_q != p.lang_p for p in gathered), step
        assert len({p.group for p in gathered}) == 8, f"step {step}: a question on both ranks"
        kinds.append(f"mono:{language}" if monolingual else "cross")
    assert {k.split(":")[0] for k in kinds} == {"mono", "cross"}  # this seed exercises both batch types
    # The record says the same, and that negatives were gathered across the ranks.
    ranks_record = record["ranks"]
    assert ranks_record["batch_kinds"] == kinds
    assert ranks_record["gather_across_devices"] is True
    assert ranks_record["disagreeing_steps"] == [] and ranks_record["steps_sharing_questions"] == []
    # DDP kept the ranks in sync: identical weights after the last optimizer step.
    first, second = ranks_record["weights_sha256"]
    assert first is not None and first == second


def test_files_are_written_once_by_rank_zero(torchrun_run):
    writes = [(torchrun_run / "writes" / f"rank-{r}.txt") for r in (0, 1)]
    rank0 = writes[0].read_text().splitlines()
    assert rank0.count("xlr_bench_training.json") == 1
    assert rank0.count("xlr_bench_train_config.json") == 1 and rank0.count("xlr_bench_base_eval.json") == 1
    assert not writes[1].exists(), f"rank 1 wrote {writes[1].read_text()}"


def test_accelerate_run_killed_midway_resumes_to_the_uninterrupted_weights(torchrun_run, small_pairs_file, tiny_model_dir,
                                                                          tmp_path):
    launcher = _accelerate()
    run = tmp_path / "run"
    killed = _launch(launcher, run, small_pairs_file, tiny_model_dir, XLR_TEST_KILL_AT_STEP="4")
    assert killed.returncode != 0
    assert (run / "checkpoints" / "checkpoint-3" / "trainer_state.json").is_file()
    assert not (run / "xlr_bench_training.json").exists()
    resumed = _launch(launcher, run, small_pairs_file, tiny_model_dir)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    record, reference = _record(run), _record(torchrun_run / "run")
    assert record["resumed_from_step"] == 3 and record["steps"] == 6
    # Steps 1-3 were logged by the killed launch, 4-6 by the resumed one: the same batches as torchrun's.
    assert record["ranks"]["batch_kinds"] == reference["ranks"]["batch_kinds"]
    assert [_batches(run, r) for r in (0, 1)] == [_batches(torchrun_run / "run", r) for r in (0, 1)]
    a, b = load_file(run / "model.safetensors"), load_file(torchrun_run / "run" / "model.safetensors")
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_allclose(a[key], b[key], atol=1e-6, err_msg=key)


def test_ranks_that_disagree_on_the_configuration_are_refused(small_pairs_file, tiny_model_dir, tmp_path):
    done = _launch(TORCHRUN, tmp_path / "run", small_pairs_file, tiny_model_dir, XLR_TEST_SEED_PER_RANK="1")
    assert done.returncode != 0
    assert "error: The ranks of this launch disagree on the configuration: seed is 42 on rank 0 but 43 on rank 1" \
        in done.stderr
    assert not (tmp_path / "run").exists()  # refused before anything was written
