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


@pytest.fixture()
def machine(monkeypatch):
    """What auto_encoding sees of the machine, set per test: a GPU, openvino, bf16 units."""
    import torch

    from xlr_bench.models import encoder, openvino_backend

    def set_machine(*, gpu: bool = False, openvino: bool = True, bf16: bool = False) -> None:
        monkeypatch.setattr(torch.cuda, "is_available", lambda: gpu)
        monkeypatch.setattr(openvino_backend, "openvino_installed", lambda: openvino)
        monkeypatch.setattr(openvino_backend, "cpu_has_bf16", lambda: bf16)
        monkeypatch.setattr(encoder, "cpu_flags_have_bf16", lambda: bf16)
    return set_machine


def test_auto_encoding_picks_openvino_bf16_only_on_cpu_cores_with_bf16_units(machine):
    from xlr_bench.models.encoder import auto_encoding

    machine(bf16=True)
    assert auto_encoding()[:2] == ("openvino", "bf16")
    machine(bf16=False)
    assert auto_encoding()[:2] == ("torch", "fp32")
    machine(gpu=True, bf16=True)
    assert auto_encoding()[:2] == ("torch", "fp32")
    machine(bf16=True)
    assert auto_encoding(jobs_elsewhere=True)[:2] == ("torch", "fp32")  # Slurm: the jobs' cores are unknown here
    machine(openvino=False, bf16=True)
    backend, precision, why = auto_encoding()
    assert (backend, precision) == ("torch", "fp32") and "pip install 'xlr-bench[openvino]'" in why
    machine(openvino=False, bf16=False)
    assert "pip install" not in auto_encoding()[2]  # no hint where it would not help


def test_bf16_training_only_where_it_pays(machine, monkeypatch):
    import torch

    from xlr_bench.training.devices import bf16_training_pays

    machine(bf16=True)
    assert bf16_training_pays()[0] is True  # AMX: 1.9x faster
    assert bf16_training_pays(jobs_elsewhere=True)[0] is False  # Slurm: the jobs' devices are unknown here
    machine(bf16=False)
    assert bf16_training_pays() == (False, "this CPU has no bf16 units (bf16 autocast would be 5.7x slower)")
    for supported in (True, False):  # a GPU decides by its own bf16 support, whatever the CPU has
        machine(gpu=True, bf16=not supported)
        monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda supported=supported: supported)
        assert bf16_training_pays()[0] is supported


def test_the_two_bf16_detectors_agree_on_this_machine():
    """OpenVINO's CPU capabilities and Linux's CPU flags name the same bf16 units (the flags are what
    auto_encoding reads when openvino is missing, to say whether installing it would help)."""
    pytest.importorskip("openvino")
    from pathlib import Path

    from xlr_bench.models.encoder import cpu_flags_have_bf16
    from xlr_bench.models.openvino_backend import cpu_has_bf16

    if not Path("/proc/cpuinfo").is_file():
        pytest.skip("no /proc/cpuinfo (not Linux)")
    assert cpu_has_bf16() == cpu_flags_have_bf16()
