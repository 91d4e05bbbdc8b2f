"""Turn task definitions into mteb task classes (one loader class per data format)."""

from __future__ import annotations

from pydantic import ValidationError
from mteb.abstasks.task_metadata import TaskMetadata

from xlr_bench.tasks.afriqa import AfriQARetrieval
from xlr_bench.tasks.beir import BeirRetrieval
from xlr_bench.core.errors import XLRBenchError
from xlr_bench.tasks.full_rank import FullRankRetrieval
from xlr_bench.tasks.lareqa import LAReQARetrieval
from xlr_bench.definitions.tasks import TaskDefinition

LOADERS: dict[str, type[FullRankRetrieval]] = {"lareqa": LAReQARetrieval, "afriqa": AfriQARetrieval, "beir": BeirRetrieval}


def build_metadata(definition: TaskDefinition, loader: type[FullRankRetrieval]) -> TaskMetadata:
    """mteb ``TaskMetadata`` from a definition; mteb's validation errors name the file and field."""
    try:
        metadata = TaskMetadata(
            name=definition.name,
            dataset=loader.dataset_reference(definition),
            eval_langs=loader.eval_langs(definition),
            **definition.metadata,
        )
        metadata._validate_metadata()
    except ValidationError as exc:
        problems = "; ".join(
            f"metadata.{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise XLRBenchError(f"{definition.path}: invalid task metadata: {problems}.") from exc
    except ValueError as exc:  # mteb's language-code check
        raise XLRBenchError(f"{definition.path}: field 'languages': {exc}") from exc
    return metadata


def build_task_class(definition: TaskDefinition) -> type[FullRankRetrieval]:
    """A new ``AbsTaskRetrieval`` subclass named after the task."""
    loader = LOADERS.get(definition.loader)
    if loader is None:
        raise XLRBenchError(
            f"{definition.path}: field 'loader' is {definition.loader!r}; known loaders: {', '.join(sorted(LOADERS))}."
        )
    return type(
        definition.name,
        (loader,),
        {
            "metadata": build_metadata(definition, loader),
            "definition": definition,
            "pooled": definition.setting == "multilingual",
            "ignore_identical_ids": definition.ignore_identical_ids,
            "__module__": __name__,
        },
    )
