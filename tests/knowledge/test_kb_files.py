"""Knowledge directories and meta-dataset directories: round trips and transactional imports."""

from __future__ import annotations

import csv
import gzip
import json
from pathlib import Path

import numpy as np
import pytest

import metahpo as mh
from metahpo.exceptions import InvalidParameterError
from metahpo.knowledge import KnowledgeBase, Task

SPACE = mh.Space(
    {
        "lr": mh.Float(1e-3, 1.0, log=True),
        "depth": mh.Int(1, 8),
        "act": mh.Categorical(["relu", "tanh", None, True]),
    }
)
OTHER = mh.Space({"x": mh.Float(-1.0, 1.0)})


def _kb() -> KnowledgeBase:
    rng = np.random.default_rng(0)
    kb = KnowledgeBase()
    configs = SPACE.sample(rng, 6)
    kb.add_task(SPACE, configs, rng.random(6), name="a", descriptor={"n_samples": 100.0})
    kb.add_task(SPACE, configs + configs, rng.random(12), budgets=[1.0] * 6 + [9.0] * 6, name="b")
    kb.add_task(OTHER, [{"x": 0.5}, {"x": -0.25}], [1.0, 2.0], name="c")
    kb.add(Task("d", descriptor={"n_samples": 5.0}))
    return kb


def _same(a: KnowledgeBase, b: KnowledgeBase) -> None:
    assert a.names == b.names
    for name in a.names:
        left, right = a[name].to_dict(), b[name].to_dict()
        left.pop("source"), right.pop("source")
        assert left == right


def test_save_and_from_files_round_trip(tmp_path: Path) -> None:
    kb = _kb()
    kb.save(tmp_path / "kb")
    back = KnowledgeBase.from_files(tmp_path / "kb")
    _same(kb, back)
    assert back["a"].source == f"file:{tmp_path / 'kb'}"
    assert back.spec == str(tmp_path / "kb")
    assert back["b"].budgets.tolist() == [1.0] * 6 + [9.0] * 6
    # Saving over an existing directory replaces it.
    KnowledgeBase([kb["c"]]).save(tmp_path / "kb")
    assert KnowledgeBase.from_files(tmp_path / "kb").names == ["c"]


def test_open_resolves_a_directory_spec(tmp_path: Path) -> None:
    _kb().save(tmp_path / "kb")
    assert KnowledgeBase.open(str(tmp_path / "kb")).names == ["a", "b", "c", "d"]
    assert KnowledgeBase.open(f"file:{tmp_path / 'kb'}").names == ["a", "b", "c", "d"]
    with pytest.raises(InvalidParameterError, match="knowledge spec"):
        KnowledgeBase.open(str(tmp_path / "nowhere"))


def _rewrite_csv(path: Path, edit) -> None:
    with open(path, newline="") as handle:
        rows = list(csv.reader(handle))
    edit(rows)
    with open(path, "w", newline="") as handle:
        csv.writer(handle).writerows(rows)


def test_bad_value_in_row_7_is_refused_and_nothing_is_imported(tmp_path: Path) -> None:
    _kb().save(tmp_path / "kb")
    table = tmp_path / "kb" / "evaluations-0.csv"

    def corrupt(rows: list[list[str]]) -> None:
        column = rows[0].index("depth")
        rows[7][column] = "seven"  # rows[0] is the header: this is data row 7

    _rewrite_csv(table, corrupt)
    kb = KnowledgeBase()
    kb.add_task(OTHER, [{"x": 0.0}], [0.0], name="kept")
    before = kb.names
    with pytest.raises(InvalidParameterError) as info:
        kb.add_files(tmp_path / "kb")
    message = str(info.value)
    assert "row 7" in message and "'depth'" in message and "'seven'" in message
    assert kb.names == before and len(kb) == 1


def test_missing_column_is_refused(tmp_path: Path) -> None:
    _kb().save(tmp_path / "kb")
    table = tmp_path / "kb" / "evaluations-0.csv"

    def drop_loss(rows: list[list[str]]) -> None:
        column = rows[0].index("loss")
        for row in rows:
            del row[column]

    _rewrite_csv(table, drop_loss)
    kb = KnowledgeBase()
    with pytest.raises(InvalidParameterError, match="missing column 'loss'"):
        kb.add_files(tmp_path / "kb")
    assert len(kb) == 0


@pytest.mark.parametrize(
    ("column", "value", "match"),
    [
        ("loss", "nan", "row 3, field 'loss' must be a finite number"),
        ("lr", "5.0", "row 3, field 'lr'"),
        ("act", '"gelu"', "row 3, field 'act' must be one of"),
        ("budget", "-1", "row 3, field 'budget'"),
        ("task", "zz", "row 3, field 'task'"),
    ],
)
def test_bad_cells_name_row_and_field(tmp_path: Path, column: str, value: str, match: str) -> None:
    _kb().save(tmp_path / "kb")

    def corrupt(rows: list[list[str]]) -> None:
        rows[3][rows[0].index(column)] = value

    _rewrite_csv(tmp_path / "kb" / "evaluations-0.csv", corrupt)
    with pytest.raises(InvalidParameterError, match=match):
        KnowledgeBase.from_files(tmp_path / "kb")


def test_malformed_manifest_is_refused(tmp_path: Path) -> None:
    _kb().save(tmp_path / "kb")
    manifest = tmp_path / "kb" / "manifest.json"
    data = json.loads(manifest.read_text())
    data["tasks"][0]["descriptor"] = {"n_samples": "many"}
    manifest.write_text(json.dumps(data))
    with pytest.raises(InvalidParameterError, match="descriptor field 'n_samples'"):
        KnowledgeBase.from_files(tmp_path / "kb")
    manifest.write_text("{not json")
    with pytest.raises(InvalidParameterError, match="not valid JSON"):
        KnowledgeBase.from_files(tmp_path / "kb")


def test_duplicate_names_are_refused_as_a_whole(tmp_path: Path) -> None:
    _kb().save(tmp_path / "kb")
    kb = KnowledgeBase()
    kb.add_task(OTHER, [{"x": 0.0}], [0.0], name="c")
    with pytest.raises(InvalidParameterError, match="'c' is already"):
        kb.add_files(tmp_path / "kb")
    assert kb.names == ["c"]


def test_add_task_is_validated_and_names_row_and_field() -> None:
    kb = KnowledgeBase()
    with pytest.raises(InvalidParameterError, match=r"row 1: .*'depth'"):
        kb.add_task(
            SPACE,
            [{"lr": 0.1, "depth": 2, "act": "relu"}, {"lr": 0.1, "depth": 99, "act": "relu"}],
            [0.1, 0.2],
        )
    with pytest.raises(InvalidParameterError, match="row 0, field 'loss'"):
        kb.add_task(OTHER, [{"x": 0.0}], [float("inf")])
    assert len(kb) == 0
    kb.add_task(OTHER, [{"x": 0.0}], [1.0])
    assert kb.names == ["task-0"] and kb.spec is None


def test_merge_keeps_specs_and_refuses_clashes(tmp_path: Path) -> None:
    _kb().save(tmp_path / "kb")
    files = KnowledgeBase.from_files(tmp_path / "kb")
    storage_kb = KnowledgeBase.open("sqlite:///:memory:")
    merged = files.merge(storage_kb)
    assert merged.spec == [str(tmp_path / "kb"), "sqlite:///:memory:"]
    with pytest.raises(InvalidParameterError, match="already"):
        files.merge(files)


# --- the builder's meta-dataset format --------------------------------------------------------


def _write_metadata(
    folder: Path, n_configs: int = 8, tasks: tuple[str, ...] = ("t0", "t1")
) -> list[dict]:
    """A small meta-dataset in the layout of metahpo_bench.metadata.build_metadata."""
    space = mh.Space({"x": mh.Float(0.0, 1.0), "n": mh.Int(1, 4)})
    configs = space.sobol(n_configs, seed=0)
    folder.mkdir(parents=True)
    with open(folder / "configs.csv", "w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["config_id", *space.names])
        for i, config in enumerate(configs):
            writer.writerow([i, repr(config["x"]), config["n"]])
    lines = ["task,config_id,budget,loss"]
    for t, task in enumerate(tasks):
        for i, config in enumerate(configs):
            for budget in (1, 3):
                lines.append(f"{task},{i},{budget},{(config['x'] - 0.2 * t) ** 2 + 1.0 / budget!r}")
    (folder / "losses.csv.gz").write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    manifest = {
        "format_version": 1,
        "problem": "toy",
        "space": space.to_dict(),
        "space_fingerprint": space.fingerprint(),
        "n_configs": n_configs,
        "budgets": [1, 3],
        "tasks": list(tasks),
        "loss": "loss",
        "seed": 0,
        "metahpo_version": "0.1.0",
        "command": "",
        "files": {"configs": "configs.csv", "losses": "losses.csv.gz"},
        "descriptors": {task: {"d0": float(t)} for t, task in enumerate(tasks)},
    }
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return configs


def test_meta_dataset_gives_one_task_per_dataset_at_every_budget(tmp_path: Path) -> None:
    pytest.importorskip("metahpo_bench.metadata")
    configs = _write_metadata(tmp_path / "meta")
    kb = KnowledgeBase.from_files(tmp_path / "meta")
    assert kb.names == ["t0", "t1"]
    task = kb["t1"]
    assert task.n_evaluations == 16 and task.budget_levels() == [1.0, 3.0]
    assert task.descriptor == {"d0": 1.0}
    final = task.at_budget(None)
    assert [dict(c) for c in final.configs] == configs
    np.testing.assert_allclose(final.losses, [(c["x"] - 0.2) ** 2 + 1 / 3 for c in configs])


def test_malformed_meta_dataset_is_refused_naming_row_and_field(tmp_path: Path) -> None:
    pytest.importorskip("metahpo_bench.metadata")
    _write_metadata(tmp_path / "meta")
    path = tmp_path / "meta" / "losses.csv.gz"
    lines = gzip.decompress(path.read_bytes()).decode().splitlines()
    fields = lines[7].split(",")
    fields[3] = "oops"
    lines[7] = ",".join(fields)
    path.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    kb = KnowledgeBase()
    with pytest.raises(InvalidParameterError) as info:
        kb.add_files(tmp_path / "meta")
    assert "row 7" in str(info.value) and "'loss'" in str(info.value)
    assert len(kb) == 0


def test_bundled_knowledge_reads_the_data_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("metahpo_bench.metadata")
    import metahpo.knowledge._sources as sources

    _write_metadata(tmp_path / "data" / "toy-set")
    (tmp_path / "data" / "not-a-set").mkdir()
    monkeypatch.setattr(sources, "_data_root", lambda: tmp_path / "data")
    assert sources.bundled_names() == ["toy-set"]
    kb = mh.bundled_knowledge("toy-set")
    assert kb.names == ["t0", "t1"] and kb.spec == "bundled:toy-set"
    assert kb["t0"].source == "bundled:toy-set"
    assert KnowledgeBase.open("bundled:toy-set").names == ["t0", "t1"]
    with pytest.raises(InvalidParameterError, match=r"must be one of \['toy-set'\]"):
        mh.bundled_knowledge("keel")


@pytest.mark.skipif(
    "keel-hgb" not in __import__("metahpo.knowledge", fromlist=["bundled_names"]).bundled_names(),
    reason="the bundled keel-hgb meta-data is not installed",
)
def test_bundled_keel_hgb_loads_as_a_shared_design() -> None:
    kb = mh.bundled_knowledge("keel-hgb")
    assert len(kb) >= 30
    tasks = kb.tasks(next(iter(kb)).space)
    assert len(tasks) == len(kb)
    first = tasks[0].at_budget(None)
    assert all(t.at_budget(None).config_keys() == first.config_keys() for t in tasks)
    assert len(kb.portfolio(tasks[0].space, size=5)) == 5


def test_parquet_evaluations_are_read_too(tmp_path: Path) -> None:
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    kb = _kb()
    kb.save(tmp_path / "kb")
    manifest_path = tmp_path / "kb" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    csv_name = manifest["spaces"][0]["file"]
    frame = pd.read_csv(tmp_path / "kb" / csv_name, dtype=str, keep_default_na=False)
    frame["loss"] = frame["loss"].astype(float)
    frame["budget"] = pd.to_numeric(frame["budget"].replace("", None))
    frame["depth"] = frame["depth"].astype(int)
    frame["lr"] = frame["lr"].astype(float)
    frame.to_parquet(tmp_path / "kb" / "evaluations-0.parquet")
    (tmp_path / "kb" / csv_name).unlink()
    manifest["spaces"][0]["file"] = "evaluations-0.parquet"
    manifest_path.write_text(json.dumps(manifest))
    _same(kb, KnowledgeBase.from_files(tmp_path / "kb"))


def test_real_builder_output_is_read(tmp_path: Path) -> None:
    metadata = pytest.importorskip("metahpo_bench.metadata")
    training = pytest.importorskip("metahpo_bench.training")
    out = metadata.build_metadata(
        training.SklearnHGB(),
        tmp_path / "meta",
        n_configs=3,
        budgets=[1, 2],
        tasks=["iris"],
        jobs=1,
    )
    data = metadata.load_metadata(out)
    task = KnowledgeBase.from_files(out)["iris"]
    assert task.n_evaluations == 6 and task.budget_levels() == [1.0, 2.0]
    np.testing.assert_allclose(task.at_budget(2.0).losses, data.loss_array()[0, :, 1])
    assert task.descriptor["n_samples"] > 0 and "n_train" not in task.descriptor
