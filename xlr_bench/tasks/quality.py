"""mteb's own task checks, applied to xlr-bench's tasks, and the documented exemptions.

mteb accepts a task only when two of its tests pass:

* ``tests/test_tasks/test_metadata.py::test_all_metadata_is_filled_and_valid`` — the metadata
  validates (language codes), every field is filled, the dataset does not trust remote code, and
  descriptive statistics and ``n_samples`` exist;
* ``tests/test_tasks/test_task_quality.py::test_dataset_quality`` — rules on the descriptive
  statistics that mteb's ``calculate_descriptive_statistics()`` computes, for each split overall and
  for every subset: no empty split, no text of 3 characters or fewer (``short_text``), at most 1 %
  duplicate texts among documents or queries (``duplicate_text``), no more unique texts than rows,
  no query without a relevant document (``zero_relevant_docs``), no relevant document outside the
  corpus, no train/test overlap; ``long_text`` (a text 50× the mean) is a warning only. A task may be
  exempted from a check kind by name with a reason (mteb's ``KNOWN_ISSUES``), and an exemption that
  no longer fires is itself an error.

This module restates those rules (as of mteb 2.26, from the two tests' assertions) so this project's
tests apply them to every registered task, plus one stricter rule of our own (``missing_ids``: a
qrels id absent from the queries or corpus). :data:`EXEMPTIONS` names each exempted check and why.
``dataset.path`` must also be a valid hub repo id: mteb's ``test_dataset_on_hf`` calls
``huggingface_hub.dataset_info`` on it, which rejects anything else (e.g. a GitHub URL).
"""

from __future__ import annotations

from typing import Any

from huggingface_hub.utils import HFValidationError, validate_repo_id

from xlr_bench.core.mteb_adapter import validate_metadata

DUPLICATE_TOLERANCE = 0.01
SHORT_TEXT_MAX = 3  # a text this long or shorter is "extremely short"
LONG_TEXT_RATIO = 50
WARNING_KINDS = {"long_text"}

_POOL = ("the subsets share one corpus by protocol (every query language searches the same pool), and "
         "mteb's overall statistics concatenate each subset's corpus; per subset, documents are "
         "distinct within the 1 % tolerance, and each subset is scored against its own corpus")
_CROSS = ("the subsets of one corpus language share it by protocol (de-en and ar-en both search the English "
          "candidates) and a language's questions are the queries of each of its pairs, and mteb's overall "
          "statistics concatenate the subsets' corpora and queries; per subset, documents and queries are "
          "distinct within the 1 % tolerance, and each subset is scored against its own corpus")
_FRAGMENTS = ("LAReQA's sentence splitter leaves 21 of XQuAD-R's 13,014 candidate sentences at 1-3 characters "
              "(zh name parts split at the interpunct: 德, 约翰; Roman numerals and list markers: tr 'I.', "
              "en '1', es '2).'); they are kept so the candidate pool stays LAReQA's, and tr 'I.' holds the "
              "start of a gold answer ('I. Dünya Savaşı'nın sonunda...'). With the paragraph as context "
              "(the protocol tasks) no candidate is short")
_AFRIQA = ("one passage is the gold passage of several questions (in one language or across languages); "
           "each question keeps its own copy and every identical copy counts as relevant, so duplicates "
           "neither help nor hurt a ranking (3,107 passages, 2,917 distinct). Queries: AfriQA's Twi test "
           "file asks 14 of its questions twice under different ids with the same gold passage (e.g. ids 4 "
           "and 345); they are kept, as AfriQA's own test set counts them (dropping them would move the "
           "committed Twi nDCG@10 by at most 0.0011 and the 9-language mean by at most 0.0001)")

#: ``{task: {check kind: reason}}`` — every check a task is exempted from, and why.
EXEMPTIONS: dict[str, dict[str, str]] = {
    "XQuADRRetrieval": {"duplicate_text": _POOL},
    "MLQARRetrieval": {"duplicate_text": _POOL},
    "XQuADRSentenceRetrieval": {"duplicate_text": _POOL, "short_text": _FRAGMENTS},
    "XQuADRCrossLingualRetrieval": {"duplicate_text": _CROSS},
    "MLQARCrossLingualRetrieval": {"duplicate_text": _CROSS},
    "XQuADRSentenceCrossLingualRetrieval": {"duplicate_text": _CROSS, "short_text": _FRAGMENTS},
    "XQuADRSentenceMonolingualRetrieval": {"short_text": _FRAGMENTS},
    "AfriQARetrieval": {"duplicate_text": _AFRIQA},
    "AfriQAPivotRetrieval": {"duplicate_text": _AFRIQA},
}


def metadata_problems(task: Any) -> list[str]:
    """What mteb's metadata test (and its hub test's repo-id check) would fail on for ``task``."""
    md = task.metadata
    problems = []
    try:
        validate_metadata(md)  # exactly the call mteb's test makes
    except ValueError as exc:
        problems.append(f"{md.name}: invalid metadata: {exc}")
    if not md.is_filled():
        empty = [f for f in type(md).model_fields if getattr(md, f) is None
                 and f not in ("prompt", "adapted_from", "contributed_by", "superseded_by")]
        problems.append(f"{md.name}: metadata is not filled: {', '.join(empty)}")
    if md.dataset.get("trust_remote_code", False) is not False:
        problems.append(f"{md.name}: the dataset trusts remote code")
    if md.descriptive_stats is None:
        problems.append(f"{md.name}: no descriptive statistics at {md.descriptive_stat_path}; "
                        f"run `xlr-bench tasks stats {md.name}`")
    elif md.n_samples is None:
        problems.append(f"{md.name}: n_samples is None")
    try:
        validate_repo_id(md.dataset["path"])
    except HFValidationError as exc:
        problems.append(f"{md.name}: dataset.path {md.dataset['path']!r} is not a hub repo id ({exc})")
    return problems


def _expected(field: str, stats: dict[str, Any]) -> int | None:
    if field.startswith("documents_"):
        return stats.get("num_documents")
    if field.startswith("queries_"):
        return stats.get("num_queries")
    return stats.get("num_samples")


def split_findings(stats: dict[str, Any]) -> list[tuple[str, str]]:
    """``(check id, detail)`` for one split's (or one subset's) statistics; a check id is
    ``kind:field`` (``duplicate_text:documents_text_statistics``) as in mteb's test."""
    found = []
    if stats.get("num_samples") == 0:
        found.append(("empty_split", "no samples"))
    for field, value in stats.items():
        if field == "hf_subset_descriptive_stats" or not isinstance(value, dict):
            continue
        if "unique_texts" in value:
            if value["min_text_length"] <= SHORT_TEXT_MAX:
                found.append((f"short_text:{field}", f"min_text_length={value['min_text_length']}"))
            if value["average_text_length"] > 0 and value["max_text_length"] > LONG_TEXT_RATIO * value["average_text_length"]:
                found.append((f"long_text:{field}", f"max {value['max_text_length']}, mean {value['average_text_length']:.1f}"))
            expected = _expected(field, stats)
            if expected is not None and value["unique_texts"] < expected * (1 - DUPLICATE_TOLERANCE):
                found.append((f"duplicate_text:{field}", f"{value['unique_texts']} unique of {expected}"))
            elif expected is not None and value["unique_texts"] > expected:
                found.append((f"impossible_unique_count:{field}", f"{value['unique_texts']} unique of {expected}"))
        if "min_relevant_docs_per_query" in value:
            if value["min_relevant_docs_per_query"] == 0:
                found.append((f"zero_relevant_docs:{field}", "a query has no relevant document"))
            if value.get("unique_relevant_docs", 0) > stats.get("num_documents", float("inf")):
                found.append(("relevant_docs_exceed_corpus", f"{value['unique_relevant_docs']} relevant "
                                                             f"of {stats['num_documents']} documents"))
            if value.get("num_missing_query_ids") or value.get("num_missing_corpus_ids"):
                found.append((f"missing_ids:{field}", f"qrels name {value.get('num_missing_query_ids')} unknown "
                                             f"queries, {value.get('num_missing_corpus_ids')} unknown documents"))
        if value.get("min_top_ranked_per_query") == 0:
            found.append((f"zero_top_ranked:{field}", "a query has no top-ranked candidate"))
    if stats.get("samples_in_train"):
        found.append(("train_test_leakage", f"{stats['samples_in_train']} samples also in train"))
    return found


def task_findings(name: str, descriptive_stats: dict[str, Any]) -> dict[str, list[str]]:
    """``{check id: [where and what]}`` over every split, overall and per subset."""
    found: dict[str, list[str]] = {}
    for split, stats in descriptive_stats.items():
        for check, detail in split_findings(stats):
            found.setdefault(check, []).append(f"{name} ({split}) {check}: {detail}")
        per_check: dict[str, list[str]] = {}
        for subset, subset_stats in (stats.get("hf_subset_descriptive_stats") or {}).items():
            for check, _ in split_findings(subset_stats):
                per_check.setdefault(check, []).append(subset)
        for check, subsets in per_check.items():
            found.setdefault(check, []).append(
                f"{name} ({split}) fails {check!r} in {len(subsets)} subset(s): {', '.join(subsets[:5])}"
                + (f", +{len(subsets) - 5} more" if len(subsets) > 5 else ""))
    return found


def quality_problems(task: Any) -> list[str]:
    """Failing checks that are not exempted, and exemptions that no longer fire (both are errors)."""
    stats = task.metadata.descriptive_stats
    if stats is None:
        return []
    name = task.metadata.name
    findings = task_findings(name, stats)
    kinds = {check.split(":")[0] for check in findings}
    exempt = EXEMPTIONS.get(name, {})
    problems = [msg for check, msgs in findings.items()
                if check.split(":")[0] not in exempt and check.split(":")[0] not in WARNING_KINDS for msg in msgs]
    problems += [f"{name}: exempted from {kind!r}, which no longer fires; remove the exemption"
                 for kind in exempt if kind not in kinds]
    return problems
