"""Turn task definitions into mteb task classes (one loader class per data format)."""

from __future__ import annotations

import difflib
from pathlib import Path

from pydantic import PrivateAttr, ValidationError
from mteb.abstasks.task_metadata import TaskMetadata
from mteb.languages import check_language_code

from xlr_bench.tasks.afriqa import AfriQARetrieval
from xlr_bench.tasks.beir import BeirRetrieval
from xlr_bench.core.errors import XLRBenchError
from xlr_bench.core.mteb_registry import is_mteb_task
from xlr_bench.tasks.full_rank import FullRankRetrieval
from xlr_bench.tasks.lareqa import LAReQARetrieval
from xlr_bench.definitions.tasks import TaskDefinition

LOADERS: dict[str, type[FullRankRetrieval]] = {"lareqa": LAReQARetrieval, "afriqa": AfriQARetrieval, "beir": BeirRetrieval}
#: Beside every folder of definitions: the descriptive statistics of its tasks, one JSON file per task.
STATS_FOLDER = "descriptive_stats"


class XLRTaskMetadata(TaskMetadata):
    """mteb's ``TaskMetadata``, whose descriptive statistics ship beside the task's definition file.

    mteb looks statistics up at ``metadata.descriptive_stat_path`` (for its own tasks, a folder inside
    the mteb package) and ``calculate_descriptive_statistics()`` writes them there. Pointing that path
    at ``<definition folder>/descriptive_stats/<Task>.json`` makes mteb's own ``descriptive_stats``,
    ``n_samples`` and dataset card read the statistics committed with the definitions, and mteb's own
    function write them.
    """

    _stats_dir: Path = PrivateAttr()

    @property
    def descriptive_stat_path(self) -> Path:
        return self._stats_dir / f"{self.name}.json"


def stats_dir(definition: TaskDefinition) -> Path:
    """The folder of the definition's descriptive statistics."""
    return definition.path.parent / STATS_FOLDER


def build_metadata(definition: TaskDefinition, loader: type[FullRankRetrieval]) -> TaskMetadata:
    """mteb ``TaskMetadata`` from a definition; mteb's validation errors name the file and field."""
    try:
        metadata = XLRTaskMetadata(
            name=definition.name,
            dataset=loader.dataset_reference(definition),
            eval_langs=loader.eval_langs(definition),
            **definition.metadata,
        )
        for codes in metadata.hf_subsets_to_langscripts.values():  # what mteb's metadata validation checks
            for code in codes:
                check_language_code(code)
        metadata._stats_dir = stats_dir(definition)
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
    if is_mteb_task(definition.name):  # registering it would shadow (or fail on) mteb's own task
        raise XLRBenchError(f"{definition.path}: task name {definition.name!r} already belongs to an mteb task; rename "
                            "it (e.g. with a suffix naming the translation or source).")
    scores = loader.score_names(definition.setting == "multilingual")
    main_score = definition.metadata.get("main_score")
    if main_score not in scores:  # else the whole evaluation runs and ends in a KeyError
        close = difflib.get_close_matches(str(main_score), scores, n=1)
        raise XLRBenchError(f"{definition.path}: field 'metadata.main_score' is {main_score!r}, which this task does not "
                            f"compute" + (f"; did you mean {close[0]!r}?" if close else "") +
                            f" Valid: {', '.join(scores)}.")
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
