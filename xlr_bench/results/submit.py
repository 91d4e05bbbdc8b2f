"""``xlr-bench results submit``: what a pull request to the MTEB results repository needs, for one model.

mteb's own ``ResultCache.submit_results`` copies an experiment's files into
``<revision>/experiments/<name>/`` without the revision-level ``model_meta.json`` that the repository's
CI requires, and needs the model in mteb's registry first. This builds the submission from a results
root instead: the model's folder in the repository's layout, checked by :mod:`xlr_bench.results.validate`
before anything is written, and the ``ModelMeta`` Python source that a model-registry pull request to
mteb needs for the same model (the repository's CI looks every model up there).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xlr_bench.core.atomic import atomic_open
from xlr_bench.core.errors import XLRBenchError
from xlr_bench.results.cache import MODEL_META
from xlr_bench.results.validate import Validation, validate_results

SNIPPET = "mteb_model_meta.py"
# fields of model_meta.json that do not go into a registry entry (mteb fills or derives them)
_NOT_IN_SNIPPET = {"loader", "loader_kwargs", "experiment_kwargs", "is_cross_encoder", "n_active_parameters_override"}


@dataclass
class Submission:
    """The outcome: the checks' verdict and, when clean, how many files were written."""

    validation: Validation
    files: int = 0


def find_model_folder(model: str, results_dir: Path) -> Path:
    """The ``<org__model>`` folder of ``model`` (full name, folder name or the part after ``org/``)."""
    folders = [p for p in Path(results_dir).iterdir() if p.is_dir()]
    wanted = model.replace("/", "__")
    exact = [p for p in folders if p.name == wanted]
    short = [p for p in folders if p.name.split("__", 1)[-1] == model]
    found = exact or short
    if len(found) != 1:
        known = ", ".join(sorted(p.name.replace("__", "/") for p in folders)) or "none"
        why = "is ambiguous" if found else "has no results"
        raise XLRBenchError(f"Model {model!r} {why} in {results_dir}. Models there: {known}.")
    return found[0]


def build_submission(model: str, results_dir: Path, out: Path, *, training_code_url: str | None = None) -> Submission:
    """Copy ``model``'s results into ``out/results/``, check them, write the ``ModelMeta`` snippet.

    Nothing is written unless every check passes; ``out`` must be new or empty.
    """
    source = find_model_folder(model, results_dir)
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise XLRBenchError(f"{out} exists and is not empty; give a new folder for the submission.")
    with tempfile.TemporaryDirectory(prefix=".xlr-bench-submission-") as tmp:
        staged = Path(tmp) / "results"
        shutil.copytree(source, staged / source.name)
        if training_code_url:
            for meta_path in staged.rglob(MODEL_META):
                meta = json.loads(meta_path.read_text(encoding="utf-8"))
                meta_path.write_text(json.dumps({**meta, "public_training_code": training_code_url}, indent=4,
                                                ensure_ascii=False), encoding="utf-8")
        validation = validate_results(staged)
        if validation.problems:
            return Submission(validation)
        # of several revisions, the one with the most results (the one xlr-bench registers)
        meta_path = max(staged.glob(f"*/*/{MODEL_META}"),
                        key=lambda p: (sum(1 for f in p.parent.rglob("*.json") if f.name != MODEL_META), p.parent.name))
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        (Path(tmp) / SNIPPET).write_text(model_meta_source(meta), encoding="utf-8")
        (Path(tmp) / "README.md").write_text(_instructions(meta, validation), encoding="utf-8")
        out.mkdir(parents=True, exist_ok=True)
        files = 0
        for path in sorted(p for p in Path(tmp).rglob("*") if p.is_file()):
            target = out / path.relative_to(tmp)
            with atomic_open(target, "wb") as handle:
                handle.write(path.read_bytes())
            files += 1
    return Submission(validation, files)


def _prompts(meta: dict[str, Any]) -> dict[str, str]:
    """The query/document prefixes the model was scored with: its definition's, else those of the models it
    was adapted from (its ``adapted_from``, then their definitions or mteb's entries)."""
    from xlr_bench.definitions.models import find_definition
    from xlr_bench.models.encoder import mteb_entry

    name, seen = meta["name"], set()
    while name and name not in seen:
        seen.add(name)
        definition = find_definition(name)
        if definition is not None and definition.prompts:
            return dict(definition.prompts)
        entry = mteb_entry(name)
        if entry is not None:
            return dict(entry.loader_kwargs.get("model_prompts") or {})
        name = meta.get("adapted_from") if len(seen) == 1 else (definition.base_model if definition else None)
    return {}


def model_meta_source(meta: dict[str, Any]) -> str:
    """Python source of the ``ModelMeta`` for mteb's model registry, from a revision-level ``model_meta.json``.

    The loader is mteb's ``SentenceTransformerEncoderWrapper`` with the model's prompts: the
    checkpoint is an ordinary sentence-transformers model once its weights are on the Hugging Face hub
    under this name and revision.
    """
    variable = "".join(c if c.isalnum() else "_" for c in meta["name"]).strip("_")
    lines = [
        '"""ModelMeta for mteb\'s model registry, written by `xlr-bench results submit` from model_meta.json."""',
        "",
        "from mteb.models.model_meta import ModelMeta",
        "from mteb.models.sentence_transformer_wrapper import SentenceTransformerEncoderWrapper",
        "",
        f"{variable} = ModelMeta(",
        "    loader=SentenceTransformerEncoderWrapper,",
        f"    loader_kwargs=dict(model_prompts={_py(_prompts(meta))}),",
    ]
    for key, value in meta.items():
        if key in _NOT_IN_SNIPPET:
            continue
        if key == "training_datasets" and value is not None:
            lines.append(f"    {key}={{{', '.join(_py(v) for v in sorted(value))}}},")
        else:
            lines.append(f"    {key}={_py(value)},")
    lines.append(")")
    return "\n".join(lines) + "\n"


def _py(value: Any) -> str:
    """A Python literal for a JSON value (``json`` spells true/false/null differently)."""
    if value is None or isinstance(value, bool):
        return repr(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_py(k)}: {_py(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_py(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def _instructions(meta: dict[str, Any], validation: Validation) -> str:
    upstream = ""
    if validation.upstream_models or validation.upstream_tasks:
        upstream = ("\nThe repository's CI looks models and tasks up in mteb itself. Not there yet (xlr-bench registers "
                    "them locally):\n"
                    + (f"- models: {', '.join(validation.upstream_models)} — add `{SNIPPET}` to "
                       "mteb/models/model_implementations/ in a pull request to mteb, and publish the weights on the "
                       "Hugging Face hub under this name and revision;\n" if validation.upstream_models else "")
                    + (f"- tasks: {', '.join(validation.upstream_tasks)} — they need to be added to mteb as tasks.\n"
                       if validation.upstream_tasks else ""))
    return (f"# Submission: {meta['name']} (revision {meta['revision']})\n\n"
            f"1. Copy `results/` into a clone of https://github.com/embeddings-benchmark/results (same paths) and open "
            f"a pull request. These files passed `xlr-bench results validate` ({validation.checked} result files).\n"
            f"2. `{SNIPPET}` is the model's entry for mteb's model registry.\n{upstream}")
