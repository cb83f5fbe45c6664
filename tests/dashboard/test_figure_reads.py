"""How often a study page's figures read the study's trials, asked of the app without a browser."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

import metahpo as mh
from metahpo.storage import InMemoryStorage

SPACE = mh.Space({"x": mh.Float(0.0, 1.0), "y": mh.Float(0.0, 1.0)})


def _objective(trial) -> float:
    return (trial.config["x"] - 0.3) ** 2 + trial.config["y"]


def _get(app: Any, path: str) -> Any:
    """The app's answer to ``GET path``."""
    import asyncio
    import concurrent.futures

    import httpx

    async def ask() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://dashboard") as client:
            return await client.get(path)

    # On a thread of its own: another test (the browser's) may leave this thread's loop running.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, ask()).result()


def _figure_paths(page: str) -> list[str]:
    """The figures a study page asks for, as its script does."""
    return [unescape(src) for src in re.findall(r'<div class="plot"[^>]*data-src="([^"]+)"', page)]


def _history_numbers(figure: dict[str, Any]) -> list[int]:
    """The trial numbers of the history figure's best-so-far line: every COMPLETE trial."""
    return list(figure["data"][-1]["x"])


def test_a_study_page_and_its_figures_read_the_study_once_and_again_after_a_change(
        served_and_written, counting_storage):
    from metahpo.dashboard import create_app

    served, written = served_and_written
    study = mh.create_study(name="s", space=SPACE, storage=written, optimizer="random", seed=0)
    study.optimize(_objective, n_trials=3, show_progress=False)
    counting = counting_storage(served)
    app = create_app(counting)

    def reads() -> int:
        return counting.calls["get_trials"] + counting.calls["get_trial"]

    page = _get(app, "/study?name=s")
    figures = _figure_paths(page.text)
    assert page.status_code == 200 and len(figures) >= 5
    history = next(path for path in figures if "kind=history" in path)
    assert reads() == 1
    for path in figures:
        counting.calls.clear()
        assert _get(app, path).status_code == 200, path
        # The study the page read, shared by every figure. The knowledge map reads its
        # knowledge too: every study of the storage, here "s" alone.
        assert reads() == (1 if "kind=knowledge-map" in path else 0), path
    counting.calls.clear()
    assert _history_numbers(_get(app, history).json()) == [0, 1, 2] and reads() == 0

    study.optimize(_objective, n_trials=1, show_progress=False)  # a new trial
    counting.calls.clear()
    assert _history_numbers(_get(app, history).json()) == [0, 1, 2, 3] and reads() == 1
    for path in figures:
        if "kind=knowledge-map" not in path:
            assert _get(app, path).status_code == 200, path
    assert reads() == 1
    counting.calls.clear()
    why = _get(app, "/api/figure?study=s&kind=why&trial=3")  # the new trial, from the study kept
    assert why.status_code == 200 and reads() == 0

    written.delete_study("s")
    assert _get(app, history).status_code == 404
    mh.create_study(name="s", space=SPACE, storage=written, optimizer="random", seed=1)
    made = _get(app, history)  # another study under the name: never the old one's figure
    assert made.status_code == 200 and "No COMPLETE trial yet" in made.text


def test_a_storage_without_study_fingerprints_reads_the_study_for_every_figure(counting_storage):
    from metahpo.dashboard import create_app

    storage = InMemoryStorage()
    mh.create_study(name="s", space=SPACE, storage=storage, optimizer="random", seed=0).optimize(
        _objective, n_trials=3, show_progress=False)
    counting = counting_storage(storage, hidden=("study_fingerprint",))
    app = create_app(counting)
    for _ in range(3):
        assert _get(app, "/api/figure?study=s&kind=history").status_code == 200
    assert counting.calls["get_trials"] == 3
