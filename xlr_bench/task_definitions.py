"""Declarative task definitions: one TOML file per task in the top-level ``tasks/`` folder.

A definition says *what* a task is (name, loader kind, source, languages, setting and mteb's
``TaskMetadata`` fields); the loader named by ``loader`` (one per data format, in code) says *how*
its data are read. ``extends = "OtherTask"`` inherits every field of another definition so the
three settings of one dataset do not repeat its metadata. Extra folders of definitions can be
added with ``XLR_BENCH_TASKS`` (paths separated by ``os.pathsep``).
"""

from __future__ import annotations

import copy
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xlr_bench.errors import XLRBenchError
from xlr_bench.paths import REPO_ROOT

TASKS_ENV = "XLR_BENCH_TASKS"
SETTINGS = ("multilingual", "monolingual", "cross-lingual")
REQUIRED = ("name", "loader", "source", "languages", "metadata")
REQUIRED_METADATA = ("description", "type", "eval_splits", "main_score", "license", "sample_creation")


@dataclass(frozen=True)
class TaskDefinition:
    """A parsed, inheritance-resolved definition file."""

    name: str
    loader: str
    setting: str | None
    source: dict[str, Any]
    languages: dict[str, str]  # subset code (e.g. "de") -> ISO 639-3 + script (e.g. "deu-Latn")
    metadata: dict[str, Any]
    path: Path


def definition_dirs() -> list[Path]:
    """Folders searched for ``*.toml`` definitions: the repo's ``tasks/`` then ``XLR_BENCH_TASKS``."""
    dirs = [REPO_ROOT / "tasks"]
    dirs += [Path(p).expanduser() for p in os.environ.get(TASKS_ENV, "").split(os.pathsep) if p]
    return dirs


def read_raw(path: Path) -> dict[str, Any]:
    """Parse one TOML file, naming the file and position of a syntax error."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise XLRBenchError(f"{path}: not valid TOML: {exc}") from exc
    except OSError as exc:
        raise XLRBenchError(f"Cannot read task definition {path}: {exc.strerror}") from exc


def _merge(base: dict[str, Any], child: dict[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(base)
    for key, value in child.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def resolve(raw: dict[str, Any], path: Path, raws: dict[str, tuple[dict[str, Any], Path]]) -> TaskDefinition:
    """Apply ``extends`` and check the required fields; every error names the file, field and fix."""
    seen = {raw.get("name")}
    while "extends" in raw:
        parent_name = raw["extends"]
        if parent_name not in raws:
            raise XLRBenchError(
                f"{path}: field 'extends' names {parent_name!r}, which no definition file defines "
                f"(known: {', '.join(sorted(raws))})."
            )
        if parent_name in seen:
            raise XLRBenchError(f"{path}: 'extends' forms a cycle through {parent_name!r}.")
        seen.add(parent_name)
        child = {k: v for k, v in raw.items() if k != "extends"}
        raw = _merge(raws[parent_name][0], child)
    for field in REQUIRED:
        if field not in raw:
            raise XLRBenchError(f"{path}: required field {field!r} is missing. Add `{field} = ...` (see tasks/README.md).")
    for field in REQUIRED_METADATA:
        if field not in raw["metadata"]:
            raise XLRBenchError(f"{path}: required field 'metadata.{field}' is missing. Add it under [metadata].")
    setting = raw.get("setting")
    if setting is not None and setting not in SETTINGS:
        raise XLRBenchError(f"{path}: field 'setting' is {setting!r}; use one of {', '.join(SETTINGS)}.")
    if not isinstance(raw["languages"], dict) or not raw["languages"]:
        raise XLRBenchError(f"{path}: field 'languages' must be a table of subset = \"iso-Script\", e.g. de = \"deu-Latn\".")
    return TaskDefinition(
        name=raw["name"],
        loader=raw["loader"],
        setting=setting,
        source=dict(raw["source"]),
        languages=dict(raw["languages"]),
        metadata=dict(raw["metadata"]),
        path=path,
    )


def load_definitions(extra_files: list[Path] | None = None) -> dict[str, TaskDefinition]:
    """Every definition in the definition folders (plus ``extra_files``), keyed by task name."""
    raws: dict[str, tuple[dict[str, Any], Path]] = {}
    files = [f for d in definition_dirs() if d.is_dir() for f in sorted(d.glob("*.toml"))]
    for path in files + list(extra_files or []):
        raw = read_raw(path)
        name = raw.get("name")
        if not isinstance(name, str) or not name:
            raise XLRBenchError(f"{path}: required field 'name' is missing. Add `name = \"MyTaskRetrieval\"`.")
        if name in raws and raws[name][1] != path:
            raise XLRBenchError(f"Task name {name!r} is defined twice: {raws[name][1]} and {path}.")
        raws[name] = (raw, path)
    return {name: resolve(raw, path, raws) for name, (raw, path) in raws.items()}
