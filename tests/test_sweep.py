"""The α sweep and its report, end to end on a tiny local model and real data."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from xlr_bench.core.errors import XLRBenchError
from xlr_bench.report.study import build_report, collect, one_row_per_alpha
from xlr_bench.training.sweep import SweepConfig, check_ratios, planned_runs, run_sweep
from xlr_bench.training.trainer import TrainConfig

# the sentence variants: the sweep is what is tested here, and paragraph candidates would cost ~4x the time
TASKS = ["XQuADRSentenceRetrieval", "XQuADRSentenceMonolingualRetrieval", "XQuADRSentenceCrossLingualRetrieval",
         "AfriQARetrieval"]


def _config(base: str) -> SweepConfig:
    return SweepConfig(
        base=base, ratios=[0.0, 1.0], seeds=[1, 2], replicate_ratios=[1.0], tasks=TASKS,
        subsets=["th", "th-th", "de-th", "hau"], eval_batch_size=64,
        train=TrainConfig(base=base, train_data=["mlqa-r"], steps=2, batch_size=8, max_pairs=300,
                          eval_steps=2, save_steps=2, learning_rate=1e-3),
    )


@pytest.fixture(scope="module")
def swept(tiny_model_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("sweep")
    config = _config(str(tiny_model_dir))
    report = run_sweep(config, root / "sweep", root / "results", root / "report")
    return config, root, report


def test_sweep_trains_every_run_and_scores_base_and_checkpoints(swept):
    config, root, _ = swept
    assert planned_runs(config) == [(0.0, 1), (1.0, 1), (1.0, 2)]
    assert sorted(p.name for p in (root / "sweep").glob("a*-s*")) == ["a000-s1", "a100-s1", "a100-s2"]
    # one model name per (α, seed); the report's row of an α holds its seeds
    assert sorted(p.name for p in (root / "results").iterdir()) == [
        "local__st", "xlr-bench__st-hybrid-a000-s1", "xlr-bench__st-hybrid-a100-s1", "xlr-bench__st-hybrid-a100-s2"]
    names = {m.name: len(m.revisions) for m in one_row_per_alpha(collect(root / "results").models)}
    assert names == {"local/st": 1, "xlr-bench/st-hybrid-a000": 1, "xlr-bench/st-hybrid-a100": 2}
    meta = json.loads(next((root / "results").glob("xlr-bench__st-hybrid-a000-s1/*/model_meta.json")).read_text())
    assert meta["training_datasets"] == sorted(meta["training_datasets"]) and len(meta["training_datasets"]) > 2
    # the untrained model's validation loss is computed once and shared by every (α, seed)
    (shared,) = json.loads((root / "sweep" / "base_validation_loss.json").read_text()).values()
    records = [json.loads((p / "xlr_bench_training.json").read_text()) for p in (root / "sweep").glob("a*-s*")]
    assert {r["validation_loss"]["before"] for r in records} == {shared}


def test_report_has_tables_intervals_tests_and_plots(swept):
    _, root, report = swept
    text = report.read_text()
    for needle in ("| model | runs | zero-shot | Mo. mAP@20", "95% bootstrap intervals", "Paired bootstrap tests on mAP@20", "| α=1.00 − α=0.00 | Mo. |",
                   "unseen in training", "The α the criterion picks", "α=1.00 | 2 |",
                   "Seed to seed (mAP@20", "| α=1.00 | range |", "| α=1.00 | s2 |", "## Zero-shot, as mteb computes it", "Maximum length at scoring: 128 tokens for every model.",
                   "### AfriQARetrieval", "| hau |", "Paired bootstrap tests on nDCG@10", "Seed to seed (nDCG@10"):
        assert needle in text, needle
    for plot in ("xquad-r-sentence_map_at_20_vs_alpha.png", "xquad-r-sentence_rank_distance_vs_alpha.svg",
                 "xquad-r-sentence_heatmap_multilingual.png",
                 "low-resource_ndcg_at_10_vs_alpha.png"):
        assert (root / "report" / plot).stat().st_size > 1000
    # the AfriQA mean row is the subset's nDCG@10 as mteb scored it
    base = next(m for m in collect(root / "results").models if m.alpha is None)
    ndcg = base.results["AfriQARetrieval"]["hau"][0].scores["ndcg_at_10"]
    assert f"| **mean** | **{ndcg:.4f}** |" in text


def test_rerun_recomputes_nothing_and_other_config_is_refused(swept):
    config, root, _ = swept
    runs = [root / "sweep" / name for name in ("a000-s1", "a100-s1", "a100-s2")]
    phases = [json.loads(line) for line in (root / "sweep" / "timings.jsonl").read_text().splitlines()]
    trainings = [p for p in phases if p["phase"] == "train"]
    assert len(trainings) == 3 and all(p["steps"] == 2 and p["from_step"] == 0 for p in trainings)
    # every phase that runs the model says how much of its wall time was forward / backward passes
    for p in phases:
        if p["phase"] in ("train", "evaluate"):
            assert 0 < p["forward"] and p["forward"] + p["backward"] <= p["seconds"], p
            assert (p["backward"] > 0) == (p["phase"] == "train"), p
    assert all(list((run / "checkpoints").glob("checkpoint-*/trainer_state.json")) for run in runs)  # kept by default
    run_sweep(config, root / "sweep", root / "results", keep_checkpoints=False)
    # the file holds this invocation's phases: nothing retrained, the four models' (cached) evaluations
    lines = (root / "sweep" / "timings.jsonl").read_text().splitlines()
    assert sum('"train"' in line for line in lines) == 0 and sum('"evaluate"' in line for line in lines) == 4
    # finished runs lose their resumable checkpoints, never their final model
    assert not any((run / "checkpoints").exists() for run in runs)
    assert all((run / "model.safetensors").is_file() and (run / "xlr_bench_training.json").is_file() for run in runs)
    with pytest.raises(XLRBenchError, match=r"train\.steps: 2 there, 3 now"):
        run_sweep(replace(config, train=replace(config.train, steps=3)), root / "sweep", root / "results")


def test_report_lists_foreign_files_and_builds_from_the_rest(swept, tmp_path):
    _, root, _ = swept
    import shutil

    results = tmp_path / "results"
    shutil.copytree(root / "results", results)
    folder = next(results.glob("xlr-bench__st-hybrid-a000-s1/*"))
    (folder / "NotAResult.json").write_text(json.dumps({"hello": "world"}))
    (folder / "XQuADRSentenceCrossLingualRetrieval.json").unlink()
    # one seed of α=1 scored on AfriQA only: the XQuAD-R table counts the one run it has
    for path in next(results.glob("xlr-bench__st-hybrid-a100-s1/*")).glob("XQuADR*.json"):
        path.unlink()
    # the base model scored on one more AfriQA language than the tuned runs: their means are flagged
    afriqa = next(results.glob("local__st/*/AfriQARetrieval.json"))
    data = json.loads(afriqa.read_text())
    data["scores"]["test"].append(dict(data["scores"]["test"][0], hf_subset="yor", languages=["yor-Latn"]))
    afriqa.write_text(json.dumps(data))
    report = build_report(results, tmp_path / "report").read_text()
    assert "**Not comparable**" in report and "α=1.00 (" in report and "AfriQARetrieval on 1 of 2 subsets" in report
    assert "base (st) (" not in report.split("**Not comparable**")[1].split("\n")[0]
    assert "NotAResult.json: not an mteb result" in report
    assert "Missing results" in report and "α=0.00: XQuADRSentenceCrossLingualRetrieval" in report
    assert "| α=1.00 | 1 |" in report and "α=1.00 (2 runs)" in report


def test_criterion_uses_the_dataset_with_the_most_alphas(swept, tmp_path):
    """A dataset scored for the base model alone, or for only some α, must not hide or narrow the criterion."""
    _, root, _ = swept
    import shutil

    results = tmp_path / "results"
    shutil.copytree(root / "results", results)
    for path in results.glob("xlr-bench__st-hybrid-*/*/XQuADRSentence*Retrieval.json"):
        data = json.loads(path.read_text())
        data["task_name"] = data["task_name"].replace("XQuADRSentence", "XQuADR")
        (path.parent / f"{data['task_name']}.json").write_text(json.dumps(data))
        if "a100" in str(path):  # α=0 keeps the sentence dataset too
            path.unlink()
    text = build_report(results, tmp_path / "report").read_text()
    assert "## XQUAD-R\n" in text and "## XQUAD-R-SENTENCE" in text
    criterion = text[text.index("## The α the criterion picks"):]
    assert "Here: XQUAD-R." in criterion
    assert "| α=0.00 |" in criterion and "| α=1.00 |" in criterion and "**Picked: α=" in criterion


def test_rebuilding_a_report_leaves_its_plots_byte_identical(swept, tmp_path):
    _, root, _ = swept
    # report.md aside: the sweep's adds its "About this run", which the result files alone cannot give
    first = {p.name: p.read_bytes() for p in (root / "report").iterdir() if p.suffix != ".md"}
    build_report(root / "results", tmp_path / "again")
    second = {p.name: p.read_bytes() for p in (tmp_path / "again").iterdir() if p.suffix != ".md"}
    assert first.keys() == second.keys()
    assert [n for n in first if first[n] != second[n]] == []


def test_bad_ratio_lists():
    with pytest.raises(XLRBenchError, match=r"\[0, 1\]"):
        check_ratios([0.0, 1.5])
    with pytest.raises(XLRBenchError, match="more than once"):
        check_ratios([0.5, 0.5])


def test_report_and_site_group_by_the_recorded_training_configuration(swept, tmp_path):
    """A second sweep with another configuration (or a stale retrain) writing into the same results/
    must not appear as another seed of an α: such revisions are named and left out, by the one
    collection path the report and the leaderboard site share."""
    _, root, _ = swept
    import shutil

    from xlr_bench.report.site import build_site

    results = tmp_path / "results"
    shutil.copytree(root / "results", results)
    (original,) = list(results.glob("xlr-bench__st-hybrid-a000-s1/*"))
    settings = [json.loads(line) for line in (original / "run_settings.jsonl").read_text().splitlines()]
    assert {s["encode_kwargs"]["training"]["steps"] for s in settings} == {2}  # what the evaluation recorded
    assert "/tmp" not in (original / "run_settings.jsonl").read_text()  # no local path (results validate's rule)

    def copy_with(revision: str, **changes) -> None:
        folder = original.parent / revision
        shutil.copytree(original, folder)
        lines = [dict(s, encode_kwargs=dict(s["encode_kwargs"], training=dict(s["encode_kwargs"]["training"], **changes)))
                 for s in settings]
        (folder / "run_settings.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))

    copy_with("0000aaaa" + "0" * 32, steps=3)  # another sweep's configuration
    text = build_report(results, tmp_path / "report").read_text()
    assert "xlr-bench/st-hybrid-a000-s1 0000aaaa: trained with another configuration: steps 3 (others: 2); left out" in text
    assert "α=0.00 (1 run)" in text
    site = build_site(results, tmp_path / "site")
    assert [p.reason for p in site.problems] == [
        "xlr-bench/st-hybrid-a000-s1 0000aaaa: trained with another configuration: steps 3 (others: 2); left out"]
    copy_with("0000bbbb" + "0" * 32)  # a second checkpoint of the same α, seed and configuration
    text = build_report(results, tmp_path / "report").read_text()
    assert "0000bbbb: one of 2 checkpoints of seed 1 with one configuration" in text
    assert "α=0.00 (" not in text.split("## Files not used")[0]  # both checkpoints of α=0 seed 1 left out


def test_report_says_what_the_run_was(swept):
    """Scale, scored languages and the single-run caveat are stated, so a small run does not read as a finding."""
    _, _, report = swept
    text = report.read_text()
    about = text[text.index("## About this run"):text.index("Built from the result files")]
    assert "α ∈ {0, 1}; seed(s) 1, 2 (seeds after the first for α ∈ {1})" in about
    assert "Each checkpoint trained 2 steps × batch 8 = 16 pairs — 5.3 % of one epoch of the 300 training pairs" in about
    assert "subsets th, th-th, de-th, hau only" in about
    assert "/tmp" not in about and "base model st;" in about and "A small-scale run" not in about  # 5.3 % is not < 5 %
    assert "**Only some languages were scored** (Mo. th-th; Cr. de-th; Mul. th)" in text
    assert "One training run of α=0.00" in text


def test_settings_left_out_are_named_once_not_reported_missing(swept, tmp_path):
    _, root, _ = swept
    import shutil

    results = tmp_path / "results"
    shutil.copytree(root / "results", results)
    for path in results.glob("*/*/XQuADRSentenceRetrieval.json"):
        path.unlink()
    text = build_report(results, tmp_path / "report").read_text()
    section = text[text.index("## XQUAD-R-SENTENCE"):text.index("## Low-resource")]
    assert "Not scored in these results: Mul. (XQuADRSentenceRetrieval)." in section
    assert "Missing results" not in section and "Mul. mAP@20" not in section
    assert "| model | runs | zero-shot | Mo. mAP@20 | Cr. mAP@20 | Mo. mAP | Cr. mAP | Mo. R@1 | Cr. R@1 |" in section
    # the per-language view falls back to the monolingual task, which has no rank distance
    assert "### Per query language (XQuADRSentenceMonolingualRetrieval, mAP@20)" in section
    assert (tmp_path / "report" / "xquad-r-sentence_heatmap_monolingual.png").stat().st_size > 1000


def test_terminal_headline_and_folders_without_results(swept, tmp_path):
    from click.testing import CliRunner

    from xlr_bench.cli.app import main

    _, root, _ = swept
    done = CliRunner().invoke(main, ["report", str(root / "results"), "--out", str(tmp_path / "r")])
    assert done.exit_code == 0, done.output
    lines = done.output.splitlines()
    base = next(m for m in collect(root / "results").models if m.alpha is None)
    mono = base.results["XQuADRSentenceMonolingualRetrieval"]["th-th"][0].scores["map_at_20"]
    ndcg = base.results["AfriQARetrieval"]["hau"][0].scores["ndcg_at_10"]
    start = lines.index("XQUAD-R-SENTENCE (mAP@20, mean over the subsets scored)")
    assert lines[start + 1].split() == ["model", "Mo.", "Cr.", "Mul."]
    assert lines[start + 2].startswith("base (st)") and f"{mono:.4f}" in lines[start + 2]
    assert any(line.startswith("base (st)") and line.split()[-1] == f"{ndcg:.4f}" for line in lines)
    assert lines[-1] == f"report: {tmp_path / 'r' / 'report.md'}"

    (tmp_path / "empty").mkdir()
    empty = CliRunner().invoke(main, ["report", str(tmp_path / "empty"), "--out", str(tmp_path / "e")])
    assert empty.exit_code == 2 and "No results in" in empty.output and "<org__model>/<revision>/" in empty.output
    assert not (tmp_path / "e").exists()


def test_a_report_rebuilt_later_says_how_the_sweep_made_its_models(tmp_path):
    """`xlr-bench report --sweep-dir` reads the sweep's recorded configuration (the committed 300-step study's
    sweep.json) and writes the same "About this run" lines the sweep itself does; a folder without one is refused."""
    from click.testing import CliRunner

    from xlr_bench.cli import main
    from xlr_bench.training.sweep import sweep_about

    repo = Path(__file__).resolve().parent.parent
    study = repo / "reports" / "alpha-sweep-300steps-bf16"
    about = sweep_about(study)
    assert about[0].startswith("Made by `xlr-bench sweep`: base model me5-small; recipe tag 300stepsbf16; "
                               "α ∈ {0, 0.25, 0.5, 0.75, 1}; seed(s) 42, 43, 44 (seeds after the first for α ∈ {0, 0.5, 1}).")
    assert "300 steps × batch 16 = 4,800 pairs" in about[1] and "XQuADRCrossLingualRetrieval" in about[2]
    with pytest.raises(XLRBenchError, match="no sweep.json there"):
        sweep_about(tmp_path)
    out = CliRunner().invoke(main, ["report", str(repo / "results"), "--out", str(tmp_path / "r"), "--sweep-dir", str(tmp_path)])
    assert out.exit_code != 0 and "no sweep.json there" in out.output
