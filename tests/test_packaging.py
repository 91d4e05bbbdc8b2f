"""The package as users get it: definitions inside it, a fast import, broken definitions contained."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from xlr_bench.cli.app import main
from xlr_bench.definitions.tasks import BUILTIN_TASKS, TASKS_ENV


def _python(code: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter outside the checkout (no source tree on the path)."""
    return subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=600,
                          env={**os.environ, **env})


def test_definitions_ship_inside_the_package():
    names = {p.stem for p in BUILTIN_TASKS.glob("*.toml")}
    assert {"XQuADRRetrieval", "MLQARCrossLingualRetrieval", "AfriQARetrieval"} <= names
    assert (BUILTIN_TASKS.parent / "models" / "me5-small.toml").is_file()
    assert BUILTIN_TASKS.is_relative_to(Path(__import__("xlr_bench").__file__).parent)


def test_import_is_light_and_mteb_sees_the_tasks_once_imported(tmp_path):
    done = _python(
        "import sys, xlr_bench\n"
        "heavy = sorted(m for m in ('mteb', 'torch', 'transformers', 'sentence_transformers') if m in sys.modules)\n"
        "print('heavy at import:', heavy)\n"
        "import mteb\n"
        "print('benchmarks built by registering:', 'mteb.benchmarks.benchmarks' in sys.modules)\n"
        "task, meta = mteb.get_task('XQuADRRetrieval'), mteb.get_model_meta('xlr-bench/me5-small')\n"
        "print('torch for tasks and models:', 'torch' in sys.modules)\n"
        "print(task.metadata.name, mteb.get_benchmark('XLR').name, meta.name, len(xlr_bench.TASK_NAMES))\n", tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "heavy at import: []" in done.stdout
    # registering and looking up (what validating results or building a report needs) imports no torch, and
    # mteb's benchmark module (every task of every benchmark, built on import) waits for a benchmark lookup
    assert "torch for tasks and models: False" in done.stdout
    assert "benchmarks built by registering: False" in done.stdout
    assert f"XQuADRRetrieval XLR xlr-bench/me5-small {len(list(BUILTIN_TASKS.glob('*.toml')))}" in done.stdout


def test_registration_when_an_xlr_bench_module_imports_mteb_first(tmp_path):
    """The first import of mteb comes from inside a half-imported xlr-bench module: registering must
    wait for that module and then happen."""
    done = _python("import xlr_bench.tasks.factory, mteb; print(mteb.get_task('AfriQARetrieval').metadata.name)", tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "AfriQARetrieval"


def test_the_suite_is_found_whichever_comes_first(tmp_path):
    """mteb's benchmark module imported before xlr_bench, or the suite asked of xlr_bench before mteb is
    imported: mteb.get_benchmark finds XLR either way, once."""
    done = _python("import mteb, mteb.benchmarks.benchmarks, xlr_bench\n"
                   "print(sum(b.name == 'XLR' for b in mteb.get_benchmarks()))\n", tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "1"
    done = _python("import xlr_bench\nsuite = xlr_bench.XLR\nimport mteb\n"
                   "print(mteb.get_benchmark('XLR') is suite, mteb.get_benchmark('XLR-MIRACL').name)\n", tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "True XLR-MIRACL"


def test_registering_again_leaves_one_hook_waiting_for_the_benchmarks(tmp_path):
    """register_all re-registers (definitions added since); the suite's hook must not pile up in sys.meta_path."""
    done = _python("import sys, xlr_bench, mteb\nfrom xlr_bench.core.import_hook import AfterImport\n"
                   "xlr_bench.register_all(); xlr_bench.register_all()\n"
                   "print(sum(isinstance(h, AfterImport) for h in sys.meta_path), mteb.get_benchmark('XLR').name,\n"
                   "      sum(isinstance(h, AfterImport) for h in sys.meta_path))\n", tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "1 XLR 0"


def test_help_imports_no_model_library(tmp_path):
    done = _python(
        "import sys\nfrom xlr_bench.cli.app import main\n"
        "for args in (['--help'], ['train', '--help'], ['sweep', '--help'], ['models', 'list']):\n"
        "    try:\n        main(args)\n    except SystemExit:\n        pass\n"
        "print('heavy:', sorted(m for m in ('mteb', 'torch', 'transformers', 'sentence_transformers') if m in sys.modules))\n",
        tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "heavy: []" in done.stdout


@pytest.mark.filterwarnings("ignore:xlr-bench skipped a definition")
def test_a_broken_definition_breaks_only_what_reads_it(tmp_path, monkeypatch):
    (tmp_path / "Broken.toml").write_text('name = "Broken"\nloader = "lareqa"\n[source\n', encoding="utf-8")
    done = _python("import warnings, xlr_bench, mteb\nprint(mteb.get_task('XQuADRRetrieval').metadata.name)",
                   tmp_path, **{TASKS_ENV: str(tmp_path)})
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "XQuADRRetrieval"
    assert "skipped a definition" in done.stderr and "Broken.toml: not valid TOML" in done.stderr

    monkeypatch.setenv(TASKS_ENV, str(tmp_path))
    assert CliRunner().invoke(main, ["data", "check", "--dataset", "xquad-r"]).exit_code == 0
    listed = CliRunner().invoke(main, ["tasks", "list"])
    assert listed.exit_code == 2 and "Broken.toml: not valid TOML" in listed.output


def test_models_add_writes_a_path_that_moves_with_the_project(tmp_path):
    from xlr_bench.definitions.models import ModelDefinition, parse_definition, write_definition

    checkpoint = tmp_path / "project" / "runs" / "a050-s42"
    checkpoint.mkdir(parents=True)
    definition = ModelDefinition(name="xlr-bench/me5-small-hybrid-a050", checkpoint={"directory": str(checkpoint)}, alpha=0.5)
    written = write_definition(definition, tmp_path / "project" / "models")
    assert 'directory = "../runs/a050-s42"' in written.read_text(encoding="utf-8")
    assert parse_definition(written).checkpoint == {"directory": str(checkpoint)}
    elsewhere = write_definition(definition, tmp_path / "config" / "xlr-bench" / "models")
    assert f'directory = "{checkpoint}"' in elsewhere.read_text(encoding="utf-8")


def test_atomically_written_files_get_the_usual_mode(tmp_path):
    from xlr_bench.core.atomic import atomic_open

    mask = os.umask(0o022)
    try:
        with atomic_open(tmp_path / "report.md", "w") as handle:
            handle.write("x")
        plain = tmp_path / "plain.md"
        plain.write_text("x")
    finally:
        os.umask(mask)
    assert (tmp_path / "report.md").stat().st_mode & 0o777 == plain.stat().st_mode & 0o777 == 0o644
