"""What the dashboard's pages say, read from a storage without a browser."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

import metahpo as mh
from metahpo.dashboard._pages import knowledge_body, studies_body, study_body
from metahpo.dashboard._reader import study_summaries
from metahpo.storage import InMemoryStorage, get_storage

SPACE = mh.Space({"x": mh.Float(0.0, 1.0)})


def _objective(trial) -> float:
    return (trial.config["x"] - 0.3) ** 2


def _column(html: str, table: str, header: str, key: str) -> dict[str, str]:
    """The text of one column of ``table``, by the text of each row's ``key`` column."""
    body = re.search(rf'<table id="{table}"[^>]*>(.*?)</table>', html, re.S)
    assert body is not None, f"no table {table!r}"
    headers = [unescape(h) for h in re.findall(r"<th>(.*?)</th>", body.group(1))]
    index, key_index = headers.index(header), headers.index(key)
    rows = {}
    for row in re.findall(r"<tr>(.*?)</tr>", body.group(1).split("</thead>", 1)[1], re.S):
        cells = [
            unescape(re.sub(r"<[^>]+>", "", c)) for c in re.findall(r"<td>(.*?)</td>", row, re.S)
        ]
        rows[cells[key_index]] = cells[index]
    return rows


def test_the_optimizer_is_named_as_users_name_it_and_auto_says_why(tmp_path):
    url = f"sqlite:///{tmp_path / 's.db'}"
    mh.create_study(name="gp", space=SPACE, storage=url, optimizer="gpbo", seed=0)
    mh.create_study(name="chosen", space=SPACE, storage=url, optimizer="auto", seed=0)
    shown = _column(studies_body(get_storage(url)), "studies", "optimizer", "study")
    assert shown["gp"] == "GPBO"
    assert re.fullmatch(
        r"GPBO \(auto: 0 related tasks among the \d+ tasks of the knowledge .*\)", shown["chosen"]
    ), shown["chosen"]
    assert "acquisition=" not in shown["chosen"] and "{" not in shown["gp"]
    # /api/studies, which refreshes the table, says the same.
    assert {r["name"]: r["optimizer"] for r in study_summaries(get_storage(url))} == shown


def test_the_creation_time_names_its_time_zone(tmp_path):
    # A page read anywhere showed UTC times with no zone.
    url = f"sqlite:///{tmp_path / 's.db'}"
    mh.create_study(name="made", space=SPACE, storage=url, optimizer="random", seed=0)
    created = mh.list_studies(url)[0].created_at
    shown = _column(studies_body(get_storage(url)), "studies", "created", "study")
    assert shown["made"] == created.strftime("%Y-%m-%d %H:%M UTC")


def test_finished_means_finish_was_called_not_that_no_trial_runs(tmp_path):
    url = f"sqlite:///{tmp_path / 's.db'}"
    done = mh.create_study(name="done", space=SPACE, storage=url, optimizer="random", seed=0)
    done.optimize(_objective, n_trials=3, show_progress=False)
    done.finish()
    idle = mh.create_study(name="idle", space=SPACE, storage=url, optimizer="random", seed=1)
    idle.optimize(_objective, n_trials=3, show_progress=False)
    continued = mh.create_study(
        name="continued", space=SPACE, storage=url, optimizer="random", seed=2
    )
    continued.optimize(_objective, n_trials=3, show_progress=False)
    continued.finish()
    continued.optimize(_objective, n_trials=1, show_progress=False)  # after its end: not finished
    running = mh.create_study(name="running", space=SPACE, storage=url, optimizer="random", seed=3)
    running.optimize(_objective, n_trials=1, show_progress=False)
    running.finish()
    running.ask()
    # Finished while a trial ran: that trial ends after the end the knowledge learned from.
    late = mh.create_study(name="late", space=SPACE, storage=url, optimizer="random", seed=5)
    late.optimize(_objective, n_trials=1, show_progress=False)
    handle = late.ask()
    late.finish()
    late.tell(handle, 0.5)
    # Tasks stored as studies are over.
    kb = mh.KnowledgeBase()
    kb.add_task(SPACE, [{"x": 0.1}, {"x": 0.9}], [0.3, 0.2], name="imported")
    kb.to_storage(url)
    mh.create_study(name="new", space=SPACE, storage=url, optimizer="random", seed=4)
    shown = _column(studies_body(get_storage(url)), "studies", "state", "study")
    assert shown == {
        "done": "finished",
        "idle": "idle",
        "continued": "idle",
        "running": "running",
        "new": "empty",
        "late": "idle",
        "imported": "finished",
    }


def test_the_meta_model_versions_say_whether_each_update_was_kept(tmp_path):
    url = f"sqlite:///{tmp_path / 's.db'}"
    storage = get_storage(url)
    updates = {
        "kept": {
            "meta_model": "key",
            "version": 2,
            "kept": True,
            "old_tasks_meta_test_loss_before": 0.5,
            "old_tasks_meta_test_loss_after": 0.49,
        },
        "discarded": {
            "meta_model": "key",
            "version": 3,
            "kept": False,
            "reason": "the new tasks' meta-test loss would rise from 0.4000 to 0.4100",
            "old_tasks_meta_test_loss_before": 0.5,
            "old_tasks_meta_test_loss_after": 0.48,
        },
        "trained": {
            "meta_model": "key",
            "version": 1,
            "meta_trained_on_tasks": 3,
            "meta_training_seconds": 21.4,
            "kept": True,
        },
    }
    for seed, (name, update) in enumerate(updates.items()):
        study = mh.create_study(name=name, space=SPACE, storage=url, optimizer="random", seed=seed)
        study.optimize(_objective, n_trials=5, show_progress=False)
        storage.set_study_user_attrs(study.study_id, {"knowledge_update": update})
    html = knowledge_body(storage)
    made_by = _column(html, "versions", "made by study", "version")
    outcome = {
        made_by[version]: text
        for version, text in _column(html, "versions", "update", "version").items()
    }
    assert outcome == {
        "trained": "meta-trained on 3 tasks in 21 s",
        "kept": "continual update kept",
        "discarded": "continual update discarded (the new tasks' meta-test loss would rise from "
        "0.4000 to 0.4100)",
    }


def test_a_study_deleted_while_the_list_is_read_is_left_out(tmp_path):
    url = f"sqlite:///{tmp_path / 's.db'}"
    for name in ("kept", "gone"):
        mh.create_study(name=name, space=SPACE, storage=url, optimizer="random", seed=0).optimize(
            _objective, n_trials=2, show_progress=False)
    storage = get_storage(url)
    listed = storage.list_studies()  # what the page read just before `metahpo delete gone`
    storage.delete_study("gone")
    storage.list_studies = lambda: listed  # type: ignore[method-assign]
    assert [row["name"] for row in study_summaries(storage)] == ["kept"]


def test_a_figure_request_with_a_trial_that_is_not_a_number_is_a_400_naming_it(tmp_path):
    import asyncio
    import concurrent.futures

    import httpx

    from metahpo.dashboard import create_app

    url = f"sqlite:///{tmp_path / 's.db'}"
    mh.create_study(name="s", space=SPACE, storage=url, optimizer="random", seed=0).optimize(
        _objective, n_trials=2, show_progress=False)

    async def answers() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=create_app(url))
        async with httpx.AsyncClient(transport=transport, base_url="http://dashboard") as client:
            return [await client.get("/api/figure", params={"study": "s", "kind": "why", "trial": t})
                    for t in ("abc", "", "1e3", "-1", "1")]

    # On a thread of its own: another test (the browser's) may leave this thread's loop running.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        *bad, good = pool.submit(asyncio.run, answers()).result()
    for answer in bad:
        assert answer.status_code == 400 and "'trial' query parameter" in answer.json()["error"]
    assert good.status_code == 200


def test_a_study_page_is_told_when_its_study_changed(tmp_path):
    study, url, app = _served_study(tmp_path)

    def answer(name: str = "s") -> Any:
        return _conditional(app, f"/api/study?name={name}", None, "GET")

    before, same = answer().json(), answer().json()
    assert before == same and before["state"] == "idle" and len(before["rows"]) == 2
    # The page carries the version it was drawn at.
    assert f'data-version="{before["version"]}"' in study_body(get_storage(url), "s")
    running = study.ask()
    during = answer().json()
    assert during["state"] == "running" and during["version"] != before["version"]
    running.report(1, 0.9)
    reported = answer().json()["version"]
    running.report(1, 0.7)  # the same step again: its value replaced, the curve redrawn
    assert answer().json()["version"] != reported
    study.tell(running, 0.5)
    after = answer().json()
    assert after["version"] != during["version"] and "3 trials" in after["facts"]
    assert [row[0] for row in after["rows"]] == ["0", "1", "2"]
    assert answer("nope").status_code == 404


def test_a_study_is_sent_again_only_when_its_version_changed(tmp_path):
    study, _, app = _served_study(tmp_path)

    def answer(tag: str | None = None, method: str = "GET") -> Any:
        return _conditional(app, "/api/study?name=s", tag, method)

    full = answer()
    version = full.json()["version"]
    assert full.status_code == 200 and full.headers["etag"] == f'"{version}"'
    assert full.headers["cache-control"] == "no-cache"
    # Unchanged: an empty 304, however the tag is written (a list, a weak tag, any).
    for tag in (f'"{version}"', f'"other", W/"{version}"', "*"):
        same = answer(tag)
        assert same.status_code == 304 and same.content == b"" and same.headers["etag"] == f'"{version}"'
    assert answer(f'"{version}"', "HEAD").status_code == 304
    stale = answer('"0123456789abcdef"')
    assert stale.status_code == 200 and stale.json() == full.json()
    study.tell(study.ask(), 0.5)
    changed = answer(f'"{version}"')
    assert changed.status_code == 200 and len(changed.json()["rows"]) == 3
    assert changed.headers["etag"] == f'"{changed.json()["version"]}"' != f'"{version}"'
    assert answer("*").status_code == 304


def test_the_studies_list_is_sent_again_only_when_it_changed(tmp_path):
    study, url, app = _served_study(tmp_path)

    def answer(tag: str | None = None, method: str = "GET") -> Any:
        return _conditional(app, "/api/studies", tag, method)

    full = answer()
    etag = full.headers["etag"]
    assert full.status_code == 200 and [row["trials"] for row in full.json()] == [2]
    assert re.fullmatch(r'"[0-9a-f]{16}"', etag) and full.headers["cache-control"] == "no-cache"
    # The page carries the version of the list it was drawn at.
    assert f"data-version={etag}" in studies_body(get_storage(url))
    # Unchanged: an empty 304, however the tag is written (a list, a weak tag, any).
    for tag in (etag, f'"other", W/{etag}', "*"):
        same = answer(tag)
        assert same.status_code == 304 and same.content == b"" and same.headers["etag"] == etag
    assert answer(etag, "HEAD").status_code == 304
    stale = answer('"0123456789abcdef"')
    assert stale.status_code == 200 and stale.json() == full.json() and stale.headers["etag"] == etag

    def changed(before: str) -> Any:
        """The list asked for with the tag ``before``: sent again, under a new tag."""
        again = answer(before)
        assert again.status_code == 200 and again.headers["etag"] != before
        assert answer(again.headers["etag"]).status_code == 304
        return again

    running = study.ask()
    started = changed(etag)
    assert started.json()[0]["state"] == "running" and started.json()[0]["trials"] == 3
    # A report changes nothing the list shows: the list is not sent again.
    running.report(1, 0.9)
    assert answer(started.headers["etag"]).status_code == 304
    study.tell(running, -1.0)
    told = changed(started.headers["etag"])
    assert told.json()[0]["state"] == "idle" and told.json()[0]["best"] == -1.0
    mh.create_study(name="new", space=SPACE, storage=url, optimizer="random", seed=1)
    added = changed(told.headers["etag"])
    assert [row["name"] for row in added.json()] == ["s", "new"]
    get_storage(url).delete_study("new")
    removed = changed(added.headers["etag"])
    assert removed.json() == told.json() and removed.headers["etag"] == told.headers["etag"]


def test_an_unchanged_list_is_answered_without_reading_a_study_and_a_change_reads_that_study(
        served_and_written, monkeypatch):
    from metahpo.dashboard import _reader, create_app

    served, written = served_and_written
    study = mh.create_study(name="s", space=SPACE, storage=written, optimizer="random", seed=0)
    study.optimize(_objective, n_trials=2, show_progress=False)
    mh.create_study(name="t", space=SPACE, storage=written, optimizer="random", seed=1)
    app = create_app(served)
    reads: list[str] = []  # the studies read whole (every trial), by name
    read_study = _reader.read_study
    monkeypatch.setattr(_reader, "read_study", lambda name, store: reads.append(name) or read_study(name, store))

    def answer(tag: str | None) -> Any:
        """The list asked for with ``tag``, and the studies read to answer."""
        reads.clear()
        return _conditional(app, "/api/studies", tag, "GET"), list(reads)

    full, read = answer(None)
    assert full.status_code == 200 and read == ["s", "t"]
    etag = full.headers["etag"]
    for _ in range(3):
        again, read = answer(etag)
        assert again.status_code == 304 and read == []
    # A page opened since, which holds no version, is sent the list kept, unread.
    fresh, read = answer(None)
    assert fresh.status_code == 200 and fresh.json() == full.json() and read == []
    # So is the studies page opened since: it is drawn from the list kept, at its version.
    reads.clear()
    page = _conditional(app, "/", None, "GET")
    assert page.status_code == 200 and f"data-version={etag}" in page.text and reads == []

    def changed(before: str, studies_read: list[str]) -> list[dict[str, Any]]:
        """The list asked for with the tag ``before``: read again and sent, under a new tag,
        having read the trials of ``studies_read`` alone (the others are unchanged); asked
        for again with that tag, an empty 304, read from nothing."""
        again, read = answer(before)
        assert again.status_code == 200 and again.headers["etag"] != before and read == studies_read
        same, read = answer(again.headers["etag"])
        assert same.status_code == 304 and read == []
        rows: list[dict[str, Any]] = again.json()
        return rows

    def row(rows: list[dict[str, Any]], name: str = "s") -> dict[str, Any]:
        return next(r for r in rows if r["name"] == name)

    running = study.ask()
    rows = changed(etag, ["s"])
    assert row(rows)["state"] == "running" and row(rows)["trials"] == 3 and row(rows)["counts"]["RUNNING"] == 1
    etag = answer(None)[0].headers["etag"]
    running.report(1, 0.9)  # nothing the list shows: read again or not, the same version
    assert answer(etag)[0].status_code == 304
    study.tell(running, -1.0)
    rows = changed(etag, ["s"])
    assert row(rows)["state"] == "idle" and row(rows)["best"] == -1.0 and row(rows)["counts"]["COMPLETE"] == 3
    etag = answer(None)[0].headers["etag"]
    study.tell(study.ask(), 5.0)  # no better: the count, not the best, changes
    rows = changed(etag, ["s"])
    assert row(rows)["best"] == -1.0 and row(rows)["trials"] == 4
    etag = answer(None)[0].headers["etag"]
    record = written.get_study("t")
    written.set_study_user_attrs(record.study_id, {"optimizer_choice": {"optimizer": "random", "reason": "why not"}})
    rows = changed(etag, ["t"])
    assert row(rows, "t")["optimizer"] == "RandomSearch (auto: why not)"
    etag = answer(None)[0].headers["etag"]
    study.finish()
    rows = changed(etag, ["s"])
    assert row(rows)["state"] == "finished"
    etag = answer(None)[0].headers["etag"]
    mh.create_study(name="u", space=SPACE, storage=written, optimizer="random", seed=2)
    rows = changed(etag, ["u"])
    assert [r["name"] for r in rows] == ["s", "t", "u"]
    etag = answer(None)[0].headers["etag"]
    written.delete_study("t")
    rows = changed(etag, [])
    assert [r["name"] for r in rows] == ["s", "u"]


def test_a_storage_without_a_fingerprint_is_read_at_every_poll(monkeypatch):
    from metahpo.dashboard import _reader, create_app

    storage = _WithoutFingerprint()
    mh.create_study(name="s", space=SPACE, storage=storage, optimizer="random", seed=0).optimize(
        _objective, n_trials=2, show_progress=False)
    app = create_app(storage)
    reads: list[str] = []
    read_study = _reader.read_study
    monkeypatch.setattr(_reader, "read_study", lambda name, store: reads.append(name) or read_study(name, store))
    etag = _conditional(app, "/api/studies", None, "GET").headers["etag"]
    assert _conditional(app, "/api/studies", etag, "GET").status_code == 304
    assert reads == ["s", "s"]


def test_an_unchanged_study_is_answered_without_reading_its_trials(served_and_written, counting_storage):
    from metahpo.dashboard import create_app

    served, written = served_and_written
    study = mh.create_study(name="s", space=SPACE, storage=written, optimizer="random", seed=0)
    study.optimize(_objective, n_trials=2, show_progress=False)
    other = mh.create_study(name="t", space=SPACE, storage=written, optimizer="random", seed=1)
    counting = counting_storage(served)
    app = create_app(counting)

    def answer(tag: str | None, path: str = "/api/study?name=s") -> tuple[Any, int]:
        """The answer to ``path`` asked with ``tag``, and how many reads of trials it took."""
        counting.calls.clear()
        response = _conditional(app, path, tag, "GET")
        return response, counting.calls["get_trials"] + counting.calls["get_trial"]

    def unchanged(tag: str) -> None:
        for _ in range(3):
            same, reads = answer(tag)
            assert same.status_code == 304 and same.content == b"" and same.headers["etag"] == tag
            assert reads == 0

    # The study's page, as a browser opens it: the version it is drawn at is kept, and the
    # page's questions with it are answered from the study's fingerprint.
    page, reads = answer(None, "/study?name=s")
    assert page.status_code == 200 and reads == 1
    etag = '"' + re.search(r'<div id="study"[^>]*data-version="([0-9a-f]+)"', page.text).group(1) + '"'
    unchanged(etag)
    stale, reads = answer('"0123456789abcdef"')  # a page that holds another version is sent this one
    assert stale.status_code == 200 and stale.headers["etag"] == etag and reads == 1

    def changed(before: str) -> dict[str, Any]:
        """The study asked for with ``before``: read and sent under a new tag, then unread."""
        again, reads = answer(before)
        assert again.status_code == 200 and again.headers["etag"] != before and reads == 1
        unchanged(again.headers["etag"])
        return {"etag": again.headers["etag"], **again.json()}

    running = study.ask()  # a new trial
    seen = changed(etag)
    assert seen["state"] == "running" and [row[1] for row in seen["rows"]] == ["COMPLETE", "COMPLETE", "RUNNING"]
    running.report(1, 0.9)  # a new intermediate value
    seen = changed(seen["etag"])
    running.report(1, 0.7)  # the latest step again, another value: the curve is drawn again
    seen = changed(seen["etag"])
    written.set_trial_user_attrs(study.study_id, running.number, {"why": {"source": "portfolio"}})
    seen = changed(seen["etag"])
    assert seen["rows"][2][8] == "portfolio"
    # Another study's writes leave this one's answer unread.
    other.optimize(_objective, n_trials=1, show_progress=False)
    unchanged(seen["etag"])
    study.tell(running, 0.01)  # a state change, and a better value
    seen = changed(seen["etag"])
    assert seen["rows"][2][1] == "COMPLETE" and "best 0.01" in seen["facts"] and seen["state"] == "idle"
    study.finish()
    seen = changed(seen["etag"])
    assert seen["state"] == "finished"
    written.delete_study("s")
    assert answer(seen["etag"])[0].status_code == 404
    mh.create_study(name="s", space=SPACE, storage=written, optimizer="random", seed=2)
    made, reads = answer(seen["etag"])  # another study under the name: never the old one's answer
    assert made.status_code == 200 and made.json()["state"] == "empty" and reads == 1


def test_a_study_written_while_it_is_read_is_read_again_at_the_next_question(counting_storage):
    from metahpo.dashboard import create_app

    storage = InMemoryStorage()
    study = mh.create_study(name="s", space=SPACE, storage=storage, optimizer="random", seed=0)
    running = study.ask()

    class WrittenDuringTheRead(counting_storage):  # type: ignore[misc,valid-type]
        def __getattr__(self, name: str) -> Any:
            found = super().__getattr__(name)
            if name != "get_trials" or self.calls["get_trials"] > 0:
                return found

            def read_then_written(*args: Any, **kwargs: Any) -> Any:
                trials = found(*args, **kwargs)
                running.report(1, 0.5)  # by another process, just after the read
                return trials

            return read_then_written

    counting = WrittenDuringTheRead(storage)
    app = create_app(counting)
    first = _conditional(app, "/api/study?name=s", None, "GET")
    assert first.json()["rows"][0][0] == "0" and counting.calls["get_trials"] == 1
    # What was read is not the study's version now: asked with it, the study is read again.
    again = _conditional(app, "/api/study?name=s", first.headers["etag"], "GET")
    assert again.status_code == 200 and again.headers["etag"] != first.headers["etag"]
    assert counting.calls["get_trials"] == 2


def test_a_storage_without_study_fingerprints_reads_the_study_at_every_question(counting_storage):
    from metahpo.dashboard import create_app

    storage = InMemoryStorage()
    mh.create_study(name="s", space=SPACE, storage=storage, optimizer="random", seed=0).optimize(
        _objective, n_trials=2, show_progress=False)
    counting = counting_storage(storage, hidden=("study_fingerprint",))
    app = create_app(counting)
    etag = _conditional(app, "/api/study?name=s", None, "GET").headers["etag"]
    for _ in range(2):
        assert _conditional(app, "/api/study?name=s", etag, "GET").status_code == 304
    assert counting.calls["get_trials"] == 3


def test_a_storage_whose_fingerprints_are_none_is_read_at_every_question():
    from metahpo.dashboard import create_app

    storage = _FingerprintsOfNone()
    study = mh.create_study(name="s", space=SPACE, storage=storage, optimizer="random", seed=0)
    study.optimize(_objective, n_trials=2, show_progress=False)
    app = create_app(storage)
    tags = {path: _conditional(app, path, None, "GET").headers["etag"]
            for path in ("/api/study?name=s", "/api/studies")}
    study.optimize(_objective, n_trials=1, show_progress=False)
    for path, tag in tags.items():
        again = _conditional(app, path, tag, "GET")
        assert again.status_code == 200 and again.headers["etag"] != tag, path


class _FingerprintsOfNone(InMemoryStorage):
    """A storage of one's own whose fingerprints are ``None``: it has none to give."""

    def fingerprint(self) -> None:  # type: ignore[override]
        return None

    def study_fingerprint(self, study_id: int) -> None:  # type: ignore[override]
        return None


class _WithoutFingerprint(InMemoryStorage):
    """A storage of one's own written before the protocol had fingerprint() and study_fingerprint()."""

    fingerprint = None  # type: ignore[assignment]
    study_fingerprint = None  # type: ignore[assignment]


def _conditional(app: Any, path: str, tag: str | None, method: str) -> Any:
    """The app's answer to ``method path`` with ``If-None-Match: tag`` (none for ``None``)."""
    import asyncio
    import concurrent.futures

    import httpx

    async def ask() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://dashboard") as client:
            headers = {} if tag is None else {"If-None-Match": tag}
            return await client.request(method, path, headers=headers)

    # On a thread of its own: another test (the browser's) may leave this thread's loop running.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, ask()).result()


def _served_study(tmp_path: Any) -> tuple[mh.Study, str, Any]:
    """A stored study of two trials, its storage URL and the dashboard app serving it."""
    from metahpo.dashboard import create_app

    url = f"sqlite:///{tmp_path / 's.db'}"
    study = mh.create_study(name="s", space=SPACE, storage=url, optimizer="random", seed=0)
    study.optimize(_objective, n_trials=2, show_progress=False)
    return study, url, create_app(url)
