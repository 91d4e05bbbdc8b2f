"""The data layer: resolution order, checksum refusal and the missing-file message."""

from __future__ import annotations

import shutil

import pytest
from click.testing import CliRunner

from xlr_bench.data import files as datafiles
from xlr_bench.cli.app import main
from xlr_bench.core.errors import XLRBenchError


def test_registry_covers_every_shared_file_with_checksums(data_dir):
    report = datafiles.check(data_dir)
    assert len(report) == 72
    assert all(r.status == "ok" for r in report)
    assert {f.dataset for f in datafiles.registry().values()} == {"xquad-r", "mlqa-r", "afriqa"}


def test_explicit_dir_outranks_env(tmp_path, data_dir, monkeypatch):
    rel = "lareqa/xquad-r/el.json"
    (tmp_path / rel).parent.mkdir(parents=True)
    shutil.copy(data_dir / rel, tmp_path / rel)
    assert datafiles.locate(rel, tmp_path) == tmp_path / rel
    assert datafiles.locate(rel) == data_dir / rel


def test_missing_file_says_where_and_how(tmp_path, monkeypatch):
    monkeypatch.setenv("XLR_BENCH_DATA", str(tmp_path / "env"))
    monkeypatch.setenv("XLR_BENCH_CACHE", str(tmp_path / "cache"))
    with pytest.raises(XLRBenchError) as err:
        datafiles.locate("lareqa/xquad-r/th.json", tmp_path / "explicit")
    msg = str(err.value)
    for where in ("explicit", "env", "cache"):
        assert str(tmp_path / where) in msg
    assert "xlr-bench data fetch xquad-r" in msg and "XLR_BENCH_DATA" in msg


def test_checksum_mismatch_is_refused(tmp_path, data_dir):
    rel = "lareqa/xquad-r/tr.json"
    (tmp_path / rel).parent.mkdir(parents=True)
    payload = bytearray((data_dir / rel).read_bytes())
    payload[100] ^= 1
    (tmp_path / rel).write_bytes(bytes(payload))
    with pytest.raises(XLRBenchError, match="Checksum mismatch.*not used"):
        datafiles.locate(rel, tmp_path)


def test_cli_check_and_error_exit_codes(tmp_path, data_dir, monkeypatch):
    runner = CliRunner()
    ok = runner.invoke(main, ["data", "check", "--data-dir", str(data_dir), "--dataset", "mlqa-r"])
    assert ok.exit_code == 0 and "7/7 files ok" in ok.output
    monkeypatch.setenv("XLR_BENCH_DATA", str(tmp_path))
    monkeypatch.setenv("XLR_BENCH_CACHE", str(tmp_path / "c"))
    missing = runner.invoke(main, ["data", "check", "--dataset", "mlqa-r"])
    assert missing.exit_code == 1 and "missing" in missing.output
    unknown = runner.invoke(main, ["data", "fetch", "nope"])
    assert unknown.exit_code == 2 and "Known datasets: afriqa, mlqa-r, xquad-r" in unknown.output
    assert "Traceback" not in unknown.output
