"""The playground page in a real browser (Debian's headless Chromium driven by Playwright) against a real
`ragsql serve` on the demo database with the real model, started once with an API key: the key dialog, a question
and its rows, a grouped question as a chart, a refused DELETE, and feedback used by the next question. Every step
saves a screenshot under pytest's tmp folder (the README's pictures in docs/img/ are copies of them)."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import serving

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
# Everything Chromium would otherwise reach out to the network for is off: the machines that test have no internet.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
KEY = "playground-test-key"
ANSWER_S = 180  # a question on two busy cores, the first one after the warm-up included

if not CHROMIUM.exists() and os.environ.get("CI") != "true":
    pytest.skip(f"{CHROMIUM} not found (apt-get install chromium; `make test` does it)", allow_module_level=True)
playwright_sync = pytest.importorskip("playwright.sync_api")
expect = playwright_sync.expect


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`ragsql serve` on a free port, a fresh home and an API key; ready once the model has warmed up (index,
    load the model, warm up: ~3 min on two idle cores, more when busy)."""
    with serving("ragsql serve", tmp_path_factory.mktemp("playground-server") / "home", 480,
                 RAGSQL_API_KEY=KEY) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator:
    with playwright_sync.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Callable[[Any, str], None]:
    folder = tmp_path_factory.mktemp("screenshots")

    def shoot(page, name: str) -> None:
        page.screenshot(path=folder / f"{name}.png", full_page=True)

    return shoot


@pytest.fixture(scope="module")
def page(browser, base_url: str) -> Iterator:
    """One tab holding the key (as after the dialog), shared by the steps below in order, as a person would."""
    context = browser.new_context(viewport={"width": 1360, "height": 900}, accept_downloads=True)
    context.add_init_script(f"sessionStorage.setItem('ragsql.apiKey', {KEY!r})")
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    tab.goto(base_url)
    expect(tab.locator("#db")).to_have_value("demo")
    yield tab
    context.close()
    assert not errors, errors


def ask(page, question: str, max_rows: int = 100) -> None:
    page.fill("#max-rows", str(max_rows))
    page.fill("#question", question)
    page.press("#question", "Enter")
    expect(page.locator("#ask-button")).to_be_enabled(timeout=ANSWER_S * 1000)
    expect(page.locator("#status")).to_have_class(re.compile(r"\bok\b"))


def test_a_wrong_api_key_shows_a_clear_message_and_the_right_one_opens_the_page(browser, base_url, shots) -> None:
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    tab = context.new_page()
    tab.goto(base_url)
    dialog = tab.locator("#key-dialog")
    expect(dialog).to_be_visible()
    tab.fill("#key-input", "not-the-key")
    tab.press("#key-input", "Enter")
    expect(tab.locator("#key-error")).to_contain_text("The server refused this API key")
    shots(tab, "1-wrong-key")
    tab.fill("#key-input", KEY)
    tab.press("#key-input", "Enter")
    expect(dialog).to_be_hidden()
    expect(tab.locator("#db")).to_have_value("demo")
    expect(tab.locator("#schema-tables details")).not_to_have_count(0)
    assert tab.evaluate("sessionStorage.getItem('ragsql.apiKey')") == KEY
    context.close()


def test_ask_a_question_and_see_its_rows_the_cap_and_why(page, shots) -> None:
    ask(page, "List every NR cell with its gNB and site.", max_rows=10)
    expect(page.locator("#stages li.done")).not_to_have_count(0)
    expect(page.locator("#table-view")).to_be_visible()
    expect(page.locator("#table-view tbody tr")).to_have_count(10)
    expect(page.locator("#row-info")).to_contain_text("row cap of 10")
    assert "nrcelldu" in page.input_value("#sql").lower()
    why = page.locator("#why")
    expect(why).to_contain_text("Retrieved tables")
    expect(why).to_contain_text("nrcelldu")
    expect(why).to_contain_text("generated")
    # sortable: a click on a header sorts by that column, a second click reverses
    first_header = page.locator("#table-view th").first
    first_header.locator("button").click()
    expect(first_header).to_have_attribute("aria-sort", "ascending")
    first_header.locator("button").click()
    expect(first_header).to_have_attribute("aria-sort", "descending")
    expect(page.locator("#recent")).to_contain_text("List every NR cell")
    shots(page, "2-rows")


def test_a_grouped_question_is_charted_switched_to_a_table_and_downloaded(page, shots) -> None:
    ask(page, "How many network elements does each vendor have?")
    chart = page.locator("#chart-view")
    expect(chart).to_be_visible()
    expect(chart.locator("svg[role=img]")).to_have_attribute("aria-label", re.compile("Bar chart"))
    bars = chart.locator("rect.bar").count()
    assert bars >= 2
    shots(page, "3-chart")
    page.click("#view-table")
    expect(page.locator("#table-view tbody tr")).to_have_count(bars)
    with page.expect_download() as download:
        page.click("#csv")
    csv = Path(download.value.path()).read_text().splitlines()
    assert csv[0].lower().startswith("vendor,") and len(csv) == bars + 1
    # a narrow window: everything still fits its width, nothing scrolls sideways
    page.set_viewport_size({"width": 420, "height": 900})
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    shots(page, "3-narrow")
    page.set_viewport_size({"width": 1360, "height": 900})


def test_edited_sql_runs_and_a_delete_is_refused_plainly(page, shots) -> None:
    page.fill("#sql", "SELECT vendor FROM managedelement GROUP BY vendor ORDER BY vendor")
    page.click("#run-sql")
    expect(page.locator("#sql-message")).to_have_class(re.compile(r"\bok\b"))
    expect(page.locator("#row-info")).to_contain_text("Your SQL")
    page.fill("#sql", "DELETE FROM alarmlog")
    page.press("#sql", "Control+Enter")
    message = page.locator("#sql-message")
    expect(message).to_contain_text("Refused")
    expect(message).to_contain_text("read_only")
    shots(page, "4-refused")


def test_feedback_is_used_by_the_next_similar_question(page, shots) -> None:
    right_sql = "SELECT name, swversion FROM managedelement WHERE vendor = 'Nokia' ORDER BY name"
    ask(page, "Which Nokia network elements do we have, with their software version?")
    page.click("#fb-wrong")
    page.fill("#fb-sql", right_sql)
    page.click("#fb-form button[type=submit]")
    expect(page.locator("#fb-message")).to_contain_text("Saved as a verified example")
    shots(page, "5-taught")
    ask(page, "Which Nokia network elements do we have and what software version do they run?")
    examples = page.locator("#why-examples")
    expect(examples).to_contain_text("Which Nokia network elements do we have, with their software version?")
    expect(examples).to_contain_text("taught here")
    expect(examples).to_contain_text(right_sql)
    shots(page, "6-used")


def test_the_schema_browser_searches_and_describes_tables(page, shots) -> None:
    page.fill("#schema-q", "alarm severity")
    page.press("#schema-q", "Enter")
    results = page.locator("#schema-results")
    expect(results).to_contain_text("alarmlog.perceivedseverity")
    results.get_by_role("link", name="alarmlog").click()
    table = page.locator('#schema-tables details[data-table="alarmlog"]')
    expect(table).to_have_attribute("open", "")
    expect(table.locator("table")).to_contain_text("perceivedseverity")  # the columns, from /v1/schema/tables
    page.locator("#glossary").locator("xpath=..").locator("summary").click()
    expect(page.locator("#glossary")).to_contain_text("gNB")
    shots(page, "7-schema")
