"""The leaderboard site, built from the committed results (and from broken copies of them).

Every figure on the page is checked against the result files read here with plain ``json``, not
through the code that built the page. ``tests/test_site_browser.py`` drives the same site in a real
browser.
"""

from __future__ import annotations

import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner

from xlr_bench.cli import main

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "results"
METRICS = ("map_at_20", "rank_distance", "ndcg_at_10")


def run_folders(results: Path) -> dict[Path, tuple[str, str]]:
    """Every folder with results -> (model name, run key = revision[/experiment]), from the files alone."""
    folders = {}
    for meta_path in sorted(results.rglob("model_meta.json")):
        folder = meta_path.parent
        if not [p for p in folder.glob("*.json") if p.name != "model_meta.json"]:
            continue  # a revision-level model_meta.json beside experiments/ holds no scores
        relative = folder.relative_to(results).parts  # org__model / revision [/ experiments / name]
        key = relative[1] if len(relative) == 2 else f"{relative[1]}/{relative[3]}"
        folders[folder] = (json.loads(meta_path.read_text(encoding="utf-8"))["name"], key)
    return folders


def committed_run(pattern: str) -> Path:
    """The first committed run folder whose model name matches ``pattern`` (a regular expression)."""
    return next(f for f, (name, _) in run_folders(RESULTS).items() if re.fullmatch(pattern, name))


BASE = r"xlr-bench/me5-small"
HYBRID = r"xlr-bench/me5-small-hybrid-a{:03d}(-s\d+)?"


def expected_runs(results: Path) -> dict[tuple[str, str], dict[str, float]]:
    """(model name, run key) -> {"<Task>.<metric>": mean over the file's subsets}, from the JSON alone."""
    runs = {}
    for folder, run in run_folders(results).items():
        tasks = [p for p in sorted(folder.glob("*.json")) if p.name != "model_meta.json"]
        values = {}
        for path in tasks:
            data = json.loads(path.read_text(encoding="utf-8"))
            entries = [e for split in data["scores"].values() for e in split]
            for metric in METRICS:
                scored = [e[metric] for e in entries if metric in e]
                if scored:
                    values[f"{data['task_name']}.{metric}"] = sum(scored) / len(scored)
        runs[run] = values
    return runs


class _TableRows(HTMLParser):
    """The main table's rows as (model, run) -> {column: data-value} (the page as served, no script run)."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[tuple[str, str], dict[str, str]] = {}
        self._row: dict[str, str] | None = None
        self._in_table = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table":
            self._in_table = attrs.get("id") == "leaderboard-table"
        elif self._in_table and tag == "tr" and "data-model" in attrs:
            self._row = self.rows.setdefault((attrs["data-model"], attrs["data-run"]), {})
        elif self._row is not None and tag in ("td", "th") and "data-col" in attrs:
            self._row[attrs["data-col"]] = attrs.get("data-value", "")

    def handle_endtag(self, tag):
        if tag == "table":
            self._in_table, self._row = False, None


def page_rows(site: Path) -> dict[tuple[str, str], dict[str, str]]:
    parser = _TableRows()
    parser.feed((site / "index.html").read_text(encoding="utf-8"))
    return parser.rows


def leaderboard(*args: str):
    return CliRunner().invoke(main, ["leaderboard", *args], catch_exceptions=False)


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site") / "site"
    result = leaderboard(str(RESULTS), "--out", str(out))
    assert result.exit_code == 0, result.output
    assert f"{len(expected_runs(RESULTS))} runs of" in result.output
    return out


def small_tree(root: Path, pattern: str = BASE, tasks=("AfriQARetrieval",)) -> Path:
    """A copy of one committed run of the model ``pattern`` names, with only ``tasks`` (small, fast to read)."""
    source = committed_run(pattern)
    target = root / source.relative_to(RESULTS)
    target.mkdir(parents=True)
    for name in ("model_meta.json", *(f"{t}.json" for t in tasks)):
        shutil.copyfile(source / name, target / name)
    return target


def test_every_run_and_figure_comes_from_the_result_files(site):
    expected = expected_runs(RESULTS)
    rows = page_rows(site)
    assert set(rows) == set(expected) and len(rows) >= 9
    for run, cells in rows.items():
        columns = [c for c in cells if "." in c]  # Task.metric columns (the others are model facts)
        assert columns, run
        for column in columns:
            if cells[column] == "":
                assert column not in expected[run], (run, column)
            else:
                assert float(cells[column]) == pytest.approx(expected[run][column], abs=1e-12), (run, column)
    # every file a figure links to is in the site, byte for byte the one it was read from
    index = (site / "index.html").read_text(encoding="utf-8")
    linked = {part.split('"')[0] for part in index.split('href="files/')[1:]}
    assert linked and all((site / "files" / link).read_bytes() == (RESULTS.parent / link).read_bytes()
                          for link in linked)


def test_pages_per_model_with_metadata_and_links(site):
    pages = sorted((site / "models").glob("*.html"))
    assert len(pages) == len(expected_runs(RESULTS))
    folder = committed_run(HYBRID.format(50))
    name, key = run_folders(RESULTS)[folder]
    meta = json.loads((folder / "model_meta.json").read_text())
    settings = [json.loads(line) for line in (folder / "run_settings.jsonl").read_text().splitlines() if line]
    page = (site / "models" / f"{name.replace('/', '__')}__{key.replace('/', '__')}.html").read_text()
    for needle in (f"<h1>{name}</h1>", "0.50", meta["adapted_from"], *meta["training_datasets"], "n_parameters",
                   str(meta["n_parameters"]), f"mteb {settings[0]['version']['mteb']}",
                   f"precision={settings[0]['encode_kwargs']['precision']}",
                   f'href="../files/results/{(folder / "AfriQARetrieval.json").relative_to(RESULTS).as_posix()}"'):
        assert needle in page, needle
    # assets are bundled and nothing points off the site
    index = (site / "index.html").read_text(encoding="utf-8")
    assert (site / "assets" / "site.js").is_file() and (site / "assets" / "site.css").is_file()
    assert "http://" not in index and "https://" not in index and "/work/" not in index


def test_rebuild_is_byte_identical(site, tmp_path):
    again = tmp_path / "again"
    assert leaderboard(str(RESULTS), "--out", str(again)).exit_code == 0
    first = sorted(p.relative_to(site) for p in site.rglob("*") if p.is_file())
    assert first == sorted(p.relative_to(again) for p in again.rglob("*") if p.is_file())
    assert all((site / p).read_bytes() == (again / p).read_bytes() for p in first)


def test_empty_folder_gets_a_page_that_says_so_and_fails(tmp_path):
    (tmp_path / "results").mkdir()
    result = CliRunner().invoke(main, ["leaderboard", str(tmp_path / "results"), "--out", str(tmp_path / "site")])
    assert result.exit_code == 2
    assert "No results of XLR tasks" in result.output
    assert "No XLR results found" in (tmp_path / "site" / "index.html").read_text()


def test_foreign_and_corrupt_files_are_listed_and_the_rest_is_built(tmp_path):
    results = tmp_path / "results"
    run = small_tree(results)
    (run / "notes.json").write_text('{"hello": "world"}')
    (run / "AfriQAPivotRetrieval.json").write_text('{"task_name": "AfriQAPivotRetrieval", "scores": ')  # cut off
    broken = small_tree(results, HYBRID.format(25))
    (broken / "model_meta.json").write_text("{not json")
    result = CliRunner().invoke(main, ["leaderboard", str(results), "--out", str(tmp_path / "site")])
    assert result.exit_code == 0, result.stderr
    for name in ("notes.json", "AfriQAPivotRetrieval.json", "model_meta.json"):
        assert name in result.stderr
    page = (tmp_path / "site" / "index.html").read_text()
    problems = page.split('id="problems"')[1]
    assert f"results/{run.relative_to(results).as_posix()}/notes.json</code>: not an mteb result" in problems
    assert "AfriQAPivotRetrieval.json</code>: not an mteb result" in problems
    assert "unreadable model_meta.json" in problems
    rows = page_rows(tmp_path / "site")
    base = run_folders(RESULTS)[committed_run(BASE)]
    assert list(rows) == [base]
    expected = expected_runs(RESULTS)[base]["AfriQARetrieval.ndcg_at_10"]
    assert float(rows[base]["AfriQARetrieval.ndcg_at_10"]) == pytest.approx(expected, abs=1e-12)


def test_existing_output_is_refused_unless_overwrite_and_only_an_earlier_site(tmp_path):
    results = tmp_path / "results"
    small_tree(results)
    out = tmp_path / "site"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    refused = CliRunner().invoke(main, ["leaderboard", str(results), "--out", str(out)])
    assert refused.exit_code == 2 and "--overwrite" in refused.output
    not_a_site = CliRunner().invoke(main, ["leaderboard", str(results), "--out", str(out), "--overwrite"])
    assert not_a_site.exit_code == 2 and "not a site built by" in not_a_site.output
    assert (out / "keep.txt").read_text() == "mine"
    inside = CliRunner().invoke(main, ["leaderboard", str(results), "--out", str(results / "site")])
    assert inside.exit_code == 2 and "overlaps the results folder" in inside.output
    site = tmp_path / "real-site"
    assert leaderboard(str(results), "--out", str(site)).exit_code == 0
    (site / "index.html").write_text("stale")
    assert leaderboard(str(results), "--out", str(site), "--overwrite").exit_code == 0
    assert "XLR leaderboard" in (site / "index.html").read_text()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging folder left behind


def test_partial_runs_are_marked_and_kept_out_of_the_alpha_curves(tmp_path):
    results = tmp_path / "results"
    small_tree(results, HYBRID.format(0), tasks=("XQuADRSentenceRetrieval",))
    path = small_tree(results, HYBRID.format(100), tasks=("XQuADRSentenceRetrieval",)) / "XQuADRSentenceRetrieval.json"
    data = json.loads(path.read_text())
    data["scores"]["test"] = data["scores"]["test"][:5]  # an interrupted evaluation: 5 of 11 languages
    path.write_text(json.dumps(data))
    assert leaderboard(str(results), "--out", str(tmp_path / "site")).exit_code == 0
    page = (tmp_path / "site" / "index.html").read_text()
    partial = [line for line in page.splitlines() if 'data-col="XQuADRSentenceRetrieval.map_at_20"' in line
               and "class=\"num partial\"" in line]
    assert len(partial) == 1 and "partial: 5 of 11 subsets" in partial[0]
    curves = page.split('id="curves"')[1]
    assert 'data-alpha="1.0"' not in curves and 'data-alpha="0.0"' in curves
    assert "left out, partial: α=1.00" in curves


def test_several_results_folders_are_merged_and_the_first_copy_of_a_run_wins(tmp_path):
    first, second = tmp_path / "ours", tmp_path / "theirs"
    small_tree(first)
    small_tree(second)  # the same run again
    other = small_tree(second, HYBRID.format(75))
    result = CliRunner().invoke(main, ["leaderboard", str(first), str(second),
                                                       "--out", str(tmp_path / "site")])
    assert result.exit_code == 0, result.stderr
    assert "the first one read is used" in result.stderr
    rows = page_rows(tmp_path / "site")
    assert set(rows) == set(expected_runs(first)) | set(expected_runs(second))
    base_dir = committed_run(BASE).relative_to(RESULTS).parts[0]
    page = (tmp_path / "site" / "index.html").read_text()
    assert f'href="files/theirs/{other.relative_to(second).parts[0]}/' in page
    assert f'href="files/ours/{base_dir}/' in page and f'href="files/theirs/{base_dir}/' not in page
