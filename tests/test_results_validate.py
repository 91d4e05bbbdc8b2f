"""`results validate` against the MTEB results repository's own CI, and `results submit`.

Each test tree is a copy of one committed model's results (real files) with one rule broken. The
repository's CI suite (../shared/peer/mteb-results, run unchanged, with xlr_bench imported) must fail
on every tree `validate` rejects for one of the repository's rules, in the upstream test of that rule;
the rules xlr-bench adds are stricter (the suite passes those trees, `validate` does not).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import mteb
import pytest
from click.testing import CliRunner

from xlr_bench.cli.app import main
from xlr_bench.results.registered import result_model_metas
from xlr_bench.results.submit import SNIPPET
from xlr_bench.results.validate import RULES, validate_results

REPO = Path(__file__).resolve().parent.parent
# the shared folder beside the data (../shared in CI): ../shared/peer/mteb-results
PEER = Path(os.environ["XLR_BENCH_DATA"]).parent / "peer" / "mteb-results" / "run.sh"
NAME = "xlr-bench/me5-small-hybrid-a050-s42"
SOURCE = REPO / "results" / NAME.replace("/", "__")
TASK = "AfriQARetrieval"
OTHER_SHA1 = "0123456789abcdef0123456789abcdef01234567"


def _good(root: Path) -> Path:
    """A results root holding one committed model, its AfriQA result only; returns its revision folder."""
    (revision,) = SOURCE.iterdir()
    target = root / SOURCE.name / revision.name
    experiment = target / "experiments" / "precision_bf16"
    experiment.mkdir(parents=True)
    shutil.copy(revision / "model_meta.json", target / "model_meta.json")
    for name in (f"{TASK}.json", "model_meta.json", "run_settings.jsonl"):
        shutil.copy(revision / "experiments" / "precision_bf16" / name, experiment / name)
    return target


def _edit_metas(folder: Path, **changes) -> None:
    for path in folder.rglob("model_meta.json"):
        path.write_text(json.dumps({**json.loads(path.read_text()), **changes}, indent=4))


def _rename(path: Path, name: str) -> Path:
    return path.rename(path.parent / name)


def break_structure(rev: Path) -> None:
    _rename(rev.parent, "xlr-bench__elsewhere")


def break_meta_missing(rev: Path) -> None:
    (rev / "model_meta.json").unlink()


def break_meta_malformed(rev: Path) -> None:
    (rev / "model_meta.json").write_text('{"name": "xlr-bench/me5-small-hybrid-a050-s42", ')


def break_revision_form(rev: Path) -> None:
    _edit_metas(rev, revision="v2")
    _rename(rev, "v2")


def break_organisation(rev: Path) -> None:
    _edit_metas(rev, name=NAME.split("/")[1])
    _rename(rev.parent, NAME.split("/")[1])


def break_revision_match(rev: Path) -> None:
    _edit_metas(rev, revision=OTHER_SHA1)


def break_task_name(rev: Path) -> None:
    shutil.copy(rev / "experiments" / "precision_bf16" / f"{TASK}.json", rev / "AfriQAPivotRetrieval.json")


def break_duplicate_task(rev: Path) -> None:
    shutil.copy(rev / "experiments" / "precision_bf16" / f"{TASK}.json", rev / f"{TASK}.json")
    other = rev.parent / OTHER_SHA1
    other.mkdir()
    shutil.copy(rev / f"{TASK}.json", other / f"{TASK}.json")
    shutil.copy(rev / "model_meta.json", other / "model_meta.json")
    _edit_metas(other, revision=OTHER_SHA1)


def break_implemented(rev: Path) -> None:
    _edit_metas(rev.parent, name="someone/unknown-model", loader=None)
    _rename(rev.parent, "someone__unknown-model")


# rule -> (how to break it, the upstream test that must fail)
REPOSITORY_RULES = {
    "structure": (break_structure, "test_correct_folder_structure"),
    "model-meta": (break_meta_missing, "test_model_meta_in_folders"),
    "model-meta (malformed)": (break_meta_malformed, "test_correct_folder_structure"),
    "revision-form": (break_revision_form, "test_revision_is_specified_for_new_additions"),
    "organisation": (break_organisation, "test_organization_is_specified_for_new_additions"),
    "revision-match": (break_revision_match, "test_that_revision_match"),
    "task-name": (break_task_name, "test_task_name_matches_filename"),
    "duplicate-task": (break_duplicate_task, "test_no_duplicate_task_results_exist"),
    "implemented": (break_implemented, "test_all_models_are_implemented_in_mteb"),
}


def break_beyond_the_repository(rev: Path) -> set[str]:
    """One tree breaking every rule xlr-bench adds (the repository's suite checks none of them)."""
    experiment = rev / "experiments" / "precision_bf16"
    (experiment / "notes.txt").write_text("scored on my laptop")  # foreign-file
    with (experiment / "run_settings.jsonl").open("a") as handle:  # run-settings, local-path
        handle.write(json.dumps({"task": TASK, "encode_kwargs": {"cache": "/home/me/.cache/mteb"}}) + "\n")
    (experiment / "Broken.json").write_text(json.dumps({"task_name": "Broken", "scores": "none"}))  # task-result
    partial = json.loads((experiment / f"{TASK}.json").read_text())  # unfinished: 1 subset of an interrupted run
    partial["scores"] = {split: entries[:1] for split, entries in partial["scores"].items()}
    (experiment / f".{TASK}.json.partial").write_text(json.dumps(partial))
    with (experiment / "Padding.json").open("w") as handle:  # file-size (and not a TaskResult)
        handle.write('{"task_name": "Padding", "pad": "' + "x" * (10 * 1024 * 1024) + '"}')
    twin = rev.parent / OTHER_SHA1 / "experiments" / "precision_bf16"  # duplicate-task across experiments
    shutil.copytree(experiment.parent.parent, twin.parent.parent, ignore=shutil.ignore_patterns("Padding.json",
                                                                                               "Broken.json", "notes.txt"))
    _edit_metas(twin.parent.parent, revision=OTHER_SHA1)
    return {"foreign-file", "run-settings", "local-path", "task-result", "file-size", "duplicate-task", "unfinished"}


def _peer(root: Path, out: Path) -> set[str]:
    """The upstream tests that fail on ``root`` (the repository's suite, with xlr_bench imported)."""
    if not PEER.is_file():
        pytest.fail(f"peer suite not found at {PEER}")
    env = dict(os.environ, PEER_IMPORT="xlr_bench")
    run = subprocess.run(["bash", str(PEER), str(root), sys.executable, "-rf"], capture_output=True, text=True,
                         env=env, timeout=600)
    (out / "peer.log").write_text(run.stdout + run.stderr)
    failed = {line.split("::")[1].split("[")[0].split(" ")[0] for line in run.stdout.splitlines()
              if line.startswith("FAILED ")}
    assert run.returncode in (0, 1) and (run.returncode == 1) == bool(failed), run.stdout[-3000:] + run.stderr[-3000:]
    return failed


@pytest.fixture(scope="module")
def verdicts(tmp_path_factory):
    """(validate's rules, the failing upstream tests) for each broken tree, peer runs two at a time."""
    trees = {}
    for label, (breaker, _) in REPOSITORY_RULES.items():
        root = tmp_path_factory.mktemp(label.split(" ")[0]) / "results"
        breaker(_good(root))
        trees[label] = root
    beyond = tmp_path_factory.mktemp("beyond") / "results"
    expected_beyond = break_beyond_the_repository(_good(beyond))
    trees["beyond"] = beyond
    clean = tmp_path_factory.mktemp("clean") / "results"
    _good(clean)
    trees["clean"] = clean
    with ThreadPoolExecutor(max_workers=2) as pool:
        peer = dict(zip(trees, pool.map(lambda root: _peer(root, root.parent), trees.values())))
    found = {label: validate_results(root) for label, root in trees.items()}
    return found, peer, expected_beyond, trees


@pytest.mark.parametrize("label", list(REPOSITORY_RULES))
def test_validate_and_the_repository_agree_on_each_rule(verdicts, label):
    found, peer, *_ = verdicts
    rule = label.split(" ")[0]
    assert rule in {p.rule for p in found[label].problems}, found[label].problems
    assert REPOSITORY_RULES[label][1] in peer[label], peer[label]


def test_a_clean_copy_passes_both(verdicts):
    found, peer, *_ = verdicts
    assert found["clean"].problems == [] and found["clean"].checked == 1 and peer["clean"] == set()
    assert found["clean"].upstream_models == [NAME] and found["clean"].upstream_tasks == [TASK]


def test_xlr_bench_rules_are_stricter_and_every_problem_is_listed(verdicts):
    found, peer, expected, trees = verdicts
    assert peer["beyond"] == set()  # the repository's suite checks none of these
    assert {p.rule for p in found["beyond"].problems} == expected
    assert expected <= set(RULES)
    cli = CliRunner().invoke(main, ["results", "validate", str(trees["beyond"])])
    assert cli.exit_code == 1
    assert cli.output.count("[") >= len(expected) and "[file-size]" in cli.output and "[foreign-file]" in cli.output


def test_validate_of_a_missing_folder_is_one_clear_error(tmp_path):
    result = CliRunner().invoke(main, ["results", "validate", str(tmp_path / "nope")])
    assert result.exit_code == 2 and "does not exist" in result.output


def test_validate_of_a_folder_without_results_says_what_it_expected(tmp_path):
    (tmp_path / "empty").mkdir()
    empty = CliRunner().invoke(main, ["results", "validate", str(tmp_path / "empty")])
    assert empty.exit_code == 2 and "No results in" in empty.output and "<org__model>/<revision>/" in empty.output
    _good(tmp_path / "above" / "results")  # the folder above the root: mteb's ResultCache(PATH) layout
    above = CliRunner().invoke(main, ["results", "validate", str(tmp_path / "above")])
    assert above.exit_code == 2 and f"pass {tmp_path / 'above' / 'results'}," in above.output


def test_the_committed_results_pass_and_name_the_upstream_step():
    found = validate_results(REPO / "results")
    # every task file (model_meta.json aside) is checked, every committed model is named for the upstream step
    task_files = [p for p in (REPO / "results").rglob("*.json") if p.name != "model_meta.json"]
    names = {json.loads(p.read_text())["name"] for p in (REPO / "results").glob("*/*/model_meta.json")}
    assert found.problems == [] and found.checked == len(task_files) >= 54
    assert set(found.upstream_models) == names and NAME in found.upstream_models and TASK in found.upstream_tasks


def test_submit_writes_the_repository_layout_and_the_registry_snippet(tmp_path):
    out = tmp_path / "submission"
    result = CliRunner().invoke(main, ["results", "submit", NAME.split("/")[1], "--results", str(REPO / "results"),
                                       "--out", str(out), "--training-code-url", "https://example.org/xlr-bench"])
    assert result.exit_code == 0, result.output
    copied = sorted(p.relative_to(out / "results") for p in (out / "results").rglob("*") if p.is_file())
    source = sorted(p.relative_to(REPO / "results") for p in SOURCE.rglob("*") if p.is_file())
    assert copied == source
    assert validate_results(out / "results").problems == []
    namespace: dict = {}
    exec((out / SNIPPET).read_text(), namespace)  # noqa: S102 -- the generated source must build a ModelMeta
    (snippet,) = [v for v in namespace.values() if isinstance(v, mteb.models.ModelMeta)]
    (registered,) = [m for m in result_model_metas([REPO / "results"]) if m.name == NAME]
    for field in ("name", "revision", "n_parameters", "n_embedding_parameters", "embed_dim", "training_datasets",
                  "adapted_from", "release_date", "memory_usage_mb"):
        assert getattr(snippet, field) == getattr(registered, field), field
    assert snippet.public_training_code == "https://example.org/xlr-bench"
    assert snippet.loader_kwargs == {"model_prompts": {"query": "query: ", "document": "passage: "}}
    assert "upstream" not in result.output or "models:" in result.output
    assert "AfriQARetrieval" in (out / "README.md").read_text()
    # refused: a folder that is not empty, a model without results
    again = CliRunner().invoke(main, ["results", "submit", NAME, "--results", str(REPO / "results"), "--out", str(out)])
    assert again.exit_code == 2 and "not empty" in again.output
    unknown = CliRunner().invoke(main, ["results", "submit", "nope", "--results", str(REPO / "results"),
                                        "--out", str(tmp_path / "x")])
    assert unknown.exit_code == 2 and "me5-small-hybrid-a000-s42" in unknown.output


def test_submit_writes_nothing_when_a_check_fails(tmp_path):
    root = tmp_path / "results"
    break_revision_match(_good(root))
    out = tmp_path / "submission"
    result = CliRunner().invoke(main, ["results", "submit", NAME, "--results", str(root), "--out", str(out)])
    assert result.exit_code == 1 and "[revision-match]" in result.output and not out.exists()
