"""Device and precision choices of training, for CPU and (as far as a CPU machine can check) CUDA."""

from __future__ import annotations

import pytest
from sentence_transformers import SentenceTransformerTrainingArguments

from xlr_bench.core.errors import XLRBenchError
from xlr_bench.training.devices import GpuPool, trainer_device_arguments


def test_training_arguments_follow_the_device(tmp_path):
    assert trainer_device_arguments(False, cuda=False) == {"use_cpu": True, "bf16": False, "dataloader_pin_memory": False}
    assert trainer_device_arguments(True, cuda=True, cuda_bf16=True) == {
        "use_cpu": False, "bf16": True, "dataloader_pin_memory": True}
    with pytest.raises(XLRBenchError, match="this GPU has no bf16 support"):
        trainer_device_arguments(True, cuda=True, cuda_bf16=False)
    # what this machine gets is accepted by the trainer as it is: bf16 autocast on the CPU
    args = SentenceTransformerTrainingArguments(output_dir=str(tmp_path), report_to="none", **trainer_device_arguments(True))
    assert args.device.type == "cpu" and args.bf16 and not args.dataloader_pin_memory


def test_parallel_local_jobs_get_a_gpu_each():
    pool = GpuPool(2)
    assert (pool.take("a"), pool.take("b"), pool.take("c")) == (0, 1, None)
    pool.give_back("a")
    assert pool.take("c") == 0
    assert GpuPool(0).take("a") is None


def test_more_jobs_than_gpus_share_them_evenly():
    pool = GpuPool(2, per_gpu=3)  # --max-parallel 5 or 6 on two GPUs
    assert [pool.take(j) for j in "abcdef"] == [0, 1, 0, 1, 0, 1]
    assert pool.take("g") is None
    pool.give_back("b")
    pool.give_back("d")
    assert pool.take("g") == 1 and pool.take("h") == 1 and pool.take("i") is None
    with pytest.raises(ValueError, match="per_gpu must be at least 1"):
        GpuPool(1, per_gpu=0)


def test_compute_clock_waits_for_the_gpu_before_it_stops(tiny_st, monkeypatch):
    """Forward and backward seconds include the GPU work they queued: on CUDA the clock synchronises once per
    top-level pass (here torch's CUDA calls are stand-ins on a CPU machine); on a CPU it never does."""
    import torch

    from xlr_bench.training.compute_clock import compute_time

    def one_step() -> None:
        features = tiny_st.tokenize(["a question", "a passage"])
        tiny_st(features)["sentence_embedding"].sum().backward()

    syncs: list[int] = []
    with compute_time() as spent:
        one_step()
    assert spent.forward > 0 and spent.backward > 0
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_initialized", lambda: True)
    monkeypatch.setattr(torch.cuda, "synchronize", lambda *a: syncs.append(1))
    with compute_time() as spent:
        one_step()
    assert len(syncs) == 2 and spent.forward > 0 and spent.backward > 0  # one forward, one backward
