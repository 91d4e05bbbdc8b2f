"""The leaderboard: a self-contained static site of XLR results, built from result files alone.

``build_site(results_dirs, out_dir)`` reads one or more mteb results trees (the project's
``results/``, a checkout of the MTEB results repository, or both) through the report's own
``collect``, so the report and the site show the same numbers, and writes:

- ``index.html``: one row per model run (name, α, seed, base, parameters, mteb's zero-shot %) and
  one column per task and setting (Mo. / Cr. / Mul. mAP@20, Mul. rank distance, nDCG@10 of the
  low-resource tasks), sortable and filterable; a per-language view (query language × run, grouped
  into languages seen / unseen in training and low-resource ones); α curves of each hybrid family
  with the spread over seeds as error bars; and the files that could not be used;
- ``models/<run>.html``: a run's metadata, training facts, scoring settings and scores;
- ``files/``: a copy of every result file a figure comes from, so each number links to its source.

Means over fewer subsets than the runs beside them are marked partial (the report's coverage check)
and left out of the α curves; missing results are shown as missing, never averaged over. Pages are
Jinja2 templates, the scripts and styles are bundled, nothing is fetched at view time, and the
output depends on the result files alone (no dates, no local paths), so a rebuild is byte-identical.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import warnings
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from xlr_bench.core.errors import XLRBenchError
from xlr_bench.report.scores import (METRIC_LABEL, SETTING_LABEL, Collected, ModelRuns, Problem, Run, collect,
                                     coverage_gaps, language_groups, low_resource_tasks, ordered_lareqa_families,
                                     revision_means, run_subsets, seen_languages)

SITE_MARKER = ".xlr-bench-site"
LOWER_IS_BETTER = {"rank_distance"}
CHART_SIZE = (300, 190)
CHART_MARGIN = {"left": 52, "right": 12, "top": 12, "bottom": 34}


@dataclass(frozen=True)
class Column:
    """One sortable figure of the main table: ``metric`` averaged over the subsets of ``task``."""

    key: str
    group: str
    label: str
    task: str
    metric: str

    @property
    def digits(self) -> int:
        return 1 if self.metric == "rank_distance" else 4

    @property
    def lower_is_better(self) -> bool:
        return self.metric in LOWER_IS_BETTER


@dataclass(frozen=True)
class Cell:
    """A figure with where it came from; ``status`` is ``ok``, ``partial`` or ``missing``."""

    value: float | None
    text: str
    status: str
    note: str
    href: str | None = None


@dataclass
class Row:
    """One model run (a revision, or an experiment of one) in the main table."""

    slug: str
    model: ModelRuns
    run: Run
    base: str | None
    n_parameters: int | None
    zero_shot: int | None
    zero_shot_note: str
    cells: dict[str, Cell] = field(default_factory=dict)

    @property
    def family(self) -> str:
        return self.model.family or "reference models"

    @property
    def short_label(self) -> str:
        return f"{self.model.label} · {self.run.key[:8]}"


@dataclass(frozen=True)
class Point:
    """One α of an α curve: mean over complete runs and their range, in data and pixel units."""

    alpha: float
    mean: float
    low: float
    high: float
    runs: list[str]  # "label · revision: value" of each run averaged here
    x: float
    y: float
    y_low: float
    y_high: float


@dataclass(frozen=True)
class Chart:
    family: str
    column: Column
    points: list[Point]
    references: list[tuple[str, float, float]]  # label, value, y pixel
    x_ticks: list[tuple[float, str]]
    y_ticks: list[tuple[float, str]]
    left_out: list[str]  # partial runs not drawn
    width: int = CHART_SIZE[0]
    height: int = CHART_SIZE[1]
    margin: dict[str, int] = field(default_factory=lambda: dict(CHART_MARGIN))

    @property
    def path(self) -> str:
        return " ".join(f"{'M' if i == 0 else 'L'}{p.x:.1f},{p.y:.1f}" for i, p in enumerate(self.points))


@dataclass
class LanguageView:
    """Per query language of one task: subset × run, in groups (seen / unseen / low-resource)."""

    task: str
    metric: str
    groups: list[tuple[str, list[tuple[str, list[Cell]]]]]
    note: str = ""


@dataclass
class Site:
    """What was built, for the command line to report."""

    out_dir: Path
    rows: list[Row]
    columns: list[Column]
    problems: list[Problem]
    skipped: int

    @property
    def empty(self) -> bool:
        return not self.rows


def _labels(roots: list[Path]) -> dict[Path, str]:
    """A short, path-free name per results tree (its folder name, numbered when two share one)."""
    labels: dict[Path, str] = {}
    for root in roots:
        base = root.resolve().name or "results"
        label, n = base, 2
        while label in labels.values():
            label, n = f"{base}-{n}", n + 1
        labels[root] = label
    return labels


class _Files:
    """Result files the site links to: ``files/<tree label>/<path inside the tree>``."""

    def __init__(self, labels: dict[Path, str]) -> None:
        self.labels = labels
        self.wanted: dict[str, Path] = {}

    def shown(self, path: Path, root: Path) -> str:
        """The path as the page names it: tree label + path inside the tree (no local path)."""
        return f"{self.labels[root]}/{path.relative_to(root).as_posix()}"

    def link(self, path: Path, root: Path) -> str:
        target = f"files/{self.shown(path, root)}"
        self.wanted[target] = path
        return target


def _dataset_title(dataset: str) -> str:
    """``xquad-r-sentence`` -> ``XQUAD-R (sentence candidates)``: the report's dataset name, candidates said."""
    if dataset.endswith("-sentence"):
        return f"{dataset.removesuffix('-sentence').upper()} (sentence candidates)"
    return f"{dataset.upper()} (sentence + paragraph)"


def _columns(models: list[ModelRuns]) -> list[Column]:
    """LAReQA datasets first, the one most runs have leading (report order on a tie), then the other tasks."""
    present = {t for m in models for t in m.results}
    runs_with = {t: sum(len(run_subsets(m, t)) for m in models) for t in present}
    families = sorted(enumerate(ordered_lareqa_families()),
                      key=lambda item: (-max(runs_with.get(t, 0) for t in item[1][1].values()), item[0]))
    columns = []
    for _, (dataset, family) in families:
        title = _dataset_title(dataset)
        for setting in ("monolingual", "cross-lingual", "multilingual"):
            task = family.get(setting)
            if task in present:
                columns.append(Column(f"{task}.map_at_20", title, f"{SETTING_LABEL[setting]} mAP@20", task, "map_at_20"))
        if family.get("multilingual") in present:
            task = family["multilingual"]
            columns.append(Column(f"{task}.rank_distance", title, "Mul. RD ↓", task, "rank_distance"))
    for task, metric in low_resource_tasks().items():
        if task in present:
            columns.append(Column(f"{task}.{metric}", task, METRIC_LABEL.get(metric, metric), task, metric))
    return columns


def _zero_shot(meta: dict[str, Any], tasks: list[str]) -> tuple[int | None, str]:
    """mteb's own zero-shot percentage of the model on ``tasks``, and why it is unknown when it is."""
    from mteb.models import ModelMeta

    try:
        with warnings.catch_warnings():  # mteb's files still carry the field its own model deprecates
            warnings.filterwarnings("ignore", message="is_cross_encoder is deprecated", category=DeprecationWarning)
            model_meta = ModelMeta.model_validate_json_resolved(json.dumps(meta))
    except ValueError as exc:
        return None, f"model_meta.json is not a valid mteb ModelMeta ({str(exc).splitlines()[0]})"
    percentage = model_meta.zero_shot_percentage(tasks)
    if percentage is None:
        return None, "the metadata declares no training data, so mteb cannot tell"
    return percentage, f"mteb's zero_shot_percentage on the {len(tasks)} tasks shown for this run"


def _format(value: float, digits: int) -> str:
    return f"{value:.{digits}f}"


def _rows(models: list[ModelRuns], columns: list[Column], files: _Files) -> list[Row]:
    gaps = {(g.model.name, g.revision, g.task): g for g in coverage_gaps(models, {c.task for c in columns})}
    rows = []
    for model in models:
        means = {c.key: revision_means(model, c.task, c.metric) for c in columns}
        subsets = {c.task: run_subsets(model, c.task) for c in columns}
        for key in model.revisions:
            run = model.runs[key]
            tasks = sorted({c.task for c in columns if key in means[c.key]})
            zero_shot, zero_shot_note = _zero_shot(run.meta, tasks)
            row = Row(f"{model.name.replace('/', '__')}__{key.replace('/', '__')}", model, run,
                      run.meta.get("adapted_from"), run.meta.get("n_parameters"), zero_shot, zero_shot_note)
            for column in columns:
                if key not in means[column.key]:
                    row.cells[column.key] = Cell(None, "–", "missing", f"no {column.task} result for this run")
                    continue
                sources = sorted({e.source for entries in model.results[column.task].values() for e in entries
                                  if e.revision == key})
                value = means[column.key][key]
                shown = ", ".join(files.shown(s, run.root) for s in sources)
                note = f"mean of {column.metric} over {len(subsets[column.task][key])} subsets; from {shown}"
                gap = gaps.get((model.name, key, column.task))
                status = "ok"
                if gap:
                    status = "partial"
                    note = (f"partial: {gap.scored} of {gap.total} subsets, not comparable with complete runs; "
                            + note)
                row.cells[column.key] = Cell(value, _format(value, column.digits), status, note,
                                             files.link(sources[0], run.root))
            rows.append(row)
    return rows


def _language_views(models: list[ModelRuns], rows: list[Row], files: _Files) -> list[LanguageView]:
    seen = seen_languages(models)
    low_resource = low_resource_tasks()
    tasks: list[tuple[str, str, bool]] = []
    for _, family in ordered_lareqa_families():
        tasks += [(family[s], "map_at_20", False) for s in ("multilingual", "monolingual") if s in family]
    tasks += [(task, metric, True) for task, metric in low_resource.items()]
    # the view shown first is the task most runs have (the order above on a tie)
    tasks.sort(key=lambda t: -sum(len(run_subsets(m, t[0])) for m in models))
    trained_on = {t for m in models for t in m.training_tasks}
    views = []
    for task, metric, is_low_resource in tasks:
        subsets = sorted({s for m in models for s in m.results.get(task, {})})
        if not subsets:
            continue
        grouping = {"low-resource": subsets} if is_low_resource else language_groups(subsets, seen)
        groups = []
        for group, members in grouping.items():
            if not members:
                continue
            lines = []
            for subset in members:
                cells = []
                for row in rows:
                    entries = [e for e in row.model.results.get(task, {}).get(subset, [])
                               if e.revision == row.run.key and metric in e.scores]
                    if not entries:
                        cells.append(Cell(None, "–", "missing", f"no {task} {subset} result for this run"))
                        continue
                    value = float(np.mean([e.scores[metric] for e in entries]))
                    cells.append(Cell(value, _format(value, 4), "ok",
                                      f"{metric}, {subset}; from {files.shown(entries[0].source, row.run.root)}",
                                      files.link(entries[0].source, row.run.root)))
                lines.append((subset, cells))
            groups.append((group, lines))
        note = ""
        if is_low_resource and task in trained_on:
            note = (f"Trained models saw the train split of {task} (its languages are seen in training); "
                    "the scores are on the disjoint test split.")
        views.append(LanguageView(task, metric, groups, note))
    return views


def _scale(lo: float, hi: float, size: float, start: float) -> tuple[list[float], Any]:
    """Ticks that just cover [lo, hi] (matplotlib's locator) and the value -> pixel map onto them."""
    from matplotlib.ticker import MaxNLocator

    if hi - lo < 1e-9:  # one value: give the axis a little height around it
        pad = max(abs(hi), 1e-3) * 0.01
        lo, hi = lo - pad, hi + pad
    ticks = [float(t) for t in MaxNLocator(nbins=4).tick_values(lo, hi)]
    first = max(i for i, t in enumerate(ticks) if t <= lo + 1e-12)
    last = min(i for i, t in enumerate(ticks) if t >= hi - 1e-12)
    ticks = ticks[first:last + 1]
    t0, t1 = ticks[0], ticks[-1]
    return ticks, lambda v: start + size - (v - t0) / (t1 - t0) * size


def _chart(family: str, column: Column, members: list[Row], references: list[list[Row]]) -> Chart | None:
    """One column of one family against α; ``references`` (runs of each base model) are drawn as levels."""
    by_alpha: dict[float, list[float]] = defaultdict(list)
    runs: dict[float, list[str]] = defaultdict(list)
    left_out = []
    for row in members:
        cell = row.cells[column.key]
        if cell.status == "ok":
            by_alpha[row.model.alpha].append(cell.value)
            runs[row.model.alpha].append(f"{row.short_label}: {cell.text}")
        elif cell.status == "partial":
            left_out.append(row.short_label)
    if not by_alpha:
        return None
    refs = []
    for ref in references:
        values = [r.cells[column.key].value for r in ref if r.cells[column.key].status == "ok"]
        if values:
            refs.append((ref[0].model.label, float(np.mean(values))))
    values = [v for vs in by_alpha.values() for v in vs] + [v for _, v in refs]
    width, height = CHART_SIZE
    m = CHART_MARGIN
    plot_w, plot_h = width - m["left"] - m["right"], height - m["top"] - m["bottom"]
    ticks, to_y = _scale(min(values), max(values), plot_h, m["top"])
    digits = next(d for d in range(7) if all(abs(round(t, d) - t) < 1e-9 for t in ticks) or d == 6)
    to_x = lambda a: m["left"] + a * plot_w  # noqa: E731  (α lies in [0, 1])
    points = []
    for alpha in sorted(by_alpha):
        vs = by_alpha[alpha]
        mean, low, high = float(np.mean(vs)), min(vs), max(vs)
        points.append(Point(alpha, mean, low, high, runs[alpha], to_x(alpha), to_y(mean), to_y(low), to_y(high)))
    return Chart(family, column, points, [(label, value, to_y(value)) for label, value in refs],
                 [(to_x(a), f"{a:g}") for a in (0, 0.25, 0.5, 0.75, 1)],
                 [(to_y(t), f"{t:.{digits}f}") for t in ticks], left_out)


def _charts(rows: list[Row], columns: list[Column]) -> list[tuple[str, list[Chart]]]:
    """Per hybrid family, one chart per column: mean over seeds at each α, error bars = range over seeds."""
    families: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        if row.model.family:
            families[row.model.family].append(row)
    out = []
    for family, members in sorted(families.items()):
        bases = {family.removesuffix("-hybrid")} | {r.base for r in members if r.base}
        reference_rows: dict[str, list[Row]] = defaultdict(list)
        for row in rows:
            if row.model.alpha is None and row.model.name in bases:
                reference_rows[row.model.name].append(row)
        charts = [c for column in columns if (c := _chart(family, column, members, list(reference_rows.values())))]
        if charts:
            out.append((family, charts))
    return out


def _run_settings(run: Run, files: _Files, problems: list[Problem]) -> list[dict[str, Any]]:
    """The distinct scoring settings (library versions, encode options) in a run's ``run_settings.jsonl``."""
    path = run.folder / "run_settings.jsonl"
    if not path.is_file():
        return []
    try:
        lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        problems.append(Problem(path, f"unreadable run settings ({getattr(exc, 'msg', exc)})", run.root))
        return []
    distinct: dict[str, dict[str, Any]] = {}
    for line in lines:
        if not isinstance(line, dict):
            continue
        kwargs = {k: v for k, v in (line.get("encode_kwargs") or {}).items() if k != "show_progress_bar"}
        setting = {"versions": {k: v for k, v in (line.get("version") or {}).items() if v},
                   "encoding": kwargs, "tasks": []}
        key = json.dumps([setting["versions"], kwargs], sort_keys=True)
        distinct.setdefault(key, setting)["tasks"].append(line.get("task", "?"))
    files.link(path, run.root)
    return list(distinct.values())


def _model_page(row: Row, columns: list[Column], files: _Files, problems: list[Problem]) -> dict[str, Any]:
    run = row.run
    meta_link = files.link(run.folder / "model_meta.json", run.root)
    sources = sorted({e.source for entries_by_subset in row.model.results.values()
                      for entries in entries_by_subset.values() for e in entries if e.revision == run.key})
    return {
        "row": row,
        "folder": files.shown(run.folder, run.root),
        "settings": _run_settings(run, files, problems),
        "meta": [(k, json.dumps(v, ensure_ascii=False) if isinstance(v, (dict, list)) else v)
                 for k, v in run.meta.items()],
        "scores": [(c, row.cells[c.key]) for c in columns if row.cells[c.key].status != "missing"],
        "files": [(files.shown(run.folder / "model_meta.json", run.root), meta_link)]
                 + [(files.shown(s, run.root), files.link(s, run.root)) for s in sources],
    }


def _environment():
    import jinja2

    env = jinja2.Environment(loader=jinja2.PackageLoader("xlr_bench.report", "templates"),
                             autoescape=jinja2.select_autoescape(["html"]), undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters["thousands"] = lambda n: f"{n / 1e6:.0f}M" if n >= 1e6 else f"{n:,}"
    return env


def _check_target(out_dir: Path, roots: list[Path], overwrite: bool) -> None:
    """Refuse to write over anything but an earlier site, and only with ``overwrite``."""
    resolved = out_dir.resolve()
    for root in roots:
        r = root.resolve()
        if resolved == r or r in resolved.parents or resolved in r.parents:
            raise XLRBenchError(f"--out {out_dir} overlaps the results folder {root}; choose a folder outside it.")
    if not out_dir.exists():
        return
    if not overwrite:
        raise XLRBenchError(f"{out_dir} already exists; pass --overwrite to replace it (or choose another --out).")
    if not out_dir.is_dir() or (any(out_dir.iterdir()) and not (out_dir / SITE_MARKER).is_file()):
        raise XLRBenchError(f"{out_dir} exists and is not a site built by `xlr-bench leaderboard` (no {SITE_MARKER} "
                            "in it); not replacing it even with --overwrite.")


def _write_tree(stage: Path, pages: dict[str, str], files: _Files) -> None:
    for relative, text in pages.items():
        target = stage / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    for relative, source in sorted(files.wanted.items()):
        target = stage / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    assets = resources.files("xlr_bench.report") / "templates" / "assets"
    (stage / "assets").mkdir()
    for asset in sorted(assets.iterdir(), key=lambda a: a.name):
        (stage / "assets" / asset.name).write_bytes(asset.read_bytes())
    (stage / SITE_MARKER).write_text("A static site written by `xlr-bench leaderboard`; "
                                     "`--overwrite` may replace this folder.\n", encoding="utf-8")


def _publish(stage: Path, out_dir: Path) -> None:
    """Swap the finished site into place: the old one is removed only once the new one is there."""
    mode = 0o777 & ~_umask()
    for folder in [stage, *(p for p in stage.rglob("*") if p.is_dir())]:
        folder.chmod(mode)  # mkdtemp made the stage private; a static host must read it
    old = None
    if out_dir.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.old-", dir=out_dir.parent))
        old.rmdir()
        out_dir.rename(old)
    stage.rename(out_dir)
    if old is not None:
        shutil.rmtree(old)


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def build_site(results_dirs: Path | str | Sequence[Path | str], out_dir: Path | str, overwrite: bool = False) -> Site:
    """Build the site into ``out_dir`` (refused if it exists, unless ``overwrite`` and it is an earlier site).

    An input without any XLR result still gets a page that says so (``Site.empty``); files that are
    not usable results are listed on the page and in ``Site.problems``, and the rest is built.
    """
    roots = [Path(results_dirs)] if isinstance(results_dirs, (str, Path)) else [Path(d) for d in results_dirs]
    out_dir = Path(out_dir)
    for root in roots:
        if not root.is_dir():
            raise XLRBenchError(f"Results folder {root} does not exist or is not a folder.")
    _check_target(out_dir, roots, overwrite)
    wanted_tasks = {t for _, family in ordered_lareqa_families() for t in family.values()} | set(low_resource_tasks())
    collected: Collected = collect(roots, tasks=wanted_tasks)
    models = collected.models
    problems = list(collected.problems)
    files = _Files(_labels(roots))
    columns = _columns(models)
    rows = _rows(models, columns, files)
    model_pages = {row.slug: _model_page(row, columns, files, problems) for row in rows}
    env = _environment()
    context = {
        "roots": list(files.labels.values()),
        "columns": columns,
        "groups": [(g, len(cols)) for g, cols in _grouped(columns)],
        "rows": rows,
        "families": sorted({r.family for r in rows}),
        "languages": _language_views(models, rows, files),
        "charts": _charts(rows, columns),
        "problems": [(files.shown(p.path, p.root), p.reason) for p in problems],
        "skipped": collected.skipped,
        "precisions": sorted({p for m in models for p in m.precision}),
        "n_models": len(models),
        "tasks": sorted(wanted_tasks),
    }
    pages = {"index.html": env.get_template("index.html").render(root="", **context)}
    for slug, page in model_pages.items():
        pages[f"models/{slug}.html"] = env.get_template("model.html").render(root="../", **page)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        _write_tree(stage, pages, files)
        _publish(stage, out_dir)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    return Site(out_dir, rows, columns, problems, collected.skipped)


def _grouped(columns: list[Column]) -> list[tuple[str, list[Column]]]:
    """Consecutive columns of one dataset (or task), for the header's first row."""
    groups: list[tuple[str, list[Column]]] = []
    for column in columns:
        if groups and groups[-1][0] == column.group:
            groups[-1][1].append(column)
        else:
            groups.append((column.group, [column]))
    return groups
