"""The leaderboard site in a real browser: headless Chromium driven by Selenium.

The site of the committed results is opened from the file system and from a loopback HTTP server;
the page must load without console errors and without any request leaving the machine, show the
rows and numbers the result files hold, sort on a header click, filter, and switch the language
view. A screenshot is saved for a person to look at (under pytest's tmp path, and also into
``$XLR_BENCH_SCREENSHOTS`` when that is set). Needs the Debian packages ``chromium`` and
``chromium-driver`` and the Python package ``selenium`` (``.ci/run`` installs them and sets
``XLR_BENCH_REQUIRE_BROWSER=1``, which turns the skip without them into a failure); the driver is
given explicitly, so Selenium Manager never tries to download one.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from test_site import BASE, RESULTS, committed_run, expected_runs, leaderboard

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
try:
    import selenium  # noqa: F401
except ImportError:
    selenium = None
MISSING = ("selenium (pip install selenium)" if selenium is None else
           None if CHROMIUM and CHROMEDRIVER else "Chromium and its driver (apt-get install chromium chromium-driver)")
if MISSING:
    if os.environ.get("XLR_BENCH_REQUIRE_BROWSER"):  # CI sets it: there, a skipped browser test is a failure
        pytest.fail(f"the browser tests need {MISSING}", pytrace=False)
    pytest.skip(f"the browser tests need {MISSING}", allow_module_level=True)

from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import Select  # noqa: E402

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--window-size=1600,1000")
SORT_COLUMN = "XQuADRSentenceRetrieval.map_at_20"  # every committed run has it


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("browser-site") / "site"
    assert leaderboard(str(RESULTS), "--out", str(out)).exit_code == 0
    return out


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def served(site):
    """The site on a loopback HTTP server, as a static host would serve it."""
    handler = functools.partial(_QuietHandler, directory=str(site))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/index.html"
    server.shutdown()
    server.server_close()
    thread.join()


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002  (the base class's signature)
        pass


def open_page(driver, url: str) -> None:
    """Load ``url`` and fail on any console error or any request that leaves the machine."""
    driver.get_log("browser"), driver.get_log("performance")  # start from empty logs
    driver.get(url)
    driver.find_element(By.ID, "leaderboard-table")
    errors = [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
    assert not errors, errors
    requests = [json.loads(e["message"])["message"] for e in driver.get_log("performance")]
    urls = [m["params"]["request"]["url"] for m in requests if m["method"] == "Network.requestWillBeSent"]
    local = ("file://", "http://127.0.0.1:", "data:")
    assert urls and all(u.startswith(local) for u in urls), [u for u in urls if not u.startswith(local)]


def table_rows(driver) -> list[dict]:
    """The main table as the browser shows it: visibility, run identity and every cell's value and text."""
    return driver.execute_script("""
        return Array.from(document.querySelectorAll('#leaderboard-table tbody tr')).map(function (row) {
            var cells = {};
            row.querySelectorAll('[data-col]').forEach(function (cell) {
                cells[cell.getAttribute('data-col')] = [cell.getAttribute('data-value'), cell.innerText.trim()];
            });
            return {model: row.getAttribute('data-model'), run: row.getAttribute('data-run'),
                    visible: row.offsetParent !== null, cells: cells};
        });""")


def check_numbers(driver) -> None:
    expected = expected_runs(RESULTS)
    rows = table_rows(driver)
    assert {(r["model"], r["run"]) for r in rows} == set(expected) and all(r["visible"] for r in rows)
    checked = 0
    for row in rows:
        for column, (value, text) in row["cells"].items():
            if "." not in column:
                continue
            want = expected[(row["model"], row["run"])].get(column)
            if want is None:
                assert value == "" and text == "–", (row["run"], column)
                continue
            digits = 1 if column.endswith("rank_distance") else 4
            assert float(value) == pytest.approx(want, abs=1e-12), (row["run"], column)
            # the text is the value rounded (a mean that sits on a rounding tie may round either way)
            assert text.rstrip("†") == f"{float(value):.{digits}f}", (row["run"], column, text)
            assert abs(float(text.rstrip("†")) - want) <= 0.5 * 10 ** -digits + 1e-12
            checked += 1
    assert checked >= 60  # 9 runs x (4 sentence columns + 2 AfriQA) + the protocol runs


def test_opens_from_the_file_system_with_the_result_files_numbers(browser, site):
    open_page(browser, site.joinpath("index.html").as_uri())
    check_numbers(browser)


def test_opens_from_a_static_http_server_with_the_same_numbers(browser, served):
    open_page(browser, served)
    check_numbers(browser)
    # a model page and a linked result file load from the host too
    browser.find_element(By.CSS_SELECTOR, "#leaderboard-table tbody tr a").click()
    assert browser.find_element(By.TAG_NAME, "h1").text.startswith("xlr-bench/")
    link = browser.find_element(By.CSS_SELECTOR, "#scores td.num a").get_attribute("href")
    browser.get(link)
    assert '"task_name"' in browser.find_element(By.TAG_NAME, "body").text


def test_header_click_sorts(browser, site):
    open_page(browser, site.joinpath("index.html").as_uri())
    header = browser.find_element(By.CSS_SELECTOR, f'#leaderboard-table th[data-col="{SORT_COLUMN}"]')
    header.find_element(By.TAG_NAME, "button").click()
    values = [float(r["cells"][SORT_COLUMN][0]) for r in table_rows(browser)]
    assert values == sorted(values, reverse=True) and values[0] > values[-1]
    assert header.get_attribute("aria-sort") == "descending"
    header.find_element(By.TAG_NAME, "button").click()
    values = [float(r["cells"][SORT_COLUMN][0]) for r in table_rows(browser)]
    assert values == sorted(values) and header.get_attribute("aria-sort") == "ascending"
    # a column with missing values keeps them last in both directions
    protocol = browser.find_element(By.CSS_SELECTOR, '#leaderboard-table th[data-col="XQuADRRetrieval.map_at_20"] button')
    protocol.click()
    cells = [r["cells"]["XQuADRRetrieval.map_at_20"][0] for r in table_rows(browser)]
    present = [float(v) for v in cells if v]
    assert present == sorted(present, reverse=True) and cells == [*cells[:len(present)], *[""] * (len(cells) - len(present))]
    # lower is better for rank distance: first click puts the lowest first
    browser.find_element(By.CSS_SELECTOR, '#leaderboard-table th[data-col="XQuADRSentenceRetrieval.rank_distance"] button').click()
    distances = [float(r["cells"]["XQuADRSentenceRetrieval.rank_distance"][0]) for r in table_rows(browser)]
    assert distances == sorted(distances)


def test_filter_by_text_and_family(browser, site):
    open_page(browser, site.joinpath("index.html").as_uri())
    search = browser.find_element(By.ID, "search")
    search.send_keys("a050")
    shown = [r for r in table_rows(browser) if r["visible"]]
    assert shown and all("-a050-s" in r["model"] for r in shown)  # every family's α = 0.5 runs
    assert len(shown) == sum(1 for model, _ in expected_runs(RESULTS) if "-a050-s" in model)
    assert browser.find_element(By.ID, "shown-count").text == f"{len(shown)} of {len(table_rows(browser))} runs shown"
    search.clear()
    search.send_keys(" ")  # clear() sends no input event; any edit re-applies the filter
    assert all(r["visible"] for r in table_rows(browser))
    Select(browser.find_element(By.ID, "family")).select_by_value("reference models")
    models = {model for model, _ in expected_runs(RESULTS)}
    assert {r["model"] for r in table_rows(browser) if r["visible"]} == {m for m in models if "-hybrid-" not in m}
    # one entry per hybrid family (the 30-step study's and the tagged 300-step one): each shows its own runs
    families = [o.get_attribute("value") for o in Select(browser.find_element(By.ID, "family")).options
                if "-hybrid" in o.get_attribute("value")]
    assert "xlr-bench/me5-small-hybrid" in families
    covered = set()
    for family in families:
        Select(browser.find_element(By.ID, "family")).select_by_value(family)
        own = {m for m in models if re.fullmatch(re.escape(family) + r"-a\d{3}-s\d+", m)}
        assert own and {r["model"] for r in table_rows(browser) if r["visible"]} == own, family
        covered |= own
    assert covered == {m for m in models if "-hybrid-" in m}


def test_language_view_switches(browser, site, tmp_path):
    open_page(browser, site.joinpath("index.html").as_uri())

    def visible_views():
        return [v.get_attribute("data-task") for v in browser.find_elements(By.CSS_SELECTOR, ".lang-view")
                if v.is_displayed()]

    assert visible_views() == [Select(browser.find_element(By.ID, "lang-task")).first_selected_option.get_attribute("value")]
    Select(browser.find_element(By.ID, "lang-task")).select_by_value("AfriQARetrieval")
    assert visible_views() == ["AfriQARetrieval"]
    view = browser.find_element(By.CSS_SELECTOR, '.lang-view[data-task="AfriQARetrieval"]')
    assert [g.get_attribute("data-group") for g in view.find_elements(By.TAG_NAME, "tbody")] == ["low-resource"]
    # the base model's Hausa nDCG@10, as the file holds it
    data = json.loads((committed_run(BASE) / "AfriQARetrieval.json").read_text())
    hau = next(e["ndcg_at_10"] for e in data["scores"]["test"] if e["hf_subset"] == "hau")
    first = view.find_element(By.CSS_SELECTOR, 'tr[data-subset="hau"] td')
    assert first.text == f"{hau:.4f}"
    Select(browser.find_element(By.ID, "lang-task")).select_by_value("XQuADRSentenceRetrieval")
    assert visible_views() == ["XQuADRSentenceRetrieval"]
    groups = browser.find_elements(By.CSS_SELECTOR, '.lang-view[data-task="XQuADRSentenceRetrieval"] tbody')
    assert [g.get_attribute("data-group") for g in groups] == ["seen in training", "unseen in training"]


def test_screenshot_for_a_person(browser, site, tmp_path):
    open_page(browser, site.joinpath("index.html").as_uri())
    shots = {"leaderboard.png": None, "leaderboard-curves.png": "curves", "leaderboard-languages.png": "languages"}
    for name, anchor in shots.items():
        if anchor:
            browser.execute_script("document.getElementById(arguments[0]).scrollIntoView()", anchor)
        path = tmp_path / name
        assert browser.save_screenshot(str(path))
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 20_000
        if os.environ.get("XLR_BENCH_SCREENSHOTS"):
            target = Path(os.environ["XLR_BENCH_SCREENSHOTS"])
            target.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target / name)
