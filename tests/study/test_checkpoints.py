"""Promoted trials find their parent and the parent's checkpoint folder."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

import metahpo as mh
from metahpo.trial import TrialState

SPACE = mh.Space({"x": mh.Float(0.0, 1.0)})


@pytest.fixture(autouse=True)
def _home(tmp_path, monkeypatch):
    # In-memory studies keep their checkpoints under $METAHPO_HOME.
    monkeypatch.setenv("METAHPO_HOME", str(tmp_path / "home"))


def checkpointing(seen: dict[int, dict[str, Any]]) -> Callable[[mh.TrialHandle], float]:
    """An objective that writes what it trained to; a promotion reads its parent's first.

    What each trial saw is kept in ``seen`` by trial number.
    """

    def objective(trial: mh.TrialHandle) -> float:
        saw: dict[str, Any] = {"parent": trial.parent, "parent_dir": trial.parent_checkpoint_dir}
        if trial.parent_checkpoint_dir is not None:
            saw["parent_wrote"] = (trial.parent_checkpoint_dir / "state.txt").read_text()
        (trial.checkpoint_dir / "state.txt").write_text(f"{trial.number}:{trial.budget:g}")
        seen[trial.number] = saw
        return trial.config["x"] + 1.0 / trial.budget

    return objective


@pytest.mark.parametrize(
    "scheduler",
    [mh.Hyperband(min_budget=1, max_budget=9, eta=3), mh.ASHA(min_budget=1, max_budget=9, eta=3)],
    ids=["hyperband", "asha"],
)
def test_a_promotion_sees_its_parent_and_what_the_parent_wrote(scheduler):
    study = mh.create_study(space=SPACE, optimizer="random", seed=0, scheduler=scheduler)
    seen: dict[int, dict[str, Any]] = {}
    study.optimize(checkpointing(seen), n_trials=22, show_progress=False)
    trials = {t.number: t for t in study.trials}
    promoted = [t for t in trials.values() if t.parent is not None]
    assert len(promoted) >= 4
    for number, saw in seen.items():
        trial = trials[number]
        if trial.parent is None:
            assert saw["parent"] is None and saw["parent_dir"] is None
            continue
        parent = saw["parent"]
        assert parent.number == trial.parent and parent.state is TrialState.COMPLETE
        assert dict(parent.config) == dict(trial.config) and parent.budget < trial.budget
        assert saw["parent_dir"] == study.checkpoint_dir / str(parent.number)
        assert saw["parent_wrote"] == f"{parent.number}:{parent.budget:g}"
    folders = sorted(study.checkpoint_dir.iterdir(), key=lambda p: int(p.name))
    assert [p.name for p in folders] == [str(n) for n in sorted(trials)]
    assert all((p / "state.txt").read_text().startswith(f"{p.name}:") for p in folders)


def test_handles_of_new_configs_and_full_budget_studies_have_no_parent():
    study = mh.create_study(space=SPACE, optimizer="random", seed=1)
    trial = study.ask()
    assert trial.parent is None and trial.parent_budget is None
    assert trial.parent_checkpoint_dir is None
    assert not (study.checkpoint_dir / "0").exists()  # created on first use only
    assert trial.checkpoint_dir == study.checkpoint_dir / "0" and trial.checkpoint_dir.is_dir()
    assert study.checkpoint_dir.parent == Path(os.environ["METAHPO_HOME"]) / "checkpoints"


def test_folders_sit_beside_sqlite_and_survive_a_reload(tmp_path):
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    scheduler = mh.SuccessiveHalving(min_budget=1, max_budget=9, eta=3)
    study = mh.create_study(
        name="reload", space=SPACE, storage=url, optimizer="random", seed=2, scheduler=scheduler
    )
    seen: dict[int, dict[str, Any]] = {}
    study.optimize(checkpointing(seen), n_trials=9, show_progress=False)  # rung 0 only
    assert study.checkpoint_dir.parent == tmp_path / "runs-checkpoints"
    reloaded = mh.load_study("reload", url)
    assert reloaded.checkpoint_dir == study.checkpoint_dir
    # The same file named with its driver: the same folders.
    assert mh.load_study("reload", url.replace("sqlite:", "sqlite+pysqlite:")).checkpoint_dir == study.checkpoint_dir
    reloaded.optimize(checkpointing(seen), n_trials=4, show_progress=False)  # rungs 1 and 2
    promoted = [t for t in reloaded.trials if t.parent is not None]
    assert len(promoted) == 4
    for trial in promoted:
        parent = reloaded.storage.get_trial(reloaded.study_id, trial.parent)
        assert seen[trial.number]["parent_wrote"] == f"{parent.number}:{parent.budget:g}"


def test_a_sqlite_uri_url_keeps_its_folders_beside_its_file(tmp_path, monkeypatch):
    from metahpo.storage import SQLStorage
    from metahpo.study._checkpoints import checkpoint_root

    (tmp_path / "a b").mkdir()
    url = f"sqlite:///file:{tmp_path}/a%2520b/runs.db?uri=true"  # SQLite decodes %20 too.
    study = mh.create_study(name="uri", space=SPACE, storage=url, optimizer="random", seed=0)
    study.optimize(lambda trial: trial.config["x"], n_trials=1, show_progress=False)
    assert (tmp_path / "a b" / "runs.db").is_file()
    assert study.checkpoint_dir.parent == tmp_path / "a b" / "runs-checkpoints"
    assert mh.load_study("uri", url).checkpoint_dir == study.checkpoint_dir
    monkeypatch.chdir(tmp_path)
    # checkpoint_root reads only the URL: a stand-in spares opening each database.
    def root(url: str) -> Any:
        return checkpoint_root(SimpleNamespace(url=url))  # type: ignore[arg-type]

    for same in (f"sqlite:///file://localhost{tmp_path}/a%2520b/runs.db?mode=ro&uri=true",
                 "sqlite:///file:a%2520b/runs.db?uri=1"):
        assert root(same) == tmp_path / "a b" / "runs-checkpoints"
        SQLStorage(same).close()  # ... and it is the file SQLite opens.
    # In-memory databases, and a name SQLite does not read as a URI, keep theirs in $METAHPO_HOME.
    home = tmp_path / "home" / "checkpoints"
    for elsewhere in ("sqlite:///file::memory:?uri=true",
                      "sqlite:///file:shared?mode=memory&cache=shared&uri=true",
                      "sqlite:///file:plain.db", "sqlite://"):
        assert root(elsewhere) == home, elsewhere


def test_a_study_created_again_under_its_name_gets_fresh_folders(tmp_path):
    url = f"sqlite:///{tmp_path / 'again.db'}"
    first = mh.create_study(name="same", space=SPACE, storage=url, optimizer="random", seed=0)
    (first.ask().checkpoint_dir / "old.txt").write_text("stale")
    mh.delete_study("same", url)
    second = mh.create_study(name="same", space=SPACE, storage=url, optimizer="random", seed=0)
    assert second.checkpoint_dir != first.checkpoint_dir
    assert not any(second.ask().checkpoint_dir.iterdir())
    in_memory = [mh.create_study(name="fixed", space=SPACE).checkpoint_dir for _ in range(2)]
    assert in_memory[0] != in_memory[1]


def test_worker_threads_find_their_parents_folders():
    study = mh.create_study(
        space=SPACE,
        optimizer="random",
        seed=3,
        scheduler=mh.ASHA(min_budget=1, max_budget=9, eta=3),
    )
    seen: dict[int, dict[str, Any]] = {}
    study.optimize(checkpointing(seen), n_trials=30, n_jobs=3, show_progress=False)
    promoted = [t for t in study.trials if t.parent is not None]
    assert promoted and all(t.state is TrialState.COMPLETE for t in study.trials)
    for trial in promoted:
        assert seen[trial.number]["parent_wrote"].startswith(f"{trial.parent}:")


def test_a_failed_trial_leaves_its_folder_and_the_study_goes_on():
    parent_dirs: dict[int, Path | None] = {}

    def flaky(trial: mh.TrialHandle) -> float:
        parent_dirs[trial.number] = trial.parent_checkpoint_dir
        (trial.checkpoint_dir / "partial.txt").write_text("half")
        if trial.number % 4 == 1:
            raise RuntimeError("diverged")
        if trial.number % 4 == 2:  # completes but saves nothing to continue from
            (trial.checkpoint_dir / "partial.txt").unlink()
        return trial.config["x"] / trial.budget

    study = mh.create_study(
        space=SPACE,
        optimizer="random",
        seed=4,
        scheduler=mh.SuccessiveHalving(min_budget=1, max_budget=9, eta=3),
    )
    study.optimize(flaky, n_trials=13, catch=(RuntimeError,), show_progress=False)
    failed = [t.number for t in study.trials if t.state is TrialState.FAILED]
    assert failed and all((study.checkpoint_dir / str(n) / "partial.txt").exists() for n in failed)
    promoted = [t for t in study.trials if t.parent is not None]
    assert promoted and not {t.parent for t in promoted} & set(failed)
    for trial in promoted:
        saved_nothing = trial.parent % 4 == 2
        assert (parent_dirs[trial.number] is None) == saved_nothing


def test_another_process_finds_the_parents_folders(tmp_path):
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    study = mh.create_study(
        name="shared",
        space=SPACE,
        storage=url,
        optimizer="random",
        seed=5,
        scheduler=mh.SuccessiveHalving(min_budget=1, max_budget=9, eta=3),
    )
    study.optimize(checkpointing({}), n_trials=9, show_progress=False)
    code = textwrap.dedent(f"""
        import metahpo as mh

        def objective(trial):
            wrote = (trial.parent_checkpoint_dir / "state.txt").read_text()
            trial.set_user_attr("parent_wrote", wrote)
            (trial.checkpoint_dir / "state.txt").write_text(f"{{trial.number}}:{{trial.budget:g}}")
            return trial.config["x"]

        mh.load_study("shared", {url!r}).optimize(objective, n_trials=4, show_progress=False)
    """)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    promoted = [t for t in study.trials if t.parent is not None]
    assert len(promoted) == 4
    for trial in promoted:
        parent = study.storage.get_trial(study.study_id, trial.parent)
        assert trial.user_attrs["parent_wrote"] == f"{parent.number}:{parent.budget:g}"
