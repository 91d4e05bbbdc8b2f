"""Declarative task definitions: one TOML file per task.

A definition says *what* a task is (name, loader kind, source, languages, setting and mteb's
``TaskMetadata`` fields); the loader named by ``loader`` (one per data format, in code) says *how*
its data are read. ``extends = "OtherTask"`` inherits every field of another definition so the
three settings of one dataset do not repeat its metadata. The source is one of three kinds: a
registered dataset (``source.dataset``), a local folder (``source.directory``, relative to the
definition file) or a Hugging Face dataset (``source.hf_repo`` + ``source.revision``);
``builtin/tasks/README.md`` documents every field. The built-in definitions ship in the package
(``builtin/tasks/``); the user's own are read from their config folder (``~/.config/xlr-bench/tasks``)
and from the folders in ``XLR_BENCH_TASKS`` (paths separated by ``os.pathsep``).
"""

from __future__ import annotations

import copy
import difflib
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xlr_bench.core.errors import XLRBenchError
from xlr_bench.core.paths import BUILTIN_DEFINITIONS, user_definitions_dir

TASKS_ENV = "XLR_BENCH_TASKS"
SETTINGS = ("multilingual", "monolingual", "cross-lingual")
REQUIRED = ("name", "loader", "source", "languages", "metadata")
BUILTIN_TASKS = BUILTIN_DEFINITIONS / "tasks"
FIELDS_DOC = "the field reference: xlr_bench/definitions/builtin/tasks/README.md"
REQUIRED_METADATA = ("description", "type", "eval_splits", "main_score", "license", "sample_creation")
SOURCE_KINDS = ("dataset", "directory", "hf_repo")
TOP_LEVEL = ("name", "extends", "loader", "setting", "source", "languages", "metadata", "ignore_identical_ids")


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
    ignore_identical_ids: bool = False  # mteb's flag: drop a document whose id equals the query's

    @property
    def source_kind(self) -> str:
        """Which of :data:`SOURCE_KINDS` the source is (exactly one is present after :func:`resolve`)."""
        return next(kind for kind in SOURCE_KINDS if kind in self.source)


def definition_dirs() -> list[Path]:
    """Folders searched for ``*.toml`` definitions: the built-in ones, the user's, then ``XLR_BENCH_TASKS``."""
    dirs = [BUILTIN_TASKS, user_definitions_dir("tasks")]
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
    unknown = sorted(set(raw) - set(TOP_LEVEL))
    if unknown:  # a misspelt field would otherwise be ignored (e.g. ignore_identical_id: the flag stays off)
        hints = [f"{u!r}" + (f" (did you mean {m[0]!r}?)" if (m := difflib.get_close_matches(u, TOP_LEVEL, n=1)) else "")
                 for u in unknown]
        raise XLRBenchError(f"{path}: unknown field(s) {', '.join(hints)}; allowed: {', '.join(TOP_LEVEL)}.")
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
            raise XLRBenchError(f"{path}: required field {field!r} is missing. Add `{field} = ...` (see {FIELDS_DOC}).")
    for field in REQUIRED_METADATA:
        if field not in raw["metadata"]:
            raise XLRBenchError(f"{path}: required field 'metadata.{field}' is missing. Add it under [metadata].")
    setting = raw.get("setting")
    if setting is not None and setting not in SETTINGS:
        raise XLRBenchError(f"{path}: field 'setting' is {setting!r}; use one of {', '.join(SETTINGS)}.")
    if not isinstance(raw["languages"], dict) or not raw["languages"]:
        raise XLRBenchError(f"{path}: field 'languages' must be a table of subset = \"iso-Script\", e.g. de = \"deu-Latn\".")
    ignore_identical_ids = raw.get("ignore_identical_ids", False)
    if not isinstance(ignore_identical_ids, bool):
        raise XLRBenchError(f"{path}: field 'ignore_identical_ids' must be true or false.")
    return TaskDefinition(
        name=raw["name"],
        loader=raw["loader"],
        setting=setting,
        source=_resolve_source(raw["source"], path),
        languages=dict(raw["languages"]),
        metadata=dict(raw["metadata"]),
        path=path,
        ignore_identical_ids=ignore_identical_ids,
    )


def _resolve_source(source: Any, path: Path) -> dict[str, Any]:
    """Check that exactly one source kind is given; make a relative ``directory`` absolute.

    A directory is resolved against the definition file's folder so that a dataset folder can
    carry its own definition (``directory = "."``) and be moved as a whole. Whether it exists is
    checked when the data are loaded (and by ``xlr-bench tasks validate``), not here: a definition
    whose data are absent must not stop ``import xlr_bench``.
    """
    if not isinstance(source, dict):
        raise XLRBenchError(f"{path}: field 'source' must be a table, e.g. [source] directory = \"data\".")
    kinds = [kind for kind in SOURCE_KINDS if kind in source]
    if len(kinds) != 1:
        found = f"found {', '.join('source.' + k for k in kinds)}" if kinds else "found none"
        raise XLRBenchError(
            f"{path}: field 'source' needs exactly one of source.dataset (a registered dataset), "
            f"source.directory (a local folder) or source.hf_repo (+ source.revision); {found}."
        )
    if not isinstance(source[kinds[0]], str) or not source[kinds[0]]:
        raise XLRBenchError(f"{path}: field 'source.{kinds[0]}' must be a non-empty string.")
    resolved = dict(source)
    if kinds[0] == "hf_repo" and not isinstance(source.get("revision"), str):
        raise XLRBenchError(
            f"{path}: field 'source.revision' is missing: pin the Hugging Face dataset "
            f"{source['hf_repo']!r} to a commit hash, e.g. revision = \"<40-hex commit>\"."
        )
    if kinds[0] == "directory":
        resolved["directory"] = str((path.parent / Path(source["directory"]).expanduser()).resolve())
    return resolved


def load_definitions(extra_files: list[Path] | None = None) -> dict[str, TaskDefinition]:
    """Every definition in the definition folders (plus ``extra_files``), keyed by task name; the first
    broken file is an error."""
    found, errors = load_valid_definitions(extra_files)
    if errors:
        raise XLRBenchError(errors[0])
    return found


def load_valid_definitions(extra_files: list[Path] | None = None) -> tuple[dict[str, TaskDefinition], list[str]]:
    """The definitions that load, and one message per file that does not.

    Used where one broken file must not stop everything (registering tasks when mteb is imported);
    the commands that need every definition use :func:`load_definitions`, which raises.
    """
    raws, errors = _read_raws(_definition_files(extra_files))
    found: dict[str, TaskDefinition] = {}
    for name, (raw, path) in raws.items():
        try:
            found[name] = resolve(raw, path, raws)
        except XLRBenchError as exc:
            errors.append(str(exc))
    return found, errors


def load_definition_file(path: Path) -> TaskDefinition:
    """The definition in one file, resolved against the known ones (its ``extends`` may name them).

    Only this file is resolved, so a broken definition elsewhere does not hide whether it is valid.
    """
    path = Path(path).resolve()
    raw, name = _read_named(path)
    raws, _ = _read_raws([f for f in _definition_files() if f != path])
    if name in raws:
        raise XLRBenchError(f"Task name {name!r} is defined twice: {raws[name][1]} and {path}.")
    raws[name] = (raw, path)
    return resolve(raw, path, raws)


def _definition_files(extra_files: list[Path] | None = None) -> list[Path]:
    files = [f.resolve() for d in definition_dirs() if d.is_dir() for f in sorted(d.glob("*.toml"))]
    return list(dict.fromkeys(files + [Path(f).resolve() for f in extra_files or []]))


def _read_named(path: Path) -> tuple[dict[str, Any], str]:
    raw = read_raw(path)
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        raise XLRBenchError(f"{path}: required field 'name' is missing. Add `name = \"MyTaskRetrieval\"`.")
    return raw, name


def _read_raws(files: list[Path]) -> tuple[dict[str, tuple[dict[str, Any], Path]], list[str]]:
    """Name -> (raw table, file) of every readable file, and one message per unreadable or duplicate one."""
    raws: dict[str, tuple[dict[str, Any], Path]] = {}
    errors: list[str] = []
    for path in files:
        try:
            raw, name = _read_named(path)
        except XLRBenchError as exc:
            errors.append(str(exc))
            continue
        if name in raws:
            errors.append(f"Task name {name!r} is defined twice: {raws[name][1]} and {path}.")
            continue
        raws[name] = (raw, path)
    return raws, errors
