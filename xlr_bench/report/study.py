"""The α-sweep report, built from result files alone.

``build_report(results_dir, out_dir)`` reads an mteb results tree (``<org__model>/<revision>/``),
so it works on results produced anywhere (a leaderboard results repository too). Models are read
from their metadata: a trained checkpoint's name carries its α and its seed (``...-hybrid-a050-s42``);
the checkpoints of one α form one row, each a run (seed) of it (names without a seed, from before seeds
were named, count each revision as one); a model without α is a reference (the untrained base).
Beside the scores, each row's zero-shot share of its tasks, by mteb's own ``ModelMeta.zero_shot_percentage``
over the recorded training data and lineage.

Per LAReQA dataset it lays out the paper's Tables 1 and 2 (Mo. / Cr. / Mul. mAP, R@1 / R@10, rank
distance, per α and the base model), a per-language table grouped into languages seen in training,
unseen languages and low-resource languages, plots of each metric and of rank distance against α
and a per-language heat map, bootstrap 95% intervals over queries, paired bootstrap tests (α = 0.5
against each extreme, the best α against the base model), and the α a declared criterion picks.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np

from xlr_bench.core.atomic import atomic_open
from xlr_bench.core.errors import XLRBenchError
from xlr_bench.metrics import decode_values
from xlr_bench.report.scores import (HYBRID_RE, METRIC_LABEL, SETTING_LABEL, Collected, ModelRuns, collect,
                                     coverage_gaps, language_groups, low_resource_tasks, ordered_lareqa_families,
                                     revision_means, revisions_with, seen_languages, subset_mean)
from xlr_bench.report.seeds import N_DRAWS, alpha_trend, pick_probabilities, pooled_seed_sd, run_scores, seed_test

N_BOOT = 1000
CRITERION = ("mean of Mo., Cr. and Mul. mAP@20, on the LAReQA dataset of the report where the most α values "
             "have all three settings (the first such dataset on a tie)")


def _coverage_notes(models: list[ModelRuns], tasks) -> list[str]:
    """The coverage gaps of ``tasks`` as a warning paragraph (nothing when every run covers the same subsets)."""
    notes = [f"{g.model.label} ({run_label(g.model, g.revision)}): {g.task} on {g.scored} of {g.total} subsets"
             for g in coverage_gaps(models, tasks)]
    if not notes:
        return []
    return ["**Not comparable** (these runs' means cover fewer subsets than the others'): " + "; ".join(notes) + ".", ""]


def _query_matrix(runs: ModelRuns, task: str, metric: str) -> dict[str, np.ndarray]:
    """subset -> per-query values averaged over seeds (only seeds that recorded them)."""
    out = {}
    for subset, entries in runs.results.get(task, {}).items():
        vectors = [decode_values(e.per_query[metric]) for e in entries if metric in e.per_query]
        if vectors and len({len(v) for v in vectors}) == 1:
            out[subset] = np.mean(vectors, axis=0)
    return out


def _bootstrap(values: dict[str, np.ndarray], rng: np.random.Generator) -> np.ndarray:
    """Bootstrap replicates of the mean over subsets of per-subset query means (queries resampled)."""
    reps = np.zeros(N_BOOT)
    for vec in values.values():
        idx = rng.integers(0, len(vec), size=(N_BOOT, len(vec)))
        reps += vec[idx].mean(axis=1)
    return reps / max(1, len(values))


def confidence_interval(runs: ModelRuns, task: str, metric: str, seed: int = 0) -> tuple[float, float] | None:
    """95% bootstrap interval over queries of a task-level figure."""
    values = _query_matrix(runs, task, metric)
    if not values:
        return None
    reps = _bootstrap(values, np.random.default_rng(seed))
    return float(np.percentile(reps, 2.5)), float(np.percentile(reps, 97.5))


def paired_test(a: ModelRuns, b: ModelRuns, task: str, metric: str, seed: int = 0) -> tuple[float, float, float] | None:
    """(mean difference a - b, two-sided bootstrap p-value, number of queries), paired by query."""
    va, vb = _query_matrix(a, task, metric), _query_matrix(b, task, metric)
    shared = sorted(set(va) & set(vb))
    if not shared:
        return None
    diffs = {s: va[s] - vb[s] for s in shared if len(va[s]) == len(vb[s])}
    if not diffs:
        return None
    observed = float(np.mean([d.mean() for d in diffs.values()]))
    reps = _bootstrap({s: d - d.mean() for s, d in diffs.items()}, np.random.default_rng(seed))  # null: no difference
    p = float(np.mean(np.abs(reps) >= abs(observed)))
    return observed, max(p, 1 / N_BOOT), float(sum(len(d) for d in diffs.values()))


def _fmt(value: tuple[float, int] | None, digits: int = 4) -> str:
    return "–" if value is None else f"{value[0]:.{digits}f}"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)] + ["| " + " | ".join(r) + " |" for r in rows]


def _save(fig, stem: Path) -> str:
    """Write ``stem``.png and .svg and close the figure; returns the PNG's name.

    The files carry no date and SVG ids are salted with a constant, so rebuilding a report from the
    same results leaves the committed plots byte-identical instead of churning them.
    """
    import matplotlib
    import matplotlib.pyplot as plt

    fig.tight_layout()
    with matplotlib.rc_context({"svg.hashsalt": "xlr-bench"}):
        fig.savefig(stem.with_suffix(".png"), dpi=120, metadata={"Software": None})
        fig.savefig(stem.with_suffix(".svg"), metadata={"Date": None, "Creator": None})
    plt.close(fig)
    return stem.with_suffix(".png").name


def _plot_vs_alpha(models: list[ModelRuns], lines: dict[str, str], metric: str, title: str, path: Path,
                   heading: str) -> str | None:
    """One line per (label -> task) of ``metric`` against α, the mean over training runs: each run as a
    small cross, error bars from the lowest to the highest run (the seed spread, where an α has several),
    a band for the 95% bootstrap interval over queries; the base model (not fine-tuned) as a dashed level."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    trained = [m for m in models if m.alpha is not None]
    bases = [m for m in models if m.alpha is None]
    fig, ax = plt.subplots(figsize=(6, 4))
    drawn = False
    for label, task in lines.items():
        points = []
        for m in trained:
            runs = list(revision_means(m, task, metric).values())
            if runs:
                ci = confidence_interval(m, task, metric)
                mean = float(np.mean(runs))
                points.append((m.alpha, mean, mean - min(runs), max(runs) - mean, runs, ci or (mean, mean)))
        if not points:
            continue
        points.sort(key=lambda p: p[0])
        xs, ys, lows, highs = ([p[i] for p in points] for i in range(4))
        drawn = True
        line = ax.errorbar(xs, ys, yerr=[lows, highs], marker="o", capsize=4, label=label).lines[0]
        color = line.get_color()
        ax.fill_between(xs, [p[5][0] for p in points], [p[5][1] for p in points], color=color, alpha=0.15, linewidth=0)
        ax.scatter([p[0] for p in points for _ in p[4]], [v for p in points for v in p[4]], marker="x", s=14,
                   color=color, linewidths=0.8)
        for base in bases:
            value = subset_mean(base, task, metric)
            if value:
                ax.axhline(value[0], color=color, linestyle="--", linewidth=1)
    if not drawn:
        plt.close(fig)
        return None
    ax.set_xlabel("α (share of monolingual batches)")
    ax.set_ylabel(title)
    ax.set_title(f"{heading}: {title} vs α\n(×: training runs; bars: range over seeds; band: 95% bootstrap over "
                 "queries; dashed: base, not fine-tuned)", fontsize=7)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    return _save(fig, path)


def _plot_family(models: list[ModelRuns], family: dict[str, str], out: Path, dataset: str) -> list[str]:
    """mAP@20 per setting and the multilingual rank distance against α."""
    settings = {f"{SETTING_LABEL[s]} {family[s]}": family[s] for s in SETTING_LABEL if s in family}
    files = [_plot_vs_alpha(models, settings, "map_at_20", "mAP@20", out / f"{dataset}_map_at_20_vs_alpha", dataset)]
    if "multilingual" in family:
        files.append(_plot_vs_alpha(models, {f"Mul. {family['multilingual']}": family["multilingual"]}, "rank_distance",
                                    "rank distance (lower = less language bias)", out / f"{dataset}_rank_distance_vs_alpha",
                                    dataset))
    return [f for f in files if f]


def _plot_heatmap(models: list[ModelRuns], task: str, out: Path, name: str) -> str | None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    subsets = sorted({s for m in models for s in m.results.get(task, {})})
    if not subsets:
        return None
    grid = np.full((len(subsets), len(models)), np.nan)
    for j, model in enumerate(models):
        for i, subset in enumerate(subsets):
            entries = model.results.get(task, {}).get(subset, [])
            values = [e.scores.get("map_at_20") for e in entries if "map_at_20" in e.scores]
            if values:
                grid[i, j] = np.mean(values)
    fig, ax = plt.subplots(figsize=(max(4.5, 1.6 + 0.9 * len(models)), 1.4 + 0.3 * len(subsets)))
    image = ax.imshow(grid, aspect="auto", cmap="viridis")
    ax.set_xticks(range(len(models)), [m.label for m in models], rotation=30, ha="right", fontsize=8)
    ax.set_yticks(range(len(subsets)), subsets, fontsize=8)
    low, high = np.nanmin(grid), np.nanmax(grid)
    for i in range(len(subsets)):
        for j in range(len(models)):
            if not np.isnan(grid[i, j]):
                # dark text on the light (yellow-green) end of viridis, white on the dark end
                light = high > low and (grid[i, j] - low) / (high - low) > 0.55
                ax.text(j, i, f"{grid[i, j]:.3f}", ha="center", va="center", fontsize=6, color="k" if light else "w")
    fig.colorbar(image, ax=ax, label="mAP@20")
    ax.set_title(f"{task}\nmAP@20 per query language", fontsize=8)
    return _save(fig, out / name)


def one_row_per_alpha(models: list[ModelRuns]) -> list[ModelRuns]:
    """The seeds of one α (``…-hybrid-a050-s42``, ``…-s43``) as the runs of one row, as the study reads them."""
    rows: dict[tuple[str, float | None], ModelRuns] = {}
    for m in models:
        name = HYBRID_RE.sub(lambda g: f"-hybrid{g['tag'] or ''}-a{g['alpha']}", m.name) if m.alpha is not None else m.name
        row = rows.setdefault((name, m.alpha), ModelRuns(name, m.alpha))
        for task, subsets in m.results.items():
            for subset, entries in subsets.items():
                row.results[task][subset].extend(entries)
        row.revisions += m.revisions
        row.runs.update(m.runs)
        row.training_tasks |= m.training_tasks
        row.precision |= m.precision
        row.max_tokens |= m.max_tokens
    return list(rows.values())


def run_label(m: ModelRuns, key: str) -> str:
    """One run of a row: its seed (``s42``) when its name gives it, else its revision's first 8 digits."""
    match = HYBRID_RE.search(str(m.runs[key].meta.get("name", ""))) if key in m.runs else None
    return f"s{match['seed']}" if match and match["seed"] else f"`{key[:8]}`"


def _model_metas(m: ModelRuns) -> list:
    """The runs' ``ModelMeta`` (mteb resolves their lineage through its registry); unreadable ones left out."""
    from xlr_bench.results.registered import model_meta_from_json

    metas = []
    for run in m.runs.values():
        try:
            metas.append(model_meta_from_json(run.meta))
        except Exception:  # noqa: BLE001 -- `results validate` names broken metadata; the report uses the rest
            continue
    return metas


def zero_shot(m: ModelRuns, tasks) -> str:
    """mteb's ``ModelMeta.zero_shot_percentage`` of a row over ``tasks`` (``a–b`` if its runs differ)."""
    values = sorted({v for meta in _model_metas(m) if (v := meta.zero_shot_percentage(sorted(tasks))) is not None})
    if not values:
        return "–"
    return f"{values[0]} %" if len(values) == 1 else f"{values[0]}–{values[-1]} %"


def _zero_shot_section(models: list[ModelRuns]) -> list[str]:
    """What is and is not zero-shot, by mteb's functions, and why: the model's own training data or its lineage."""
    import mteb

    reported = sorted({t for m in models for t in m.results})
    rows = []
    for m in models:
        metas = _model_metas(m)
        if not metas:
            continue
        meta = metas[0]
        lineage_data = meta.get_training_datasets() or set()
        own = set(meta.training_datasets or ()) & set(reported)
        via = sorted((lineage_data & set(reported)) - own)
        parents = sorted({p for t in via for p in (mteb.get_task(t).metadata.adapted_from or []) if p in lineage_data})
        lineage = (f"{', '.join(via)} (adapted from {', '.join(parents)}, in the training data mteb records for "
                   f"{meta.adapted_from or meta.name}'s lineage)") if via else "–"
        rows.append([m.label, zero_shot(m, reported), ", ".join(sorted(own)) or "–", lineage])
    return ["## Zero-shot, as mteb computes it", "",
            "mteb counts a model as zero-shot on a task when neither its training data nor that of the models it "
            "was adapted from (`adapted_from`, followed through mteb's registry) contains the task or a task it is "
            "adapted from. Percentages are `ModelMeta.zero_shot_percentage` over the tasks of this report.", ""] + _table(
        ["model", "zero-shot", "not zero-shot: own training data", "not zero-shot: through the lineage"], rows) + [""]


def select_family(models: list[ModelRuns], family: str | None, where: Path) -> list[ModelRuns]:
    """The reference models and the runs of one hybrid family (α are compared within a recipe, never across).

    ``family``: the family's name, its last part (``me5-small-hybrid-300steps``) or its tag (``300steps``);
    needed only when ``where`` holds several families.
    """
    families = sorted({m.family for m in models if m.family})
    if family is None:
        if len(families) > 1:
            raise XLRBenchError(f"{where} holds {len(families)} hybrid families ({', '.join(families)}): the report "
                                "compares α within one recipe; choose it with --family (its name or tag).")
        return models
    chosen = [f for f in families if f == family or f.split("/")[-1] == family or f.endswith(f"-hybrid-{family}")]
    if not chosen:
        raise XLRBenchError(f"{where} has no hybrid family {family!r}; it has: {', '.join(families) or 'none'}.")
    return [m for m in models if m.family in (None, chosen[0])]


def _scored_settings(models: list[ModelRuns], family: dict[str, str]) -> dict[str, str]:
    """The settings of a dataset that at least one model was scored on, in table order."""
    return {s: family[s] for s in SETTING_LABEL if s in family and any(family[s] in m.results for m in models)}


def _language_task(scored: dict[str, str]) -> tuple[str, str] | None:
    """(setting, task) whose subsets the per-language table and heat map show: the pooled setting when
    scored, else the first scored one (a run that skipped the pool still gets its per-language view)."""
    for setting in ("multilingual", "monolingual", "cross-lingual"):
        if setting in scored:
            return setting, scored[setting]
    return None


def _subsets_note(models: list[ModelRuns], scored: dict[str, str]) -> list[str]:
    """Which subsets were scored, when a run scored fewer languages than the tasks have (``--subsets``):
    means over a few languages are not comparable with means over all of them."""
    from xlr_bench.definitions.tasks import load_definitions

    definitions = load_definitions()
    parts, restricted, languages = [], False, set()
    for setting, task in scored.items():
        subsets = sorted({s for m in models for s in m.results.get(task, {})})
        every = set(definitions[task].languages) if task in definitions else set()
        restricted |= bool(every) and {lang for s in subsets for lang in s.split("-")} < every
        languages |= every
        parts.append(f"{SETTING_LABEL[setting]} {', '.join(subsets) if len(subsets) <= 12 else f'{len(subsets)} subsets'}")
    if not restricted:
        return []
    return [f"**Only some languages were scored** ({'; '.join(parts)}): every mean below is over these subsets, "
            f"not over the dataset's {len(languages)} languages, and is not comparable with figures over all of them.", ""]


def collect_rows(results_dir: Path, family: str | None = None,
                 precision: str | None = None) -> tuple[list[ModelRuns], Collected]:
    """The report's rows (one per α, one per reference model, of one hybrid family: :func:`select_family`;
    runs at ``precision`` only, when given) and the collection they came from; a folder without any
    result is an error that says what a results root holds."""
    from xlr_bench.results.cache import no_results_error

    results_dir = Path(results_dir)
    if not results_dir.is_dir():
        raise XLRBenchError(f"Results folder {results_dir} does not exist.")
    collected = collect(results_dir, precision=precision)
    if not collected.models:
        raise no_results_error(results_dir)
    return select_family(one_row_per_alpha(collected.models), family, results_dir), collected


def build_report(results_dir: Path, out_dir: Path, family: str | None = None, precision: str | None = None,
                 about: list[str] | None = None) -> Path:
    """Write ``report.md`` and its plots into ``out_dir``; returns the report path.

    ``family``: the hybrid family to report when the results hold several (:func:`select_family`);
    ``precision``: read only runs encoded at this precision (default: all).
    ``about``: lines on how the results were made, put first (the sweep passes its scale: steps, batch,
    seeds, subsets), since the result files do not say how long a checkpoint was trained.
    """
    out_dir = Path(out_dir)
    models, collected = collect_rows(results_dir, family, precision)
    out_dir.mkdir(parents=True, exist_ok=True)
    lines = ["# Hybrid batch training: α sweep report", ""]
    if about:
        lines += ["## About this run", ""] + about + [""]
    lines += [f"Built from the result files in `{Path(results_dir).name}/` only. Models: "
              + ", ".join(f"{m.label} ({len(m.revisions)} run{'s' if len(m.revisions) > 1 else ''})" for m in models) + ".",
              "", "Precision of the encodings: " + ", ".join(sorted({p for m in models for p in m.precision})) + ".", ""]
    lengths = {m.label: sorted(m.max_tokens) for m in models if m.max_tokens}
    if len({tuple(v) for v in lengths.values()}) > 1:
        lines += ["**Warning: the models were scored with different maximum lengths** (texts beyond them are "
                  "truncated, so differences may be truncation artefacts): "
                  + ", ".join(f"{k} {'/'.join(map(str, v))}" for k, v in lengths.items()) + ".", ""]
    elif lengths:
        lines += [f"Maximum length at scoring: {next(iter(lengths.values()))[0]} tokens for every model.", ""]
    if collected.problems:
        lines += ["## Files not used", ""] + [f"- {p}" for p in collected.problems] + [""]
    lines += _zero_shot_section(models)
    criterion: dict[str, dict[str, float]] = {}  # dataset -> α label -> score
    per_run: dict[str, dict[float, list[float]]] = defaultdict(dict)  # dataset -> α -> criterion of each run
    seen = seen_languages(models)
    for dataset, family in ordered_lareqa_families():
        present = [m for m in models if any(t in m.results for t in family.values())]
        if not present:
            continue
        scored = _scored_settings(present, family)
        candidates = ("each sentence alone" if dataset.endswith("-sentence")
                      else "each sentence followed by its paragraph (the LAReQA protocol)")
        lines += [f"## {dataset.upper()}", "", f"Candidates: {candidates}.", ""]
        skipped = [f"{SETTING_LABEL[s]} ({family[s]})" for s in SETTING_LABEL if s in family and s not in scored]
        if skipped:  # a setting no model was scored on is a choice of the run, not a hole in it: named once
            lines += [f"Not scored in these results: {', '.join(skipped)}.", ""]
        lines += _subsets_note(present, scored)
        missing = [f"{m.label}: {t}" for m in present for t in scored.values() if t not in m.results]
        if missing:
            lines += ["Missing results (the tables use what is there): " + "; ".join(missing) + ".", ""]
        lines += _coverage_notes(present, scored.values())
        columns = [(f"{SETTING_LABEL[s]} {label}", s, metric, digits)
                   for label, metric, digits in (("mAP@20", "map_at_20", 4), ("mAP", "map", 4)) for s in scored]
        columns += [c for c in (("Mo. R@1", "monolingual", "recall_at_1", 4), ("Cr. R@1", "cross-lingual", "recall_at_1", 4),
                                ("Mul. R@10", "multilingual", "recall_at_10", 4),
                                ("Mul. RD ↓", "multilingual", "rank_distance", 1)) if c[1] in scored]
        header = ["model", "runs", "zero-shot"] + [c[0] for c in columns]
        rows = []
        for m in present:
            rows.append([m.label, str(len(revisions_with(m, scored.values()))),
                         zero_shot(m, [t for t in family.values() if t in m.results])]
                        + [_fmt(subset_mean(m, scored[s], metric), digits) for _, s, metric, digits in columns])
            map20 = [subset_mean(m, family.get(s, ""), "map_at_20") for s in SETTING_LABEL]
            if m.alpha is not None and all(map20):
                criterion.setdefault(dataset, {})[m.label] = float(np.mean([v[0] for v in map20]))
                per_run[dataset][m.alpha] = _criterion_per_run(m, [family[s] for s in SETTING_LABEL])
        lines += ["Settings as in arXiv 2408.10536 Tables 1–2: Mo. = X→X (mean over languages), Cr. = X→Y "
                  "(macro mean over pairs), Mul. = X→pool (mean over query languages); RD = rank distance; "
                  "zero-shot = mteb's percentage over the model's tasks of this dataset (see *Zero-shot* above).", ""]
        lines += _table(header, rows) + [""]
        lines += ["### 95% bootstrap intervals (queries resampled within each subset, 1000 replicates)", ""]
        intervals = [(f"{SETTING_LABEL[s]} mAP@20", task, "map_at_20", 4) for s, task in scored.items()]
        if "multilingual" in scored:
            intervals.append(("Mul. RD", scored["multilingual"], "rank_distance", 1))
        ci_rows = []
        for m in present:
            cells = [m.label]
            for _, task, metric, digits in intervals:
                ci = confidence_interval(m, task, metric)
                cells.append("–" if ci is None else f"[{ci[0]:.{digits}f}, {ci[1]:.{digits}f}]")
            ci_rows.append(cells)
        lines += _table(["model"] + [c[0] for c in intervals], ci_rows) + [""]
        settings = {SETTING_LABEL[k]: task for k, task in scored.items()}
        lines += _paired_section(present, settings, "map_at_20", family.get("multilingual", ""))
        lines += _seed_section(present, settings, "map_at_20")
        pooled_rd = {"Mul. RD": scored["multilingual"]} if "multilingual" in scored else {}
        lines += _seed_unit_section(present, settings | pooled_rd, {"Mul. RD": "rank_distance"})
        view = _language_task(scored)
        lines += _language_section(present, view[1], seen) if view else []
        plots = _plot_family(present, scored, out_dir, dataset)
        heat = _plot_heatmap(present, view[1], out_dir, f"{dataset}_heatmap_{view[0]}") if view else None
        lines += [f"![{p}]({p})" for p in plots + ([heat] if heat else [])] + [""]
    if criterion:
        chosen = max(criterion, key=lambda d: len(criterion[d]))  # the first of the largest on a tie
        criterion_scores = criterion[chosen]
        best = max(criterion_scores, key=criterion_scores.get)
        lines += ["## The α the criterion picks", "", f"Criterion (declared before looking): {CRITERION}. "
                  f"Here: {chosen.upper()}.", ""]
        lines += _table(["model", "criterion"], [[k, f"{v:.4f}"] for k, v in criterion_scores.items()])
        lines += ["", f"**Picked: {best}** ({criterion_scores[best]:.4f}). Read it together with the paired tests "
                  "above: a difference whose interval includes zero is not a win.", ""]
        odds = pick_probabilities(per_run[chosen])
        if odds:
            lines += [f"How sure that pick is, with training runs as the unit (seed-to-seed spread pooled over the α "
                      f"with several runs, sd {pooled_seed_sd(per_run[chosen]):.4f}; each α's mean redrawn "
                      f"{N_DRAWS} times): " + ", ".join(f"α={a:.2f} wins {p:.0%}" for a, p in odds.items()) + ".", ""]
    lines += _low_resource_section(models, out_dir)
    report = out_dir / "report.md"
    with atomic_open(report, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
    return report


def headline(results_dir: Path, family: str | None = None, precision: str | None = None) -> list[str]:
    """The report's main numbers as plain text for the terminal: per LAReQA dataset, each row's mAP@20 in
    the settings scored (mean over the subsets scored); per low-resource task, each row's nDCG@10."""
    models, _ = collect_rows(results_dir, family, precision)
    out: list[str] = []
    for dataset, family in ordered_lareqa_families():
        present = [m for m in models if any(t in m.results for t in family.values())]
        scored = _scored_settings(present, family)
        if not scored:
            continue
        rows = [[m.label] + [_fmt(subset_mean(m, task, "map_at_20")) for task in scored.values()] for m in present]
        out += [f"{dataset.upper()} (mAP@20, mean over the subsets scored)"]
        out += _text_table(["model"] + [SETTING_LABEL[s] for s in scored], rows) + [""]
    low_resource = low_resource_tasks()
    for task in sorted({t for m in models for t in m.results if t in low_resource}):
        rows = [[m.label, _fmt(subset_mean(m, task, "ndcg_at_10"))] for m in models if task in m.results]
        out += _text_table(["model", f"{task} nDCG@10"], rows) + [""]
    return out


def _text_table(header: list[str], rows: list[list[str]]) -> list[str]:
    """Aligned plain-text columns (the first left-aligned, the numbers right-aligned)."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    return ["  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths)))
            for row in [header, *rows]]


def _paired_section(models: list[ModelRuns], tasks: dict[str, str], metric: str, pick: str) -> list[str]:
    """Paired bootstrap tests: α = 0.5 against each extreme (the extremes against each other when α = 0.5
    was not scored), and the best α (on task ``pick``) against the base."""
    by_alpha = {m.alpha: m for m in models if m.alpha is not None}
    bases = [m for m in models if m.alpha is None]
    comparisons = []
    if 0.5 in by_alpha:
        comparisons += [(by_alpha[0.5], by_alpha[a]) for a in (0.0, 1.0) if a in by_alpha]
    elif 0.0 in by_alpha and 1.0 in by_alpha:
        comparisons.append((by_alpha[1.0], by_alpha[0.0]))
    if by_alpha and bases:
        scored = {a: subset_mean(m, pick, metric) for a, m in by_alpha.items()}
        scored = {a: v[0] for a, v in scored.items() if v}
        if scored:
            comparisons.append((by_alpha[max(scored, key=scored.get)], bases[0]))
    rows = []
    for a, b in comparisons:
        for label, task in tasks.items():
            test = paired_test(a, b, task, metric)
            if test:
                diff, p, n = test
                rows.append([f"{a.label} − {b.label}", label, f"{diff:+.4f}", f"{p:.3f}", str(int(n)),
                             "yes" if p < 0.05 else "no"])
    if not rows:
        return []
    lines = [f"### Paired bootstrap tests on {METRIC_LABEL[metric]} (per query, two-sided)", ""] + _table(
        ["comparison", "setting", "Δ", "p", "queries", "p < 0.05"], rows) + [""]
    compared = {m.label: m for pair in comparisons for m in pair if m.alpha is not None}
    single = sorted(label for label, m in compared.items() if len(revisions_with(m, tasks.values())) < 2)
    if single:
        lines += [f"One training run of {', '.join(single)}: a small p says these checkpoints differ on these queries, "
                  "not that α causes the difference — run-to-run training noise is not measured without several seeds "
                  "per α (`--seeds`).", ""]
    return lines


def _criterion_per_run(m: ModelRuns, tasks: list[str]) -> list[float]:
    """The criterion (mean of the settings' mAP@20) of each run of ``m`` that has all of ``tasks``."""
    per_task = [revision_means(m, task, "map_at_20") for task in tasks]
    shared = set.intersection(*(set(v) for v in per_task)) if per_task else set()
    return [float(np.mean([v[r] for v in per_task])) for r in m.revisions if r in shared]


def _seed_unit_section(models: list[ModelRuns], tasks: dict[str, str], metrics: dict[str, str] | None = None,
                       default_metric: str = "map_at_20") -> list[str]:
    """α effects with the training run as the unit: Welch tests between replicated α, and the slope over α."""
    metrics = metrics or {}
    rows = []
    for label, task in tasks.items():
        metric = metrics.get(label, default_metric)
        scores = run_scores(models, task, metric)
        digits = 1 if metric == "rank_distance" else 4
        replicated = [a for a, v in scores.items() if len(v) > 1]
        for i, a in enumerate(replicated):
            for b in replicated[i + 1:]:
                test = seed_test(scores[b], scores[a])
                if test:
                    rows.append([label, f"α={b:.2f} − α={a:.2f}", f"{test.difference:+.{digits}f}",
                                 f"{test.p:.3f}", f"{test.runs[0]} / {test.runs[1]}", "yes" if test.p < 0.05 else "no"])
        trend = alpha_trend(scores)
        if trend:
            rows.append([label, "slope per unit α (all runs)", f"{trend.slope:+.{digits}f}", f"{trend.p:.3f}",
                         str(trend.runs), "yes" if trend.p < 0.05 else "no"])
    if not rows:
        return []
    return ["### α effects with the training run as the unit (seeds, not queries, resampled)", "",
            "Welch's t-test between the runs (seeds) of two α, and a least-squares slope of every run's score on α "
            "(two-sided t-test); each run counts once, so these include the training noise the query bootstraps "
            "leave out.", ""] + _table(["setting", "comparison", "Δ", "p", "runs", "p < 0.05"], rows) + [""]


def _seed_section(models: list[ModelRuns], tasks: dict[str, str], metric: str) -> list[str]:
    """Each seed of the replicated α, and how far seeds of one α lie apart next to how far α lie apart."""
    scored = {m.label: {label: revision_means(m, task, metric) for label, task in tasks.items()}
              for m in models if m.alpha is not None}
    replicated = [m for m in models if m.alpha is not None and any(len(v) > 1 for v in scored[m.label].values())]
    if not replicated:
        return []
    rows, seed_range = [], defaultdict(float)
    for m in replicated:
        per_task = scored[m.label]
        for revision in (r for r in m.revisions if any(r in v for v in per_task.values())):
            rows.append([m.label, run_label(m, revision)] + [f"{v[revision]:.4f}" if revision in v else "–" for v in per_task.values()])
        spread = {label: max(v.values()) - min(v.values()) if len(v) > 1 else None for label, v in per_task.items()}
        rows.append([m.label, "range"] + ["–" if d is None else f"{d:.4f}" for d in spread.values()])
        for label, d in spread.items():
            seed_range[label] = max(seed_range[label], d or 0.0)
    alpha_range = {}
    for label, task in tasks.items():
        means = [v[0] for m in models if m.alpha is not None and (v := subset_mean(m, task, metric))]
        alpha_range[label] = max(means) - min(means) if len(means) > 1 else None
    summary = "; ".join(f"{label}: α means span {alpha_range[label]:.4f}, seeds of one α up to {seed_range[label]:.4f}"
                        for label in tasks if alpha_range[label] is not None)
    return [f"### Seed to seed ({METRIC_LABEL[metric]}, one row per training seed)", "",
            "The intervals and tests above resample queries, not training runs; the seeds show the training noise. "
            "A difference between α smaller than the range between seeds of one α is not evidence either way.", ""] + _table(
        ["model", "run"] + list(tasks), rows) + ["", f"Spread: {summary}.", ""]


def _language_section(models: list[ModelRuns], task: str, seen: set[str] | None) -> list[str]:
    """mAP@20 per query language of ``task`` (rank distance beside it where the task has one)."""
    subsets = sorted({s for m in models for s in m.results.get(task, {})})
    if not subsets:
        return []
    with_rd = any("rank_distance" in e.scores for m in models for es in m.results.get(task, {}).values() for e in es)
    lines = [f"### Per query language ({task}, mAP@20{'; RD in brackets' if with_rd else ''})", ""]
    for group, members in language_groups(subsets, seen).items():
        if not members:
            continue
        rows = []
        for subset in members:
            cells = [subset]
            for m in models:
                entries = m.results.get(task, {}).get(subset, [])
                if entries:
                    mean = np.mean([e.scores.get("map_at_20", np.nan) for e in entries])
                    rd = np.mean([e.scores.get("rank_distance", np.nan) for e in entries]) if with_rd else None
                    cells.append(f"{mean:.4f}" + (f" ({rd:.0f})" if with_rd else ""))
                else:
                    cells.append("–")
            rows.append(cells)
        if len(members) > 1:  # the group's mean: over its languages, per run, then over runs
            means, metrics = ["**mean**"], ("map_at_20", "rank_distance") if with_rd else ("map_at_20",)
            for m in models:
                runs = {metric: list(revision_means(m, task, metric, set(members)).values()) for metric in metrics}
                means.append("–" if not runs["map_at_20"] else f"**{np.mean(runs['map_at_20']):.4f}**"
                             + (f" ({np.mean(runs['rank_distance']):.0f})" if runs.get("rank_distance") else ""))
            rows.append(means)
        lines += [f"**{group}**", ""] + _table(["language"] + [m.label for m in models], rows) + [""]
        lines += _group_trend(models, task, members, with_rd)
    return lines


def _group_trend(models: list[ModelRuns], task: str, members: list[str], with_rd: bool) -> list[str]:
    """The slope over α of one language group's mean, with every training run as one observation."""
    trends = {label: (trend, digits) for metric, label, digits in [("map_at_20", "mAP@20", 4), ("rank_distance", "RD", 1)]
              if (metric != "rank_distance" or with_rd)
              and (trend := alpha_trend(run_scores(models, task, metric, set(members))))}
    if not trends:
        return []
    runs = next(iter(trends.values()))[0].runs
    slopes = "; ".join(f"{label} {t.slope:+.{d}f} per unit α (p = {t.p:.3f})" for label, (t, d) in trends.items())
    return [f"Mean over these languages, least-squares slope over {runs} training runs (each run one observation): "
            f"{slopes}.", ""]


def _low_resource_section(models: list[ModelRuns], out_dir: Path) -> list[str]:
    """AfriQA and other non-LAReQA tasks: nDCG@10 per language and on average, intervals, tests, a plot."""
    low_resource = low_resource_tasks()
    tasks = sorted({t for m in models for t in m.results if t in low_resource})
    if not tasks:
        return []
    metric = "ndcg_at_10"
    lines = ["## Low-resource tasks (nDCG@10)", ""]
    trained_on = sorted({t for m in models for t in m.training_tasks} & set(tasks))
    if trained_on:
        lines += [f"Trained models saw the train split of {', '.join(trained_on)} (their languages are seen in "
                  "training); the scores are on the disjoint test split.", ""]
    for task in tasks:
        subsets = sorted({s for m in models for s in m.results.get(task, {})})
        rows = []
        for subset in subsets:
            cells = [subset]
            for m in models:
                entries = m.results.get(task, {}).get(subset, [])
                cells.append(f"{np.mean([e.scores.get(metric, np.nan) for e in entries]):.4f}" if entries else "–")
            rows.append(cells)
        means = ["**mean**"] + [f"**{v[0]:.4f}**" if (v := subset_mean(m, task, metric)) else "–" for m in models]
        intervals = ["95% interval"] + ["–" if (ci := confidence_interval(m, task, metric)) is None
                                        else f"[{ci[0]:.4f}, {ci[1]:.4f}]" for m in models]
        lines += [f"### {task}", ""] + _coverage_notes(models, [task])
        zero = ["zero-shot (mteb)"] + [zero_shot(m, [task]) if task in m.results else "–" for m in models]
        lines += _table(["language"] + [m.label for m in models], rows + [means, intervals, zero]) + [""]
        lines += _paired_section(models, {task: task}, metric, task)
        lines += _seed_section(models, {task: task}, metric)
        lines += _seed_unit_section(models, {task: task}, default_metric=metric)
    plot = _plot_vs_alpha(models, {t: t for t in tasks}, metric, "nDCG@10 (mean over languages)",
                          out_dir / "low-resource_ndcg_at_10_vs_alpha", "low-resource tasks")
    return lines + ([f"![{plot}]({plot})", ""] if plot else [])
