"""``xlr-bench results validate``: the MTEB results repository's rules, checked on a results root.

Every rule below mirrors a check of that repository's CI: its test suite (``tests/`` of
github.com/embeddings-benchmark/results, run unchanged by ``../shared/peer/mteb-results/run.sh``) and its
file-size workflow (10 MB per file). The rules marked *xlr-bench* go further than the repository and are
stricter, never looser: a tree that passes here passes there (with ``xlr_bench`` imported, which
registers the tasks and models); ``tests/test_results_validate.py`` builds one broken tree per rule and
checks both verdicts. Every problem is listed (file and rule); nothing stops at the first one.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from xlr_bench.core.errors import XLRBenchError
from xlr_bench.core.mteb_registry import is_xlr_bench_task
from xlr_bench.results.cache import MODEL_META, RUN_SETTINGS, describe_partial, is_partial_file, no_results_error
from xlr_bench.results.registered import model_meta_from_json, result_model_metas

EXPERIMENTS = "experiments"
MAX_FILE_BYTES = 10 * 1024 * 1024  # the repository's check_file_sizes workflow
RULES = {
    "structure": "folders are <org__model>/<revision>/ (+ experiments/<name>/) as the model's metadata names them "
                 "(test_correct_folder_structure)",
    "model-meta": "every revision and experiment folder has a model_meta.json that mteb's ModelMeta accepts "
                  "(test_model_meta_in_folders, test_correct_folder_structure)",
    "revision-form": "the revision is a 40-hex SHA-1 or a one-character API version "
                     "(test_revision_is_specified_for_new_additions)",
    "organisation": "the model name has an organisation, 'org/model' (test_organization_is_specified_for_new_additions)",
    "revision-match": "the revision in model_meta.json is the folder's name (test_that_revision_match)",
    "task-name": "a result file is named after its task_name (test_task_name_matches_filename)",
    "duplicate-task": "a task has results in one revision of a model only, per experiment "
                      "(test_no_duplicate_task_results_exist; experiments: xlr-bench)",
    "implemented": "the model is in mteb's model registry (test_all_models_are_implemented_in_mteb)",
    "file-size": "no file is larger than 10 MB (the repository's check_file_sizes workflow)",
    "task-result": "a result file is an mteb TaskResult with its mteb version (xlr-bench)",
    "run-settings": "run_settings.jsonl lines are JSON and record the mteb version (xlr-bench)",
    "local-path": "no file contains a local filesystem path (xlr-bench)",
    "unfinished": "no .<Task>.json.partial file: an evaluation that was interrupted before every subset was "
                  "scored (xlr-bench)",
    "foreign-file": "nothing but model folders, revision folders, experiments/, model_meta.json, task result files "
                    "and run_settings.jsonl (xlr-bench)",
}
_ABS_PATH = re.compile(r"(^|[\s\"'=])(/(?:home|root|tmp|work|Users|mnt|var|opt)/[^\s\"']*)")
_SHA1 = re.compile(r"^[0-9a-f]{40}$")


@dataclass
class Problem:
    """One finding: the file or folder, the rule it breaks (a key of :data:`RULES`) and what is wrong."""

    path: Path
    rule: str
    message: str


@dataclass
class Validation:
    """What :func:`validate_results` found.

    ``upstream_models`` / ``upstream_tasks``: what the results repository's stock CI (mteb without
    ``xlr_bench``) cannot find, because xlr-bench, not mteb itself, registers it — the upstream step.
    """

    checked: int = 0
    problems: list[Problem] = field(default_factory=list)
    upstream_models: list[str] = field(default_factory=list)
    upstream_tasks: list[str] = field(default_factory=list)


def validate_results(root: Path) -> Validation:
    """Check every model folder under the results root ``root``; see the module docstring.

    A folder without a single result file is an error, not a pass: it is almost always the wrong folder.
    """
    root = Path(root)
    if not root.is_dir():
        raise XLRBenchError(f"Results folder {root} does not exist.")
    found = Validation()
    tasks_seen: set[str] = set()
    ours = {m.name for m in result_model_metas([root])}  # what `import xlr_bench` registers from this tree
    for model_dir in sorted(root.iterdir()):
        if model_dir.name == ".DS_Store":
            continue
        if not model_dir.is_dir():
            found.problems.append(Problem(model_dir, "foreign-file", "a file at the top of the results folder; "
                                                                     "only <org__model>/ folders belong there"))
            continue
        _check_model(model_dir, found, tasks_seen, ours)
    if not found.checked and not any(p.rule == "unfinished" for p in found.problems):
        raise no_results_error(root)  # "0 files checked" would read as a pass; an unfinished one is listed instead
    found.upstream_tasks = sorted(t for t in tasks_seen if is_xlr_bench_task(t))
    return found


def _check_model(model_dir: Path, found: Validation, tasks_seen: set[str], ours: set[str]) -> None:
    names = {model_dir.name.replace("__", "/")}
    where: dict[tuple[str | None, str], list[str]] = defaultdict(list)  # (experiment, task) -> revisions
    for revision_dir in sorted(model_dir.iterdir()):
        if not revision_dir.is_dir():
            found.problems.append(Problem(revision_dir, "foreign-file", "a file directly in a model folder; "
                                                                        "results belong in <revision>/"))
            continue
        runs = [(revision_dir, None)]
        for child in sorted(revision_dir.iterdir()):
            if child.is_dir() and child.name == EXPERIMENTS:
                for experiment in sorted(child.iterdir()):
                    if experiment.is_dir():
                        runs.append((experiment, experiment.name))
                    else:
                        found.problems.append(Problem(experiment, "foreign-file",
                                                      "a file directly in experiments/; it belongs in experiments/<name>/"))
            elif child.is_dir():
                found.problems.append(Problem(child, "foreign-file", "an unexpected folder in a revision folder"))
        for folder, experiment in runs:
            meta = _check_meta(folder, model_dir.name, revision_dir.name, experiment, found)
            if meta and meta.get("name"):
                names.add(str(meta["name"]))
            for task in _check_files(folder, found):
                where[(experiment, task)].append(revision_dir.name)
                tasks_seen.add(task)
    for (experiment, task), revisions in sorted(where.items(), key=lambda kv: (kv[0][0] or "", kv[0][1])):
        if len(revisions) > 1:
            label = f" (experiment {experiment})" if experiment else ""
            found.problems.append(Problem(model_dir, "duplicate-task", f"{task}{label} has results in {len(revisions)} "
                                                                       f"revisions: {', '.join(revisions)}"))
    _check_implemented(model_dir, names, found, ours)


def _check_meta(folder: Path, model_folder: str, revision_folder: str, experiment: str | None,
                found: Validation) -> dict[str, Any] | None:
    """The folder's ``model_meta.json`` against the structure, naming and revision rules; its content or None."""
    path = folder / MODEL_META
    if not path.is_file():
        found.problems.append(Problem(folder, "model-meta", f"{MODEL_META} is missing"))
        return None
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        found.problems.append(Problem(path, "model-meta", f"not JSON: {_first_line(exc)}"))
        return None
    if not isinstance(meta, dict):
        found.problems.append(Problem(path, "model-meta", "not a JSON object"))
        return None
    validated = None
    try:
        validated = model_meta_from_json(meta)  # as the repository's CI validates it
    except Exception as exc:  # pydantic errors: report, and check the rules below on the raw fields
        found.problems.append(Problem(path, "model-meta", f"not a valid mteb ModelMeta: {_first_line(exc)}"))
    name, revision = meta.get("name"), meta.get("revision")
    if not isinstance(name, str) or "/" not in name:
        found.problems.append(Problem(path, "organisation", f"model name {name!r} has no organisation ('org/model')"))
    elif name.replace(" ", "_").replace("/", "__") != model_folder:
        found.problems.append(Problem(path, "structure", f"model {name!r} belongs in folder "
                                                         f"{name.replace(' ', '_').replace('/', '__')!r}, not {model_folder!r}"))
    if not isinstance(revision, str) or not (_SHA1.match(revision) or len(revision) == 1):
        found.problems.append(Problem(path, "revision-form", f"revision {revision!r} is neither a 40-hex SHA-1 "
                                                             "nor a one-character API version"))
    if revision != revision_folder:
        found.problems.append(Problem(path, "revision-match", f"revision {revision!r} does not match its folder "
                                                              f"{revision_folder!r}"))
    if experiment is not None and validated is not None and validated.experiment_name != experiment:
        found.problems.append(Problem(path, "structure", f"experiment folder {experiment!r} holds a model_meta.json "
                                                         f"whose experiment_kwargs name {validated.experiment_name!r}"))
    return meta


def _check_files(folder: Path, found: Validation) -> list[str]:
    """Every file of one run folder; returns the task names of its readable result files."""
    from mteb.results import TaskResult

    tasks = []
    for path in sorted(p for p in folder.iterdir() if p.is_file()):
        if is_partial_file(path):
            found.problems.append(Problem(path, "unfinished", describe_partial(path)))
            continue
        if path.stat().st_size > MAX_FILE_BYTES:
            found.problems.append(Problem(path, "file-size", f"{path.stat().st_size / 2**20:.1f} MB, over the 10 MB limit"))
        text = path.read_text(encoding="utf-8", errors="replace")
        match = _ABS_PATH.search(text)
        if match:
            found.problems.append(Problem(path, "local-path", f"contains a local filesystem path: {match.group(2)}"))
        if path.name == RUN_SETTINGS:
            _check_run_settings(path, text, found)
        elif path.suffix != ".json":
            found.problems.append(Problem(path, "foreign-file", "not a result file, model_meta.json or run_settings.jsonl"))
        elif path.name != MODEL_META:
            found.checked += 1
            try:
                data = json.loads(text)
                task_name = data.get("task_name") or data.get("mteb_dataset_name")
            except (json.JSONDecodeError, AttributeError) as exc:
                found.problems.append(Problem(path, "task-result", f"not an mteb TaskResult: {_first_line(exc)}"))
                continue
            if task_name != path.stem:
                found.problems.append(Problem(path, "task-name", f"file name {path.stem!r} but task_name {task_name!r}"))
            try:
                result = TaskResult.from_dict(data)
            except Exception as exc:  # pydantic errors: report, keep checking the rest
                found.problems.append(Problem(path, "task-result", f"not an mteb TaskResult: {_first_line(exc)}"))
                continue
            if not result.mteb_version:
                found.problems.append(Problem(path, "task-result", "no mteb_version recorded"))
            tasks.append(path.stem)
    return tasks


def _check_run_settings(path: Path, text: str, found: Validation) -> None:
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
            ok = bool(entry.get("version", {}).get("mteb"))
        except (json.JSONDecodeError, AttributeError):
            ok = False
        if not ok:
            found.problems.append(Problem(path, "run-settings", f"line {n} is not JSON recording the mteb version"))


def _check_implemented(model_dir: Path, names: set[str], found: Validation, ours: set[str]) -> None:
    """The repository requires each model in mteb's registry; note those only xlr-bench registers.

    With ``xlr_bench`` imported, mteb's registry holds xlr-bench's definitions and every model whose
    ``model_meta.json`` xlr-bench wrote under ``results/`` of the current directory — in the repository's
    CI, the tree under test — so the models of this tree that xlr-bench wrote count as registered.
    """
    import mteb

    from xlr_bench.models.encoder import mteb_entry

    registered = {m.name for m in mteb.get_model_metas()} | ours
    known = sorted(names & registered)
    if not known:
        found.problems.append(Problem(model_dir, "implemented", f"{' / '.join(sorted(names))} is not in mteb's model "
                                                                "registry, not even with xlr_bench imported (its "
                                                                "model_meta.json was not written by xlr-bench)"))
    elif not any(mteb_entry(name) for name in known):
        found.upstream_models.append(known[0])


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
