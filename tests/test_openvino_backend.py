"""The OpenVINO encoding backend on a tiny local model: agreement, results metadata, export cache."""

from __future__ import annotations

import json
import shutil
import sys

import numpy as np
import pytest
from click.testing import CliRunner
from safetensors.torch import load_file, save_file

from xlr_bench.cli.app import main
from xlr_bench.core.errors import XLRBenchError
from xlr_bench.models.encoder import XLREncoder, weights_revision
from xlr_bench.results.validate import validate_results

pytest.importorskip("openvino", reason="the openvino extra: pip install -e '.[openvino]'")


@pytest.fixture()
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XLR_BENCH_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def _exports(cache):
    return sorted(p.name for p in (cache / "openvino").iterdir() if not p.name.startswith("."))


def test_openvino_embeddings_agree_with_torch_on_real_text(tiny_model_dir, xquad, cache):
    texts = [c.sentence for c in xquad.candidates["th"][:40]] + [q.text for q in xquad.questions["de"][:40]]
    reference = XLREncoder(str(tiny_model_dir)).model.encode(texts, batch_size=16)
    encoder = XLREncoder(str(tiny_model_dir), backend="openvino")
    ours = encoder.model.encode(texts, batch_size=16)
    cosine = (ours * reference).sum(1) / np.linalg.norm(ours, axis=1) / np.linalg.norm(reference, axis=1)
    assert cosine.min() > 0.99999
    meta = encoder.mteb_model_meta
    assert meta.experiment_kwargs == {"backend": "openvino", "precision": "fp32"}
    assert meta.n_parameters == XLREncoder(str(tiny_model_dir)).mteb_model_meta.n_parameters > 0


def test_export_is_cached_by_weights_and_never_reused_for_other_weights(tiny_model_dir, tmp_path, cache):
    XLREncoder(str(tiny_model_dir), backend="openvino")
    first = _exports(cache)
    assert len(first) == 1 and first[0].startswith(weights_revision(tiny_model_dir))
    xml = cache / "openvino" / first[0] / "model.xml"
    stamp = xml.stat().st_mtime_ns
    XLREncoder(str(tiny_model_dir), backend="openvino")  # same weights: the export is read, not redone
    assert _exports(cache) == first and xml.stat().st_mtime_ns == stamp
    # other weights (a retrained checkpoint) get their own export, which encodes differently
    other = tmp_path / "other"
    shutil.copytree(tiny_model_dir, other)
    weights = next(other.rglob("model.safetensors"))
    tensors = load_file(weights)
    tensors = {k: v * 1.5 if v.ndim == 2 else v for k, v in tensors.items()}
    save_file(tensors, weights)
    a = XLREncoder(str(tiny_model_dir), backend="openvino").model.encode(["ein Satz"])
    b = XLREncoder(str(other), backend="openvino").model.encode(["ein Satz"])
    assert len(_exports(cache)) == 2 and not np.allclose(a, b, atol=1e-3)
    torch_b = XLREncoder(str(other)).model.encode(["ein Satz"])
    np.testing.assert_allclose(b, torch_b, atol=1e-4)


def test_export_prints_nothing(tiny_model_dir, cache, capfd):
    """Tracing the model for the export raises a dozen warnings and notices (TracerWarning, jit and
    transformers deprecations, transformers' loss_type notice) that a user of the sweep would read."""
    import warnings

    from sentence_transformers import SentenceTransformer

    from xlr_bench.models.openvino_backend import export_ir

    model = SentenceTransformer(str(tiny_model_dir), device="cpu")[0].auto_model
    capfd.readouterr()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert export_ir(model, ("input_ids", "attention_mask"), "quiet-test").is_file()
    assert [str(w.message)[:80] for w in caught] == []
    err = capfd.readouterr().err
    assert "Warning" not in err and "[transformers]" not in err


def test_evaluate_records_the_backend(tiny_model_dir, tmp_path, cache):
    out = tmp_path / "results"
    result = CliRunner().invoke(main, ["evaluate", str(tiny_model_dir), "-t", "XQuADRMonolingualRetrieval",
                                       "--subsets", "th-th", "-o", str(out), "--backend", "openvino"])
    assert result.exit_code == 0, result.output
    experiment = next(out.rglob("experiments/*"))
    assert json.loads((experiment / "model_meta.json").read_text())["experiment_kwargs"] == {
        "backend": "openvino", "precision": "fp32"}
    settings = json.loads((experiment / "run_settings.jsonl").read_text().splitlines()[0])["encode_kwargs"]
    assert settings["backend"] == "openvino" and settings["precision"] == "fp32"
    assert validate_results(out).problems == []


def test_missing_openvino_is_one_line_naming_the_install(tiny_model_dir, cache, monkeypatch):
    monkeypatch.setitem(sys.modules, "openvino", None)  # import openvino now raises ImportError
    with pytest.raises(XLRBenchError, match=r"pip install 'xlr-bench\[openvino\]'"):
        XLREncoder(str(tiny_model_dir), backend="openvino")
    result = CliRunner().invoke(main, ["evaluate", str(tiny_model_dir), "-t", "XQuADRMonolingualRetrieval",
                                       "--subsets", "th-th", "-o", "unused", "--backend", "openvino"])
    assert result.exit_code == 2 and "not installed" in result.output and "Traceback" not in result.output


def test_running_precision_reads_openvinos_type_not_its_text():
    """OpenVINO reports bf16 as ``<Type: 'bfloat16'>``: read as text it never said "bf16", and an AMX host's
    bf16 results were filed as fp32 (found on a device run). A stand-in compiled model hands back real types."""
    import openvino as ov

    from xlr_bench.models.openvino_backend import running_precision

    class Compiled:
        def __init__(self, hint: object) -> None:
            self.hint = hint

        def get_property(self, name: str) -> object:
            assert name == "INFERENCE_PRECISION_HINT"
            return self.hint

    assert running_precision(Compiled(ov.Type.bf16)) == "bf16"
    assert running_precision(Compiled(ov.Type.f32)) == "fp32"
