"""Every private mteb name xlr-bench uses, in one place, checked against the installed mteb.

mteb's public API (``mteb.get_task``, ``mteb.evaluate``, ``AbsTaskRetrieval``, ``TaskMetadata``,
``RetrievalDatasetLoader``, ``ResultCache``...) covers loading, evaluating and storing. Five needs
have no public way in mteb 2.26, so they are reached through the private names below and nowhere
else in the package:

* **registries** — mteb has no plugin entry point, so tasks, models and benchmarks are added to the
  dictionaries and caches that ``mteb.get_task`` / ``get_model`` / ``get_benchmark`` read;
* **standard retrieval scores** — the full-ranking tasks give mteb's own nDCG/MAP/recall/MRR/nAUC:
  :mod:`xlr_bench.tasks.standard_scores` computes them from pytrec_eval's output with mteb's confidence
  scores and abstention rates, tested equal to mteb's ``calculate_retrieval_scores`` (the
  reference), and they are formatted as mteb does (``make_score_dict``);
* **texts and batches** — a document's text as mteb reads it (title + text) and mteb's dataloader
  (prompts per task and role) for the embedding memo;
* **default scripts** — mteb's table from ISO 639-3 code to script, for translated task definitions;
* **the CLI's result cache** — ``mteb run`` builds ``ResultCache(--output-folder)`` itself and takes
  no cache, so ``xlr-bench mteb run`` swaps the class its CLI module calls for the results-root cache
  ``evaluate`` writes with (one layout for both);
* **hooks** — ``AbsTaskRetrieval._evaluate_subset`` (overridden by the full-ranking tasks),
  ``_save_task_predictions`` and ``TaskMetadata._validate_metadata`` (called as mteb's tests call it).

:func:`check` (run by ``tests/test_mteb_adapter.py``) verifies that each name still exists with the
parameters we call it with, so an mteb release that renames or reshapes one fails there with a
message naming it, not deep inside an evaluation.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from xlr_bench.core.errors import XLRBenchError


@dataclass(frozen=True)
class PrivateName:
    """One private mteb name: where it lives and, for a callable, the parameters we pass."""

    module: str
    name: str
    parameters: tuple[str, ...] = ()
    why: str = ""


PRIVATE_NAMES = (
    PrivateName("mteb.get_tasks", "_TASKS_REGISTRY", why="task registry read by mteb.get_task"),
    PrivateName("mteb.get_tasks", "TASK_LIST", why="task list read by mteb.get_tasks"),
    PrivateName("mteb.get_tasks", "_SIMILAR_TASKS", why="adapted_from links between tasks"),
    PrivateName("mteb.benchmarks.get_benchmark", "_build_registry", why="benchmark registry (cached)"),
    PrivateName("mteb.benchmarks.get_benchmark", "_build_aliases_registry", why="benchmark aliases (cached)"),
    PrivateName("mteb.models.model_implementations", "MODEL_REGISTRY", why="model registry read by mteb.get_model"),
    PrivateName("mteb._evaluators.retrieval_metrics", "calculate_retrieval_scores",
                ("results", "qrels", "k_values"), "mteb's standard retrieval metrics"),
    PrivateName("mteb._evaluators.retrieval_metrics", "make_score_dict",
                ("ndcg", "_map", "recall", "precision", "mrr", "naucs", "naucs_mrr", "hit_rate", "task_scores"),
                "mteb's score dictionary"),
    PrivateName("mteb._evaluators.retrieval_metrics", "confidence_scores", ("sim_scores",),
                "mteb's confidence scores of one query, for runs of uneven length (xlr_bench.tasks.standard_scores)"),
    PrivateName("mteb._evaluators.retrieval_metrics", "_DEFAULT_ABSTENTION_RATES",
                why="the abstention rates of mteb's nAUC scores (xlr_bench.tasks.standard_scores)"),
    PrivateName("mteb._create_dataloaders", "create_dataloader",
                ("dataset", "task_metadata", "prompt_type", "batch_size"), "mteb's batches for model.encode"),
    PrivateName("mteb._create_dataloaders", "_retrieval_texts", ("dataset", "prompt_type"),
                "the text mteb reads for a document (title + text) or query"),
    PrivateName("mteb.languages.iso_mappings", "_get_iso3_to_default_script", (), "default script of a language"),
    PrivateName("mteb.cli.build_cli", "ResultCache", ("cache_path",),
                "the result cache `mteb run` builds from --output-folder"),
    # hooks of AbsTaskRetrieval that FullRankRetrieval overrides or calls (subclassing, not importing)
    PrivateName("mteb.abstasks.retrieval", "AbsTaskRetrieval._evaluate_subset",
                ("model", "data_split", "encode_kwargs", "hf_split", "hf_subset", "prediction_folder", "num_proc",
                 "timer"), "the full-ranking evaluation of one subset"),
    PrivateName("mteb.abstasks.task_metadata", "TaskMetadata._validate_metadata", ("self",),
                "mteb's metadata validation, as its metadata test calls it"),
    PrivateName("mteb.abstasks.retrieval", "AbsTaskRetrieval._save_task_predictions",
                ("predictions", "model", "prediction_folder", "hf_subset", "hf_split"), "saving a run's predictions"),
)


def _resolve(entry: PrivateName) -> Any:
    try:
        module: ModuleType = importlib.import_module(entry.module)
    except ImportError as exc:
        raise XLRBenchError(f"mteb changed: module {entry.module} is gone ({exc}); xlr-bench needs it for "
                            f"{entry.why}. Use an mteb version in pyproject.toml's range.") from exc
    obj: Any = module
    for part in entry.name.split("."):
        if not hasattr(obj, part):
            raise XLRBenchError(f"mteb changed: {entry.module}.{entry.name} is gone; xlr-bench needs it for "
                                f"{entry.why}. Use an mteb version in pyproject.toml's range.")
        obj = getattr(obj, part)
    return obj


def check() -> list[str]:
    """Problems with the installed mteb's private names (empty when every name fits our calls)."""
    problems = []
    for entry in PRIVATE_NAMES:
        try:
            obj = _resolve(entry)
        except XLRBenchError as exc:
            problems.append(str(exc))
            continue
        if entry.parameters:
            params = inspect.signature(obj).parameters
            missing = [p for p in entry.parameters if p not in params]
            if missing:
                problems.append(f"mteb changed: {entry.module}.{entry.name} no longer takes {', '.join(missing)} "
                                f"(it takes {', '.join(params)}); xlr-bench calls it for {entry.why}.")
    return problems


def _get(module: str, name: str) -> Any:
    return _resolve(next(e for e in PRIVATE_NAMES if e.module == module and e.name == name))


# -- registries (mutable objects: read them through these functions, never cache them) -------------

def tasks_module() -> ModuleType:
    """``mteb.get_tasks`` the module (the attribute of the same name on ``mteb`` is the function)."""
    return importlib.import_module("mteb.get_tasks")


def task_registry() -> dict[str, type]:
    """``{name: task class}`` that ``mteb.get_task`` looks names up in."""
    return _get("mteb.get_tasks", "_TASKS_REGISTRY")


def similar_tasks() -> dict[str, list[str]]:
    """``{parent task: [tasks adapted from it]}``."""
    return _get("mteb.get_tasks", "_SIMILAR_TASKS")


def model_registry() -> dict[str, Any]:
    """``{name: ModelMeta}`` that ``mteb.get_model`` / ``get_model_meta`` read."""
    return _get("mteb.models.model_implementations", "MODEL_REGISTRY")


def benchmark_registry() -> dict[str, Any]:
    """mteb's own benchmarks by name (built once and cached by mteb)."""
    return _get("mteb.benchmarks.get_benchmark", "_build_registry")()


def clear_benchmark_caches() -> None:
    """Drop mteb's cached benchmark registries so the next lookup sees ``mteb.benchmarks.benchmarks`` anew."""
    _get("mteb.benchmarks.get_benchmark", "_build_registry").cache_clear()
    _get("mteb.benchmarks.get_benchmark", "_build_aliases_registry").cache_clear()


# -- evaluation helpers ---------------------------------------------------------------------------

calculate_retrieval_scores: Callable[..., Any] = _get("mteb._evaluators.retrieval_metrics",
                                                      "calculate_retrieval_scores")
make_score_dict: Callable[..., dict[str, Any]] = _get("mteb._evaluators.retrieval_metrics", "make_score_dict")
confidence_scores: Callable[..., dict[str, float]] = _get("mteb._evaluators.retrieval_metrics", "confidence_scores")
create_dataloader: Callable[..., Any] = _get("mteb._create_dataloaders", "create_dataloader")
retrieval_texts: Callable[..., Any] = _get("mteb._create_dataloaders", "_retrieval_texts")


def abstention_rates() -> Any:
    """The abstention rates of mteb's nAUC scores (0.0, 0.1, ..., 0.9)."""
    return _get("mteb._evaluators.retrieval_metrics", "_DEFAULT_ABSTENTION_RATES")


def use_cli_result_cache(factory: Callable[[str], Any]) -> None:
    """Make ``mteb run`` (mteb's CLI, in this process) store results through ``factory(output_folder)``."""
    _get("mteb.cli.build_cli", "ResultCache")  # still there: the swap below would otherwise be silently ignored
    setattr(importlib.import_module("mteb.cli.build_cli"), "ResultCache", factory)


def validate_metadata(metadata: Any) -> None:
    """mteb's own validation of a ``TaskMetadata`` (language codes), as mteb's metadata test runs it."""
    _get("mteb.abstasks.task_metadata", "TaskMetadata._validate_metadata")(metadata)


def iso3_default_scripts() -> dict[str, str]:
    """mteb's ``{ISO 639-3 code: default ISO 15924 script}``."""
    return _get("mteb.languages.iso_mappings", "_get_iso3_to_default_script")()
