"""``metahpo kb``: every command on a temporary SQLite storage, through typer's CliRunner."""

from __future__ import annotations

import json
import struct

import pytest
from typer.testing import CliRunner

import metahpo as mh
from metahpo.cli import app
from metahpo.knowledge import KnowledgeBase

runner = CliRunner()
SPACE = mh.Space({"x": mh.Float(0.0, 1.0), "depth": mh.Int(1, 8)})
OTHER = mh.Space({"lr": mh.Float(1e-4, 1.0, log=True)})
OPTIMA = {"low-a": 0.1, "low-b": 0.15, "low-c": 0.2, "high-a": 0.8, "high-b": 0.85, "high-c": 0.9}


def kb(*args):
    """Run ``metahpo kb ARGS`` wide enough that rich does not fold names."""
    return runner.invoke(app, ["kb", *args], env={"COLUMNS": "250"})


def make_storage(path):
    url = f"sqlite:///{path}"
    for name, optimum in OPTIMA.items():
        study = mh.create_study(name=name, space=SPACE, storage=url, optimizer="random", seed=0)
        study.optimize(
            lambda t, o=optimum: (t.config["x"] - o) ** 2 + 0.01 * t.config["depth"],
            n_trials=12,
            show_progress=False,
        )
    other = mh.create_study(
        name="other-space", space=OTHER, storage=url, optimizer="random", seed=1
    )
    other.optimize(lambda t: abs(t.config["lr"] - 0.01), n_trials=6, show_progress=False)
    short = mh.create_study(name="too-short", space=SPACE, storage=url, optimizer="random", seed=2)
    short.optimize(lambda t: t.config["x"], n_trials=3, show_progress=False)
    return url


@pytest.fixture(scope="module")
def storage_url(tmp_path_factory):
    return make_storage(tmp_path_factory.mktemp("kb") / "metahpo.db")


@pytest.fixture()
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("METAHPO_STORAGE", raising=False)
    return tmp_path


def test_list_shows_the_finished_studies_by_space_and_source(storage_url):
    result = kb("list", "--storage", storage_url)
    assert result.exit_code == 0, result.output
    out = result.output
    for name in [*OPTIMA, "other-space"]:
        assert name in out and f"study:{name}@{storage_url}" in out
    assert "too-short" not in out  # fewer than 5 COMPLETE trials
    assert SPACE.fingerprint()[:8] in out and OTHER.fingerprint()[:8] in out
    assert "7 tasks" in out and "full" in out
    rows = [line for line in out.splitlines() if "study:" in line]
    # By space, then source: the six tasks of SPACE are together.
    spaces = [SPACE.fingerprint()[:8] in row for row in rows]
    assert spaces in ([True] * 6 + [False], [False] + [True] * 6)


def test_list_names_each_tasks_kind_of_problem():
    result = kb("list", "--knowledge", "bundled:hgb-classifier", "--knowledge", "bundled:hgb-regressor")
    assert result.exit_code == 0, result.output
    rows = [line for line in result.output.splitlines() if "bundled:" in line]
    kinds = {"bundled:hgb-classifier": "classification", "bundled:hgb-regressor": "regression"}
    for source, kind in kinds.items():
        mine = [row for row in rows if source in row]
        assert mine and all(row.rstrip(" │").endswith(kind) for row in mine), source


def test_list_names_the_portfolio_rule_of_the_knowledge():
    xgboost = mh.presets.get("xgboost-classifier")
    result = kb("list", "--knowledge", f"bundled:{xgboost.knowledge_name}")
    assert result.exit_code == 0, result.output
    assert f"portfolio of space {xgboost.space.fingerprint()[:8]}: chosen on the 10 nearest tasks" in result.output
    hgb = mh.presets.get("hgb-classifier")  # the nearest task's cluster: nothing to say
    assert "portfolio of space" not in kb("list", "--knowledge", f"bundled:{hgb.knowledge_name}").output


def test_list_with_the_environment_variable_and_bundled_knowledge(storage_url, monkeypatch):
    monkeypatch.setenv("METAHPO_STORAGE", storage_url)
    names = mh.knowledge.bundled_names()
    result = kb("list", "--bundled")
    assert result.exit_code == 0, result.output
    assert "low-a" in result.output
    if names:
        assert f"bundled:{names[0]}" in result.output and "yes" in result.output


@pytest.mark.parametrize(
    "command",
    [["list"], ["show", "low-a"], ["clusters"], ["export", "out"], ["map", "--out", "map.png"]],
)
def test_read_only_commands_never_create_a_database(workdir, command):
    result = kb(*command, "--storage", "sqlite:///new.db")
    assert result.exit_code == 2
    assert (
        "no database at sqlite:///new.db" in result.output
        and "nothing was created" in result.output
    )
    assert "Traceback" not in result.output
    assert not (workdir / "new.db").exists()
    default = kb(*command)  # sqlite:///metahpo.db in the working directory
    assert default.exit_code == 2 and "metahpo.db" in default.output
    assert not (workdir / "metahpo.db").exists() and not (workdir / "out").exists()


def test_read_only_commands_leave_other_files_alone(workdir):
    import sqlite3

    with sqlite3.connect(workdir / "other.db") as db:
        db.execute("CREATE TABLE mine (a)")
    (workdir / "garbage.db").write_text("not a database")
    result = kb("list", "--storage", "sqlite:///other.db")
    assert result.exit_code == 2 and "not a metahpo database" in result.output
    with sqlite3.connect(workdir / "other.db") as db:
        assert db.execute("SELECT name FROM sqlite_master").fetchall() == [("mine",)]
    garbage = kb("clusters", "--storage", "sqlite:///garbage.db")
    assert garbage.exit_code == 2 and "not a readable SQLite database" in garbage.output


def test_an_optuna_storage_given_as_a_metahpo_one_points_to_import_optuna(workdir):
    optuna = pytest.importorskip("optuna")
    url = f"sqlite:///{workdir / 'optuna.db'}"
    optuna.create_study(study_name="s", storage=url)
    for args in (["import", url, "--storage", "sqlite:///target.db"], ["list", "--storage", url]):
        result = kb(*args)
        assert result.exit_code == 2
        assert "It is an Optuna storage: `metahpo kb import-optuna URL` imports its studies." in result.output
    assert not (workdir / "target.db").exists()


def test_show_one_task(storage_url):
    result = kb("show", "low-b", "--storage", storage_url)
    assert result.exit_code == 0, result.output
    out = result.output
    assert "low-b" in out and f"study:low-b@{storage_url}" in out
    assert "x" in out and "float" in out and "[0, 1]" in out and "int" in out and "[1, 8]" in out
    assert "descriptor: none" in out and "kind of problem: not recorded" in out and "12 evaluations" in out
    task = KnowledgeBase.from_storage(storage_url)["low-b"]
    assert json.dumps(task.best_config()) in out.replace("\n", "")
    assert f"{task.losses.min():.6g}" in out
    assert "also named" not in out

    # Two bundles both hold a dataset: the second is told apart by its source, and named.
    both = kb("show", "banana", "--knowledge", "bundled:hgb-classifier", "--knowledge", "bundled:xgboost-classifier")
    assert both.exit_code == 0, both.output
    assert "source bundled:hgb-classifier" in both.output and "kind of problem: classification" in both.output
    assert "also named 'banana' in other sources: banana (bundled:xgboost-classifier)" in both.output

    missing = kb("show", "nope", "--storage", storage_url)
    assert missing.exit_code == 2
    assert (
        "No task named 'nope'" in missing.output and len(missing.output.strip().splitlines()) == 1
    )


def test_export_then_import_into_another_storage(storage_url, workdir):
    exported = kb("export", "knowledge", "--storage", storage_url)
    assert exported.exit_code == 0, exported.output
    assert "wrote 7 tasks of 2 spaces" in exported.output
    assert (workdir / "knowledge" / "manifest.json").is_file()

    listed = kb("list", "--knowledge", "knowledge")
    assert listed.exit_code == 0, listed.output
    assert "7 tasks" in listed.output and "file:knowledge" in listed.output

    imported = kb("import", "knowledge", "--storage", "sqlite:///copy.db", "--prefix", "copy-")
    assert imported.exit_code == 0, imported.output
    assert "imported 7 tasks" in imported.output
    copy = KnowledgeBase.from_storage("sqlite:///copy.db")
    assert sorted(copy.names) == sorted(f"copy-{n}" for n in [*OPTIMA, "other-space"])
    original = KnowledgeBase.from_storage(storage_url)["high-a"]
    assert copy["copy-high-a"].losses.tolist() == original.losses.tolist()

    again = kb("import", "knowledge", "--storage", "sqlite:///copy.db", "--prefix", "copy-")
    assert again.exit_code == 2 and "studies of those names exist" in again.output
    assert len(KnowledgeBase.from_storage("sqlite:///copy.db")) == 7  # nothing half-added


def test_export_one_kind_of_problem(storage_url, workdir):
    both = ["--knowledge", "bundled:hgb-classifier", "--knowledge", "bundled:hgb-regressor"]
    classifiers = mh.bundled_knowledge("hgb-classifier").names
    regressors = mh.bundled_knowledge("hgb-regressor").names
    result = kb("export", "regression", *both, "--kind", "regression")
    assert result.exit_code == 0, result.output
    assert (f"wrote {len(regressors)} tasks of 1 spaces to regression ({len(classifiers)} tasks of another "
            "kind of problem left out, 0 that record no kind kept)") in result.output
    exported = KnowledgeBase.from_files(workdir / "regression")
    assert sorted(exported.names) == sorted(regressors)
    assert {t.task_type for t in exported} == {"regression"}
    # What a classification study learns from: the classifier's tasks and the storage's
    # studies, which record no kind (the same tasks KnowledgeBase.of_task_type keeps).
    mixed = ["--knowledge", "bundled:hgb-regressor", "--knowledge", storage_url]
    result = kb("export", "classification", *mixed, "--kind", "classification")
    assert result.exit_code == 0, result.output
    assert f"({len(regressors)} tasks of another kind of problem left out, 7 that record no kind kept)" in result.output
    expected = KnowledgeBase.open(["bundled:hgb-regressor", storage_url]).of_task_type("classification")
    assert sorted(KnowledgeBase.from_files(workdir / "classification").names) == sorted(expected.names)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--kind", "regresion"], "--kind must be 'classification' or 'regression', the kinds of problem "
                                  "`metahpo kb list` shows. Got 'regresion' instead."),
        (["--kind", "regression"], "All 44 tasks in bundled:hgb-classifier are of another kind of problem than "
                                   "'regression'. Nothing was written."),
    ],
)
def test_export_refuses_a_bad_kind_and_writes_nothing(workdir, args, message):
    assert len(mh.bundled_knowledge("hgb-classifier")) == 44
    result = kb("export", "out", "--knowledge", "bundled:hgb-classifier", *args)
    assert result.exit_code == 2
    assert message in result.output and len(result.output.strip().splitlines()) == 1
    assert not (workdir / "out").exists()


def test_imported_studies_name_their_source_not_an_optimizer(storage_url, workdir):
    assert kb("export", "knowledge", "--storage", storage_url).exit_code == 0
    assert kb("import", "knowledge", "--storage", "sqlite:///copy.db").exit_code == 0
    # They were listed as run by RandomSearch, the optimizer stored so they can be reopened.
    listed = runner.invoke(app, ["studies", "--storage", "sqlite:///copy.db"], env={"COLUMNS": "200"})
    assert listed.exit_code == 0 and "none (imported)" in listed.output
    assert "RandomSearch" not in listed.output
    shown = runner.invoke(app, ["show", "high-a", "--storage", "sqlite:///copy.db"], env={"COLUMNS": "200"})
    assert "optimizer: none (imported from file:knowledge)" in shown.output


def test_a_metahpo_storage_given_as_an_optuna_one_points_to_kb_import(workdir, storage_url):
    pytest.importorskip("optuna")
    result = kb("import-optuna", storage_url, "--storage", "sqlite:///target.db")
    assert result.exit_code == 2
    assert "is not an Optuna storage. It is a metahpo storage" in result.output
    assert "`metahpo kb import URL` imports them" in result.output
    assert "version_info" not in result.output
    assert not (workdir / "target.db").exists()


def test_import_refuses_bad_sources(workdir):
    for args in (
        ["import", "no-such-dir"],
        ["import"],
        ["import", "dir", "--optuna", "sqlite:///o.db"],
        # --study and --min-trials choose Optuna studies; without --optuna every task was written.
        ["import", "bundled:keel-hgb", "--study", "banana"],
        ["import", "bundled:keel-hgb", "--min-trials", "3"],
        ["import-optuna", "sqlite:///absent.db"],
    ):
        result = kb(*args, "--storage", "sqlite:///target.db")
        assert result.exit_code == 2, (args, result.output)
        assert "Traceback" not in result.output
    assert not (workdir / "absent.db").exists()
    assert not (workdir / "target.db").exists()
    leaked = kb("import-optuna", "postgresql+psycopg://user:s3cret@127.0.0.1:1/optuna")
    assert leaked.exit_code == 2 and "s3cret" not in leaked.output and "***" in leaked.output


def test_import_optuna_studies(workdir):
    optuna = pytest.importorskip("optuna")
    url = f"sqlite:///{workdir / 'optuna.db'}"
    study = optuna.create_study(
        study_name="curves",
        storage=url,
        direction="maximize",
        sampler=optuna.samplers.RandomSampler(seed=0),
    )

    def objective(trial):
        x = trial.suggest_float("x", 0.0, 1.0)
        for step in range(3):
            trial.report(x + step, step)
            if x < 0.3 and step == 1:
                raise optuna.TrialPruned()
        return x + 3

    study.optimize(objective, n_trials=8)
    optuna.create_study(study_name="empty", storage=url)

    result = kb("import-optuna", url, "--storage", "sqlite:///metahpo.db")
    assert result.exit_code == 0, result.output
    assert "imported 1 tasks" in result.output and "curves" in result.output
    shown = kb("show", "curves")
    assert shown.exit_code == 0, shown.output
    assert f"study:curves@sqlite:///metahpo.db (from optuna:{url}:curves)" in shown.output
    listed = kb("list")
    assert f"(from optuna:{url}:curves)" in listed.output
    task = KnowledgeBase.from_storage("sqlite:///metahpo.db")["curves"]
    assert task.budget_levels() == [1.0, 2.0, 3.0]
    assert task.losses.max() < 0  # maximised: negated

    alias = kb("import", "--optuna", url, "--study", "curves", "--prefix", "o-")
    assert alias.exit_code == 0, alias.output
    named = kb("import", "--optuna", url, "--study", "empty")
    assert named.exit_code == 2 and "'empty'" in named.output


def test_import_warns_of_studies_too_short_to_be_tasks(workdir):
    optuna = pytest.importorskip("optuna")
    url = f"sqlite:///{workdir / 'optuna.db'}"
    study = optuna.create_study(study_name="three", storage=url)
    study.optimize(lambda trial: trial.suggest_float("x", 0.0, 1.0), n_trials=3)
    # Written, but no study would learn from it: "imported 1 tasks" alone said otherwise.
    result = kb("import-optuna", url, "--min-trials", "2", "--storage", "sqlite:///metahpo.db")
    assert result.exit_code == 0, result.output
    assert "imported 1 tasks" in result.output
    assert "warning: 1 of them have fewer than 5 evaluations" in result.output
    assert "studies learn nothing from three." in result.output
    assert "three" not in KnowledgeBase.from_storage("sqlite:///metahpo.db")


def test_clusters_one_table_per_space(storage_url):
    result = kb("clusters", "--storage", storage_url)
    assert result.exit_code == 0, result.output
    out = result.output
    assert f"space {SPACE.fingerprint()[:8]}" in out and f"space {OTHER.fingerprint()[:8]}" in out
    assert "6 tasks, 2 clusters" in out
    assert "low-a, low-b, low-c" in out and "high-a, high-b, high-c" in out
    only = kb("clusters", "--storage", storage_url, "--space-of", "other-space")
    assert only.exit_code == 0 and SPACE.fingerprint()[:8] not in only.output
    unknown = kb("clusters", "--storage", storage_url, "--space-of", "nope")
    assert unknown.exit_code == 2 and "No task named 'nope'" in unknown.output


def test_clusters_by_meta_clustering_or_one_clustering(storage_url):
    meta = kb("clusters", "--storage", storage_url, "--space-of", "low-a")
    assert meta.exit_code == 0, meta.output
    # No descriptors: one weighting, on all and two random halves of the configs, four algorithms.
    assert (
        "6 tasks, 2 clusters" in meta.output
        and "chosen by 100% of 12 clusterings (agreement 1.00)" in meta.output
    )
    single = kb(
        "clusters", "--storage", storage_url, "--space-of", "low-a", "--method", "average-linkage"
    )
    assert single.exit_code == 0, single.output
    assert "low-a, low-b, low-c" in single.output and "clusterings" not in single.output
    bad = kb("clusters", "--storage", storage_url, "--method", "kmeans")
    assert (
        bad.exit_code == 2
        and "--method must be 'meta' or 'average-linkage'. Got 'kmeans'" in bad.output
    )


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_map_writes_a_png_and_a_self_contained_html_page(storage_url, workdir):
    result = kb("map", "--out", "map.png", "--storage", storage_url)
    assert result.exit_code == 0, result.output
    assert "6 tasks related to the space, 6 of exactly it; 2 clusters" in result.output  # the largest space
    data = (workdir / "map.png").read_bytes()
    assert png_size(data) == (990, 770) and len(data) > 10_000

    page = kb("map", "--out", "map.html", "--storage", storage_url)
    assert page.exit_code == 0, page.output
    text = (workdir / "map.html").read_text()
    assert text.startswith("<!DOCTYPE html>") and "<svg" in text and text.count("<circle") == 6
    for name in OPTIMA:
        assert f">{name}</text>" in text
    assert "<script" not in text and "href=" not in text and "src=" not in text
    assert "cdn" not in text.lower()

    other = kb("map", "--out", "other.html", "--storage", storage_url, "--space-of", "other-space")
    assert other.exit_code == 0 and (workdir / "other.html").read_text().count("<circle") == 1


@pytest.mark.parametrize(
    ("out", "message"),
    [("map.svg", "must end in .png or .html"), ("no/such/folder/map.png", "does not exist")],
)
def test_map_refuses_a_bad_output(storage_url, workdir, out, message):
    result = kb("map", "--out", out, "--storage", storage_url)
    assert result.exit_code == 2 and message in result.output
    assert "Traceback" not in result.output


def test_map_draws_dollar_signs_in_names_as_text(workdir):
    # matplotlib reads "$...$" as math: "a$^$b" failed to parse, and a parsed one was drawn as math.
    space = mh.Space({"cost $": mh.Float(0, 1)})
    design = space.sobol(8, seed=0)
    knowledge = mh.KnowledgeBase()
    for i, name in enumerate(["a$^$b", "price $x_1$", "plain"]):
        knowledge.add_task(space, design, [(c["cost $"] - 0.3 * i) ** 2 for c in design], name=name)
    knowledge.save(workdir / "kb")
    result = kb("map", "--out", "map.png", "--knowledge", str(workdir / "kb"))
    assert result.exit_code == 0, result.output
    assert png_size((workdir / "map.png").read_bytes()) == (990, 770)


def test_map_counts_the_tasks_of_exactly_the_space_among_the_related(workdir):
    # Three tasks of a space with one parameter more: related (most parameters shared), not exact.
    wider = mh.Space({**dict(SPACE.items()), "extra": mh.Categorical(["a", "b"])})
    url = make_storage(workdir / "mixed.db")
    for i in range(3):
        study = mh.create_study(name=f"wider-{i}", space=wider, storage=url, optimizer="random", seed=i)
        study.optimize(lambda t, i=i: (t.config["x"] - 0.3 * i) ** 2, n_trials=8, show_progress=False)
    result = kb("map", "--out", "map.html", "--storage", url, "--space-of", "low-a")
    assert result.exit_code == 0, result.output
    assert "9 tasks related to the space, 6 of exactly it" in result.output
    assert "6 of exactly this space" in (workdir / "map.html").read_text()


def test_task_names_with_brackets_are_shown_whole(workdir):
    # rich read "[final]" as markup: `kb list` listed "run", which `kb show` then did not find.
    url = "sqlite:///metahpo.db"
    study = mh.create_study(name="run[final]", space=SPACE, storage=url, optimizer="random", seed=0)
    study.optimize(lambda t: t.config["x"], n_trials=5, show_progress=False)
    assert "run[final]" in kb("list").output
    shown = kb("show", "run[final]")
    assert shown.exit_code == 0 and "task run[final]" in shown.output
    assert "run[final]" in kb("clusters").output
    assert kb("export", "kb").exit_code == 0
    imported = kb("import", "kb", "--prefix", "x[y]-", "--storage", "sqlite:///copy.db")
    assert "imported 1 tasks from kb into sqlite:///copy.db: x[y]-run[final]" in imported.output
