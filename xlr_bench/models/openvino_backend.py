"""OpenVINO as the encoding backend of a sentence-transformers model, without optimum-intel.

sentence-transformers' own ``backend="openvino"`` loads the model through optimum-intel, which pulls
its own torch and torchvision wheels (the latter breaks ``import transformers`` next to the local
torch). The same design with public APIs only: the transformer inside the pipeline is converted
once with ``openvino.convert_model`` (fp32 weights kept), saved as an IR in the user cache under the
checkpoint's revision (a hash of its weights, so an export from other weights is never reused), and
the sentence-transformers pipeline keeps everything else — tokenizer, prompts, length-sorted
batching, pooling, normalisation — with the compiled model in place of the torch module.

Precision is a compile-time hint: ``fp32`` or ``bf16``. The CPU plugin runs bf16 only on cores that
have it (AMX / AVX-512-BF16); elsewhere it stays in fp32, and :func:`openvino_transformer` reports
the precision that actually runs, which is what the results record.

An export that fails stops with the reason (no silent fall back to torch: the results would then
carry a backend that did not produce them).
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch

from xlr_bench.core.errors import XLRBenchError
from xlr_bench.core.paths import cache_dir

logger = logging.getLogger(__name__)

OPENVINO_PRECISIONS = {"fp32": "f32", "bf16": "bf16"}
_INSTALL = "pip install 'xlr-bench[openvino]' (or: pip install openvino)"


def _openvino() -> Any:
    try:
        import openvino
    except ImportError as exc:
        raise XLRBenchError(f"The openvino backend needs the openvino package, which is not installed: {_INSTALL}.") from exc
    return openvino


def cpu_has_bf16(core: Any = None) -> bool:
    """Whether OpenVINO's CPU plugin can run bf16 on this machine's cores (AMX / AVX-512-BF16)."""
    core = core or _openvino().Core()
    return "BF16" in core.get_property("CPU", "OPTIMIZATION_CAPABILITIES")


def openvino_installed() -> bool:
    try:
        _openvino()
    except XLRBenchError:
        return False
    return True


def state_dict_hash(module: torch.nn.Module) -> str:
    """sha256 (16 hex digits) of a module's tensors, for checkpoints without a weights-file hash."""
    digest = hashlib.sha256()
    for name, tensor in sorted(module.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()[:16]


class _LastHiddenState(torch.nn.Module):
    """The transformer as a function of its tokenizer's tensors, returning token embeddings."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                token_type_ids: torch.Tensor | None = None) -> torch.Tensor:
        extra = {} if token_type_ids is None else {"token_type_ids": token_type_ids}
        return self.model(input_ids=input_ids, attention_mask=attention_mask, **extra, return_dict=False)[0]


@contextmanager
def _quiet_tracing() -> Iterator[None]:
    """Silence what tracing a transformers model prints (torch's TracerWarnings and jit deprecations,
    transformers' deprecation and config notices): a dozen lines per exported checkpoint, none of them
    the user's to act on. The export's outcome is still checked (agreement tests, compile errors)."""
    from transformers.utils import logging as transformers_logging

    level = transformers_logging.get_verbosity()
    transformers_logging.set_verbosity_error()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        transformers_logging.set_verbosity(level)


def export_ir(model: torch.nn.Module, input_names: tuple[str, ...], revision: str) -> Path:
    """The cached IR of ``model`` (``<cache>/openvino/<revision>/model.xml``), exported on first use.

    The export is written to a staging folder and moved into place whole, so an interrupted export
    leaves nothing that a later run could mistake for a finished one.
    """
    ov = _openvino()
    folder = cache_dir() / "openvino" / f"{revision}-ov{ov.__version__.split('-')[0]}-{'-'.join(input_names)}"
    if (folder / "model.xml").is_file():
        return folder / "model.xml"
    folder.parent.mkdir(parents=True, exist_ok=True)
    # a padded row in the example, so that tracing takes the attention-mask path (an all-ones mask
    # lets transformers drop the mask, and the trace would keep that for every later batch)
    example = {name: torch.ones((2, 8), dtype=torch.long) for name in input_names}
    example["attention_mask"][1, 5:] = 0
    staging = Path(tempfile.mkdtemp(dir=folder.parent, prefix=".staging-"))
    try:
        with _quiet_tracing():
            converted = ov.convert_model(
                _LastHiddenState(model).eval(), example_input=example,
                input=[(name, [-1, -1], ov.Type.i64) for name in input_names],
            )
        ov.save_model(converted, staging / "model.xml", compress_to_fp16=False)  # keep the fp32 weights
        os.replace(staging, folder)
    except Exception as exc:
        if not (isinstance(exc, OSError) and (folder / "model.xml").is_file()):  # else: a concurrent export won
            raise XLRBenchError(f"OpenVINO export of the model failed: {exc}. Use --backend torch for this model.") from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder / "model.xml"


class OpenVINOTransformer(torch.nn.Module):
    """A compiled OpenVINO model behind the interface sentence-transformers calls on its transformer."""

    def __init__(self, compiled: Any, config: Any, input_names: tuple[str, ...]) -> None:
        super().__init__()
        self.compiled, self.config, self.input_names = compiled, config, input_names
        self.device = torch.device("cpu")
        self.request = compiled.create_infer_request()

    def forward(self, **features: Any) -> dict[str, torch.Tensor]:
        inputs = {name: features[name].numpy() for name in self.input_names}
        hidden = self.request.infer(inputs)[0]
        return {"last_hidden_state": torch.from_numpy(hidden.copy())}


def openvino_transformer(model: torch.nn.Module, input_names: tuple[str, ...], revision: str,
                         precision: str, threads: int) -> tuple[OpenVINOTransformer, str]:
    """``(the compiled replacement for model, the precision it runs in)``; see the module docstring."""
    if precision not in OPENVINO_PRECISIONS:
        raise XLRBenchError(f"The openvino backend runs fp32 or bf16, not {precision}.")
    ov = _openvino()
    xml = export_ir(model, input_names, revision)
    core = ov.Core()
    config = {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_NUM_THREADS": threads,
              "INFERENCE_PRECISION_HINT": OPENVINO_PRECISIONS[precision]}
    if precision == "bf16" and not cpu_has_bf16(core):
        config["INFERENCE_PRECISION_HINT"] = "f32"
        logger.warning("This CPU has no bf16 units (no AMX / AVX-512-BF16): OpenVINO runs in fp32 and the results say so.")
    try:
        compiled = core.compile_model(core.read_model(xml), "CPU", config)
    except Exception as exc:
        raise XLRBenchError(f"OpenVINO could not compile the exported model {xml}: {exc}") from exc
    return OpenVINOTransformer(compiled, model.config, input_names), running_precision(compiled)


def running_precision(compiled: Any) -> str:
    """``bf16`` or ``fp32``: the inference precision a compiled model reports (an ``openvino.Type``,
    whose text is ``<Type: 'bfloat16'>``, so it is compared as a type, not searched as text)."""
    return "bf16" if compiled.get_property("INFERENCE_PRECISION_HINT") == _openvino().Type.bf16 else "fp32"
