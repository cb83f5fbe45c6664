"""The dashboard in a real headless Chromium: pages render, plots draw, nothing runs that
should not, and no console error."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from urllib.parse import quote

import pytest

SCRIPT_NAME = "<script>alert(1)</script>"  # as in tests/conftest.py

# With METAHPO_SCREENSHOTS=DIR the tests save screenshots there; with
# METAHPO_DASHBOARD_STORAGE=URL too, test_every_page_of_a_given_storage takes the ones
# docs/dashboard.md shows (on the storage `make demo` writes).
SCREENSHOTS = os.environ.get("METAHPO_SCREENSHOTS")
GIVEN_STORAGE = os.environ.get("METAHPO_DASHBOARD_STORAGE")
TIMEOUT_MS = 15_000
LONGEST_WAIT_MS = 30_000  # app.js's longest wait between two polls (MAX_IDLE_REFRESH_MS)


def _rendered(page, selector: str = "div.plot[data-src]") -> int:
    """Wait until every plot placeholder is drawn; returns how many there are."""
    page.wait_for_function(
        f"[...document.querySelectorAll({selector!r})].every(d => d.dataset.rendered)",
        timeout=TIMEOUT_MS)
    return page.locator(selector).count()


def _shot(page, name: str) -> None:
    if SCREENSHOTS and not GIVEN_STORAGE:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SCREENSHOTS) / f"{name}.png"), full_page=True)


def _next_poll(page, root: str, answered: list[str], interval_ms: int = LONGEST_WAIT_MS) -> list:
    """Skip the page's clock to the next poll of ``root`` (the element whose ``data-polls``
    app.js counts) and wait until that poll is done: one answer for each URL part in
    ``answered``, and the poll after it scheduled, so that a skip ahead reaches it.

    Returns the answers, in the order of ``answered``. Waiting only for the answers
    would race app.js: skipping ahead before it has scheduled its next poll skips nothing.
    """
    polls = page.evaluate(f"Number(document.querySelector({root!r}).dataset.polls || 0)")
    with contextlib.ExitStack() as stack:
        asked = [stack.enter_context(page.expect_response(lambda r, part=part: part in r.url, timeout=30_000))
                 for part in answered]
        page.clock.fast_forward(interval_ms)
    page.wait_for_function(f"Number(document.querySelector({root!r}).dataset.polls) > {polls}", timeout=30_000)
    return [answer.value for answer in asked]


def _list_drawn_again(page) -> None:
    """Make the studies table's version stale, so that app.js draws the list it is sent at its
    next poll (an unchanged list is an empty 304, drawn by nobody), and wait until it did."""
    page.evaluate("document.querySelector('table#studies').dataset.version = 'stale'")
    page.wait_for_function("document.querySelector('table#studies').dataset.refreshed", timeout=TIMEOUT_MS)


def test_studies_page_lists_every_study_and_refreshes(page, dashboard_url):
    page.goto(dashboard_url + "/")
    table = page.locator("table#studies")
    for name in ("finished-hb", "running", "warm"):
        assert table.get_by_role("link", name=name, exact=True).count() == 1

    def cells(name: str) -> list[str]:
        return table.locator("tr", has=page.get_by_role("link", name=name, exact=True)).locator("td").all_inner_texts()

    def states_and_optimizers() -> dict[str, tuple[str, str]]:
        return {name: (cells(name)[1], cells(name)[4]) for name in ("running", "finished-hb", "past-1", "warm")}

    # "finished" is a study finish() was called on; the others' trials merely all ended.
    expected = {"running": ("running", "RandomSearch"), "finished-hb": ("finished", "RandomSearch"),
                "past-1": ("idle", "RandomSearch"), "warm": ("idle", "Portfolio")}
    assert states_and_optimizers() == expected
    _list_drawn_again(page)
    assert table.get_by_role("link", name="finished-hb", exact=True).count() == 1
    assert states_and_optimizers() == expected  # as app.js writes them
    _shot(page, "dashboard-studies")
    assert page.errors == []


def test_study_page_draws_every_figure_and_the_trials(page, dashboard_url):
    page.goto(dashboard_url + "/study?name=finished-hb")
    assert _rendered(page) == 9
    assert all(v == "1" for v in page.eval_on_selector_all(
        "div.plot", "ds => ds.map(d => d.dataset.rendered)"))
    # Plotly drew SVG (or WebGL) content into each placeholder.
    assert page.locator("div.plot .main-svg").count() >= 9
    assert page.locator("table#trials tbody tr").count() == 30
    _shot(page, "dashboard-study")
    assert page.errors == []


def test_failed_trial_error_and_why_are_shown_as_text(page, dashboard_url):
    page.goto(dashboard_url + "/study?name=running")
    _rendered(page)
    cells = page.locator("table#trials td", has_text="broken")
    assert cells.count() == 1
    assert "<b>broken</b> & failed" in cells.first.inner_text()
    assert page.locator("table#trials b").count() == 0  # not interpreted as HTML
    page.goto(dashboard_url + "/study?name=warm")
    _rendered(page)
    assert page.locator("table#trials td", has_text="similar: past-1 (0.7)").count() == 1
    assert page.errors == []


def test_script_study_name_is_text(page, dashboard_url):
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(dashboard_url + "/")
    link = page.get_by_role("link", name=SCRIPT_NAME, exact=True)
    assert link.count() == 1
    _list_drawn_again(page)
    assert page.get_by_role("link", name=SCRIPT_NAME, exact=True).count() == 1  # as app.js writes it
    with page.expect_navigation():  # else the checks below may still see the list page
        page.get_by_role("link", name=SCRIPT_NAME, exact=True).click()
    assert page.locator("h1").inner_text() == f"Study {SCRIPT_NAME}"
    _rendered(page)
    page.goto(dashboard_url + "/compare?name=" + quote(SCRIPT_NAME) + "&name=past-1")
    _rendered(page)
    assert dialogs == []
    assert page.evaluate("typeof window.alert") == "function"
    assert page.locator("script:not([src])").count() == 0
    assert page.errors == []


def test_compare_page_draws_the_chosen_studies(page, dashboard_url):
    page.goto(dashboard_url + "/compare")
    page.check("input[value='finished-hb']")
    page.check("input[value='past-1']")
    with page.expect_navigation():  # else the form page, which has no plot, is counted
        page.click("button[type=submit]")
    assert _rendered(page) == 2
    legend = page.locator("#plot-compare .legendtext").all_text_contents()
    assert sorted(legend) == ["finished-hb", "past-1"]
    _shot(page, "dashboard-compare")
    assert page.errors == []


def test_knowledge_page_shows_tasks_clusters_and_map(page, dashboard_url):
    page.goto(dashboard_url + "/knowledge")
    assert _rendered(page) >= 1
    names = page.locator("table#tasks").inner_text()
    for name in ("finished-hb", "past-1", "past-2", "warm", "running"):
        assert name in names
    assert page.locator("table#clusters tbody tr").count() >= 1
    assert page.locator("#plot-knowledge-map .point").count() >= 5
    _shot(page, "dashboard-knowledge")
    assert page.errors == []


@pytest.mark.parametrize("path", ["/static/../_app.py", "/static/%2e%2e/_app.py",
                                  "/static/..%2f_app.py", "/..%2f..%2fetc/passwd", "/static/%2e%2e%2f%2e%2e%2fetc/passwd"])
def test_traversal_is_refused(dashboard_url, path):
    import http.client

    host, port = dashboard_url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    connection.request("GET", path)  # sent as written: no client-side normalisation
    response = connection.getresponse()
    body = response.read()
    assert response.status == 404
    assert b"import" not in body and b"root:" not in body


def test_nothing_writes(dashboard_url):
    import httpx

    for method in ("POST", "PUT", "DELETE", "PATCH"):
        assert httpx.request(method, dashboard_url + "/api/studies").status_code == 405


@pytest.mark.skipif(GIVEN_STORAGE is None, reason="METAHPO_DASHBOARD_STORAGE names no storage")
def test_every_page_of_a_given_storage(page, serve_dashboard):
    from metahpo.storage import get_storage

    records = get_storage(GIVEN_STORAGE).list_studies()
    names = [r.name for r in records]
    assert names
    # The study to show: the last one whose optimizer learned from the knowledge.
    shown = next((r.name for r in reversed(records) if "knowledge_update" in r.user_attrs), names[-1])
    with serve_dashboard(GIVEN_STORAGE) as url:
        shots = [("dashboard-studies", "/"),
                 ("dashboard-study", "/study?name=" + quote(shown)),
                 ("dashboard-compare", "/compare?" + "&".join("name=" + quote(n) for n in names[-2:])),
                 ("dashboard-knowledge", "/knowledge")]
        for name, path in shots:
            page.goto(url + path)
            _rendered(page)
            if SCREENSHOTS:
                Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(Path(SCREENSHOTS) / f"{name}.png"), full_page=True)
    assert page.errors == []


def test_markup_in_a_studys_strings_is_drawn_as_text(page, serve_dashboard, tmp_path):
    import metahpo as mh

    name, param, choice = '<a href="https://example.com">linked</a>', "<b>lr</b>", "<i>adam</i>"
    url = f"sqlite:///{tmp_path / 'markup.db'}"
    space = mh.Space({param: mh.Float(1e-3, 1.0, log=True), "x": mh.Float(0.0, 1.0),
                      "opt": mh.Categorical([choice, "sgd"])})
    study = mh.create_study(name=name, space=space, storage=url, optimizer="random", seed=0)
    study.optimize(lambda t: t.config[param] + t.config["x"] + (t.config["opt"] == choice), n_trials=8,
                   show_progress=False)
    with serve_dashboard(url) as dashboard:
        page.goto(dashboard + "/study?name=" + quote(name))
        _rendered(page)
        # Plotly draws <a href> as an SVG link and <b> as a bold tspan: neither is drawn.
        assert page.locator("div.plot svg a").count() == 0
        assert page.locator("div.plot tspan[style*='bold']").count() == 0
        titles = page.locator("div.plot .gtitle").all_text_contents()
        assert f"Optimization history of {name}" in titles
        ticks = page.locator("#plot-slice .xaxislayer-above text").all_text_contents()
        assert choice in ticks, ticks
        assert param in page.locator("#plot-contour .g-xtitle text").all_text_contents()
        assert param in page.locator("#plot-parallel .axis-title").all_text_contents()
        assert choice in page.locator("#plot-parallel .tick text").all_text_contents()
    assert page.errors == []


def test_an_idle_studys_page_shows_trials_that_start_later(page, serve_dashboard, tmp_path):
    import metahpo as mh

    url = f"sqlite:///{tmp_path / 'idle.db'}"
    space = mh.Space({"x": mh.Float(0.0, 1.0), "y": mh.Float(0.0, 1.0)})  # two: it has a contour
    study = mh.create_study(name="idle", space=space, storage=url, optimizer="random", seed=0)
    study.optimize(lambda t: t.config["x"], n_trials=2, show_progress=False)
    with serve_dashboard(url) as dashboard:
        figures: list[str] = []
        page.on("request", lambda request: figures.append(request.url) if "/api/figure" in request.url else None)
        page.clock.install()  # time flows as usual, and the test may skip ahead to a poll
        page.goto(dashboard + "/study?name=idle")
        drawn = _rendered(page)
        assert len(figures) == drawn
        assert page.locator("table#trials tbody tr").count() == 2
        # While nothing changes the page asks, less and less often, and draws nothing again.
        delay = "Number(document.querySelector('div#study').dataset.delay)"
        first = page.evaluate(delay)
        [asked] = _next_poll(page, "div#study", ["/api/study?"])
        assert asked.status == 304 and len(figures) == drawn
        assert page.evaluate(delay) > first
        study.optimize(lambda t: t.config["x"], n_trials=1, show_progress=False)
        [asked] = _next_poll(page, "div#study", ["/api/study?"])
        assert asked.status == 200
        page.wait_for_function("document.querySelectorAll('table#trials tbody tr').length === 3",
                               timeout=30_000)
        assert "3 trials" in page.locator("#facts").inner_text()
        page.wait_for_function("document.querySelector('div#study').dataset.refreshed", timeout=TIMEOUT_MS)
        points = page.evaluate(
            "document.getElementById('plot-history').data"
            ".filter(t => t.name !== 'best so far').reduce((n, t) => n + t.x.length, 0)")
        assert points == 3
    assert page.errors == []


def test_the_compare_page_redraws_when_a_compared_study_gets_a_trial(page, serve_dashboard, tmp_path):
    import metahpo as mh

    url = f"sqlite:///{tmp_path / 'compare.db'}"
    space = mh.Space({"x": mh.Float(0.0, 1.0)})
    studies = {name: mh.create_study(name=name, space=space, storage=url, optimizer="random", seed=seed)
               for seed, name in enumerate(("a", "b"))}
    for study in studies.values():
        study.optimize(lambda t: t.config["x"], n_trials=2, show_progress=False)
    with serve_dashboard(url) as dashboard:
        figures: list[str] = []
        page.on("request", lambda request: figures.append(request.url) if "/api/compare" in request.url else None)
        page.clock.install()  # time flows as usual, and the test may skip ahead to a poll
        page.goto(dashboard + "/compare?name=a&name=b")
        drawn = _rendered(page)
        assert drawn == 2 and len(figures) == drawn
        points = ("document.getElementById('plot-compare').data"
                  ".find(t => t.name === 'b').x.length")
        assert page.evaluate(points) == 2
        # While nothing changes the page asks about each study (the idle interval) and draws nothing again.
        asked = _next_poll(page, "#compare", ["/api/study?name=a", "/api/study?name=b"])
        assert [r.status for r in asked] == [304, 304] and len(figures) == drawn
        studies["b"].optimize(lambda t: t.config["x"], n_trials=1, show_progress=False)
        asked = _next_poll(page, "#compare", ["/api/study?name=a", "/api/study?name=b"])
        assert [r.status for r in asked] == [304, 200]
        page.wait_for_function("document.querySelector('#compare').dataset.refreshed", timeout=30_000)
        assert page.evaluate(points) == 3
        assert len(figures) == 2 * drawn
        assert "3 trials" in page.locator("li", has=page.get_by_role("link", name="b", exact=True)).inner_text()
    assert page.errors == []


@pytest.mark.parametrize(("path", "root", "points"), [
    ("/study?name=b", "div#study",
     "document.getElementById('plot-history').data.filter(t => t.name !== 'best so far')"
     ".reduce((n, t) => n + t.x.length, 0)"),
    ("/compare?name=a&name=b", "#compare",
     "document.getElementById('plot-compare').data.find(t => t.name === 'b').x.length"),
], ids=["study", "compare"])
def test_a_polling_page_downloads_a_study_only_when_it_changed(page, serve_dashboard, tmp_path, path, root, points):
    import metahpo as mh

    url = f"sqlite:///{tmp_path / 'poll.db'}"
    space = mh.Space({"x": mh.Float(0.0, 1.0), "y": mh.Float(0.0, 1.0)})
    studies = {name: mh.create_study(name=name, space=space, storage=url, optimizer="random", seed=seed)
               for seed, name in enumerate(("a", "b"))}
    for study in studies.values():
        study.optimize(lambda t: t.config["x"], n_trials=2, show_progress=False)
    watched = ["b"] if root == "div#study" else ["a", "b"]
    with serve_dashboard(url) as dashboard:
        answers: list = []  # every answer of /api/study, the page's polls
        page.on("response", lambda r: answers.append(r) if "/api/study?" in r.url else None)
        page.clock.install()  # time flows as usual, and the test may skip ahead to a poll
        page.goto(dashboard + path)
        _rendered(page)
        assert page.evaluate(points) == 2

        def poll() -> list[tuple[str, int]]:
            """Skip to the next poll (the idle interval); the statuses of its answers by study."""
            first = len(answers)
            _next_poll(page, root, [f"/api/study?name={name}" for name in watched])
            return sorted((r.url.rsplit("=", 1)[1], r.status) for r in answers[first:])

        # Unchanged, poll after poll: each study is asked about, its payload never sent.
        for _ in range(3):
            assert poll() == [(name, 304) for name in watched]
        assert all(r.request.sizes()["responseBodySize"] == 0 for r in answers)
        assert page.evaluate(f"document.querySelector({root!r}).dataset.refreshed") is None
        studies["b"].optimize(lambda t: t.config["x"], n_trials=1, show_progress=False)
        # Changed: b's payload is sent once, and the page draws it.
        assert poll() == [(name, 200 if name == "b" else 304) for name in watched]
        page.wait_for_function(f"document.querySelector({root!r}).dataset.refreshed", timeout=30_000)
        assert page.evaluate(points) == 3
        assert "3 trials" in page.locator(".facts", has_text="trials").last.inner_text()
        # Drawn: the page now holds the new version, and asks with it.
        assert poll() == [(name, 304) for name in watched]
    assert page.errors == []


def test_a_study_page_keeps_what_it_drew_while_the_server_reads_nothing(page, serve_dashboard, counting_storage,
                                                                       tmp_path):
    import metahpo as mh
    from metahpo.storage import SQLStorage

    url = f"sqlite:///{tmp_path / 'kept.db'}"
    space = mh.Space({"x": mh.Float(0.0, 1.0), "y": mh.Float(0.0, 1.0)})
    study = mh.create_study(name="kept", space=space, storage=url, optimizer="random", seed=0)
    study.optimize(lambda t: t.config["x"], n_trials=2, show_progress=False)
    served = counting_storage(SQLStorage(url))  # the dashboard's reads, counted
    with serve_dashboard(served) as dashboard:
        page.clock.install()  # time flows as usual, and the test may skip ahead to a poll
        page.goto(dashboard + "/study?name=kept")
        drawn = _rendered(page)
        history = ("document.getElementById('plot-history').data.filter(t => t.name !== 'best so far')"
                   ".reduce((n, t) => n + t.x.length, 0)")

        def shown() -> tuple[int, str, int, int]:
            """The trials table's rows, the facts, the history's points and the figures drawn."""
            return (page.locator("table#trials tbody tr").count(), page.locator("#facts").inner_text(),
                    page.evaluate(history), page.locator("div.plot[data-rendered='1'] .main-svg").count())

        def polled(status: int) -> None:
            """Skip to the next poll; it got ``status``, and a 304 read no trial to answer."""
            served.calls.clear()
            [asked] = _next_poll(page, "div#study", ["/api/study?"])
            assert asked.status == status
            if status == 304:
                assert served.calls["get_trials"] == 0 and served.calls["study_fingerprint"] >= 1

        drew = shown()
        assert drew[0] == 2 and "2 trials" in drew[1] and drew[2] == 2 and drew[3] >= drawn
        # Unchanged: the server answers from the study's fingerprint, and the page keeps it all.
        for _ in range(3):
            polled(304)
        assert shown() == drew
        assert page.evaluate("document.querySelector('div#study').dataset.refreshed") is None
        # A trial added: sent once, and drawn.
        study.optimize(lambda t: t.config["x"], n_trials=1, show_progress=False)
        polled(200)
        page.wait_for_function("document.querySelector('div#study').dataset.refreshed", timeout=30_000)
        now = shown()
        assert now[0] == 3 and "3 trials" in now[1] and now[2] == 3 and now[3] >= drawn
        # Unchanged again: nothing read, and what was drawn stays.
        polled(304)
        assert shown() == now
    assert page.errors == []


@contextlib.contextmanager
def _studies_page_on_a_still_clock(page, serve_dashboard, url: str):
    """The studies page of a storage holding one two-trial study ``"a"``, served, under a
    paused clock (only skips fire its polls, none in between), and the list of every
    answer of ``/api/studies`` it gets; yields ``(study, answers)``."""
    import metahpo as mh

    study = mh.create_study(name="a", space=mh.Space({"x": mh.Float(0.0, 1.0)}), storage=url,
                            optimizer="random", seed=0)
    study.optimize(lambda t: t.config["x"], n_trials=2, show_progress=False)
    with serve_dashboard(url) as dashboard:
        answers: list = []
        page.on("response", lambda r: answers.append(r) if "/api/studies" in r.url else None)
        page.clock.install()
        page.clock.pause_at(page.evaluate("Date.now()") + 1_000)
        page.goto(dashboard + "/")
        yield study, answers


def test_the_studies_page_downloads_the_list_only_when_it_changed(page, serve_dashboard, tmp_path):
    import metahpo as mh

    url = f"sqlite:///{tmp_path / 'list.db'}"
    space = mh.Space({"x": mh.Float(0.0, 1.0)})
    with _studies_page_on_a_still_clock(page, serve_dashboard, url) as (study, answers):

        def poll() -> list[int]:
            """Skip to the next poll; the statuses of the answers it got."""
            first = len(answers)
            _next_poll(page, "table#studies", ["/api/studies"])
            return [r.status for r in answers[first:]]

        def rows() -> dict[str, str]:
            """The trials column of the table, by study."""
            cells = page.eval_on_selector_all(
                "table#studies tbody tr", "rows => rows.map(r => [...r.cells].map(c => c.textContent))")
            return {row[0]: row[3] for row in cells}

        assert rows() == {"a": "2"}
        # Unchanged, poll after poll: the list is asked for, never sent.
        for _ in range(3):
            assert poll() == [304]
        assert all(r.request.sizes()["responseBodySize"] == 0 for r in answers)
        assert page.evaluate("document.querySelector('table#studies').dataset.refreshed") is None
        # A new trial, then a new study: each is sent once, and drawn.
        study.optimize(lambda t: t.config["x"], n_trials=1, show_progress=False)
        assert poll() == [200]
        assert rows() == {"a": "3"}
        assert poll() == [304]
        mh.create_study(name="b", space=space, storage=url, optimizer="random", seed=1)
        assert poll() == [200]
        assert rows() == {"a": "3", "b": "0"}
        # Drawn: the page now holds the new version, and asks with it.
        assert poll() == [304]
        assert page.evaluate("document.querySelector('table#studies').dataset.version") == \
            answers[-1].headers["etag"].strip('"')
    assert page.errors == []


def _set_hidden(page, hidden: bool) -> None:
    """Make the page hidden (another tab in front) or shown again, as the browser tells it:
    ``document.hidden`` and ``visibilityState`` change, then a ``visibilitychange`` event."""
    page.evaluate("""hidden => {
        Object.defineProperty(document, "hidden", { configurable: true, get: () => hidden });
        Object.defineProperty(document, "visibilityState", { configurable: true,
                                                             get: () => (hidden ? "hidden" : "visible") });
        document.dispatchEvent(new Event("visibilitychange"));
    }""", hidden)


def test_an_idle_studies_page_asks_less_often_and_not_while_hidden(page, serve_dashboard, tmp_path):
    url = f"sqlite:///{tmp_path / 'idle-list.db'}"
    # Only the skips below fire polls (or showing the page again).
    with _studies_page_on_a_still_clock(page, serve_dashboard, url) as (study, answers):
        table = "document.querySelector('table#studies')"

        def waits() -> int:
            """How long app.js waits before its next poll, in ms (as it says on the table)."""
            return int(page.evaluate(f"{table}.dataset.delay"))

        def state_and_trials() -> list[str]:
            return page.eval_on_selector("table#studies tbody tr", "r => [r.cells[1].textContent, r.cells[3].textContent]")

        first = waits()
        assert page.evaluate(f"{table}.dataset.running") == "false" and first <= 5_000
        # Nothing runs: each wait is longer than the one before, up to a bound.
        seen = []
        for _ in range(6):
            [asked] = _next_poll(page, "table#studies", ["/api/studies"])
            assert asked.status == 304
            seen.append(waits())
        assert seen == sorted(seen) and seen[0] > first and seen[-1] == seen[-2], seen
        assert 10_000 <= seen[-1] <= LONGEST_WAIT_MS, seen
        # A key press (the reader is back) brings the short wait back at once.
        page.keyboard.press("Shift")
        assert waits() == first
        for _ in range(2):
            _next_poll(page, "table#studies", ["/api/studies"])
        assert waits() > first
        # A trial starts: the next poll shows it, and the page asks often while it runs.
        running = study.ask()
        [asked] = _next_poll(page, "table#studies", ["/api/studies"])
        assert asked.status == 200 and state_and_trials() == ["running", "3"]
        assert page.evaluate(f"{table}.dataset.running") == "true" and waits() == first
        [asked] = _next_poll(page, "table#studies", ["/api/studies"])
        assert asked.status == 304 and waits() == first
        study.tell(running, 0.5)
        [asked] = _next_poll(page, "table#studies", ["/api/studies"])
        assert asked.status == 200 and state_and_trials() == ["idle", "3"] and waits() > first
        # Hidden, the page asks nothing, however long it waits.
        _set_hidden(page, True)
        polls, asked_before = page.evaluate(f"Number({table}.dataset.polls)"), len(answers)
        for _ in range(3):
            page.clock.fast_forward(2 * LONGEST_WAIT_MS)
        page.wait_for_timeout(500)  # an answer that was asked for would have come by now
        assert len(answers) == asked_before and page.evaluate(f"Number({table}.dataset.polls)") == polls
        # Shown again, it asks at once (the clock still stands) and shows what started meanwhile.
        study.ask()
        with page.expect_response(lambda r: "/api/studies" in r.url, timeout=TIMEOUT_MS) as shown:
            _set_hidden(page, False)
        assert shown.value.status == 200
        page.wait_for_function(f"Number({table}.dataset.polls) > {polls}", timeout=TIMEOUT_MS)
        assert state_and_trials() == ["running", "4"] and waits() == first
    assert page.errors == []
