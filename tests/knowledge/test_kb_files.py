"""Knowledge directories (manifest.json + Parquet tables): round trips, validation, transactional imports."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
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


def test_spaces_alike_but_for_defaults_or_order_each_round_trip(tmp_path: Path) -> None:
    # One fingerprint for all three (it leaves out defaults and parameter order), yet each
    # task's space comes back exactly as it was saved.
    plain = mh.Space({"x": mh.Float(0.0, 1.0), "c": mh.Categorical(["a", "b"])})
    defaults = mh.Space(
        {"x": mh.Float(0.0, 1.0, default=0.25), "c": mh.Categorical(["a", "b"], default="b")}
    )
    reordered = mh.Space({"c": mh.Categorical(["a", "b"]), "x": mh.Float(0.0, 1.0)})
    assert plain.fingerprint() == defaults.fingerprint() == reordered.fingerprint()
    kb = KnowledgeBase()
    for name, space in (("plain", plain), ("defaults", defaults), ("reordered", reordered)):
        kb.add_task(space, [{"x": 0.5, "c": "a"}, {"x": 0.1, "c": "b"}], [1.0, 2.0], name=name)
    back = KnowledgeBase.from_files(kb.save(tmp_path / "kb"))
    for task in kb:
        assert back[task.name].space.to_dict() == task.space.to_dict()
        assert back[task.name].space.names == task.space.names
        assert [list(c) for c in back[task.name].configs] == [list(c) for c in task.configs]
        assert back[task.name].configs == task.configs
    # Spaces that are equal share one table.
    kb.add_task(plain, [{"x": 0.3, "c": "b"}], [0.5], name="plain again")
    kb.save(tmp_path / "again")
    assert len(json.loads((tmp_path / "again" / "manifest.json").read_text())["spaces"]) == 3


def test_open_resolves_a_directory_spec(tmp_path: Path) -> None:
    _kb().save(tmp_path / "kb")
    assert KnowledgeBase.open(str(tmp_path / "kb")).names == ["a", "b", "c", "d"]
    assert KnowledgeBase.open(f"file:{tmp_path / 'kb'}").names == ["a", "b", "c", "d"]
    with pytest.raises(InvalidParameterError, match="knowledge spec"):
        KnowledgeBase.open(str(tmp_path / "nowhere"))


def test_a_source_named_twice_counts_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # `metahpo kb list -k kb -k ./kb` listed every task twice, the copies renamed "a (file:...)".
    _kb().save(tmp_path / "kb")
    monkeypatch.chdir(tmp_path)
    kb = KnowledgeBase.open(["kb", "./kb", f"file:{tmp_path / 'kb'}"])
    assert kb.names == ["a", "b", "c", "d"]
    assert kb.spec == str(tmp_path / "kb")


def _rewrite_table(path: Path, edit) -> None:
    """Apply ``edit`` to the table's columns as Python lists (any cell may take any type)."""
    columns = pq.read_table(path).to_pydict()
    edit(columns)
    arrays = {}
    for name, values in columns.items():
        try:
            arrays[name] = pa.array(values)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            arrays[name] = pa.array([None if v is None else str(v) for v in values])
    pq.write_table(pa.table(arrays), path)


def test_bad_value_in_row_7_is_refused_and_nothing_is_imported(tmp_path: Path) -> None:
    _kb().save(tmp_path / "kb")
    table = tmp_path / "kb" / "evaluations-0.parquet"

    def corrupt(columns: dict[str, list]) -> None:
        columns["depth"][6] = "seven"  # rows are numbered from 1: this is row 7

    _rewrite_table(table, corrupt)
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
    table = tmp_path / "kb" / "evaluations-0.parquet"
    _rewrite_table(table, lambda columns: columns.pop("loss"))
    kb = KnowledgeBase()
    with pytest.raises(InvalidParameterError, match="missing column 'loss'"):
        kb.add_files(tmp_path / "kb")
    assert len(kb) == 0


@pytest.mark.parametrize(
    ("column", "value", "match"),
    [
        ("loss", float("nan"), "row 3, field 'loss' must be a finite number"),
        ("loss", None, "row 3, field 'loss' must be a finite number"),
        ("loss", "abc", "row 3, field 'loss' must be a finite number"),
        ("lr", 5.0, "row 3, field 'lr'"),
        ("depth", 2.5, "row 3, field 'depth' must be an integer"),
        ("act", '"gelu"', "row 3, field 'act' must be one of"),
        ("act", "relu", "row 3, field 'act' must be one of"),  # not JSON text
        ("budget", -1.0, "row 3, field 'budget'"),
        ("task", "zz", "row 3, field 'task'"),
    ],
)
def test_bad_cells_name_file_row_and_field(
    tmp_path: Path, column: str, value: object, match: str
) -> None:
    _kb().save(tmp_path / "kb")

    def corrupt(columns: dict[str, list]) -> None:
        columns[column][2] = value

    _rewrite_table(tmp_path / "kb" / "evaluations-0.parquet", corrupt)
    with pytest.raises(InvalidParameterError, match=match) as info:
        KnowledgeBase.from_files(tmp_path / "kb")
    assert "evaluations-0.parquet" in str(info.value)


def test_a_task_mixing_rows_with_and_without_budget_is_refused(tmp_path: Path) -> None:
    _kb().save(tmp_path / "kb")

    def corrupt(columns: dict[str, list]) -> None:
        first_b = columns["task"].index("b")
        columns["budget"][first_b + 4] = None

    _rewrite_table(tmp_path / "kb" / "evaluations-0.parquet", corrupt)
    with pytest.raises(InvalidParameterError, match=r"row 11, field 'budget': task 'b' mixes"):
        KnowledgeBase.from_files(tmp_path / "kb")


def test_malformed_manifest_is_refused(tmp_path: Path) -> None:
    _kb().save(tmp_path / "kb")
    manifest = tmp_path / "kb" / "manifest.json"
    data = json.loads(manifest.read_text())
    data["tasks"][0]["descriptor"] = {"n_samples": "many"}
    manifest.write_text(json.dumps(data))
    with pytest.raises(InvalidParameterError, match="descriptor field 'n_samples'"):
        KnowledgeBase.from_files(tmp_path / "kb")
    data["tasks"][0]["descriptor"] = None
    data["spaces"][0]["fingerprint"] = "0" * 64
    manifest.write_text(json.dumps(data))
    with pytest.raises(InvalidParameterError, match=r"spaces\[0\]\.fingerprint"):
        KnowledgeBase.from_files(tmp_path / "kb")
    data["spaces"][0]["fingerprint"] = SPACE.fingerprint()
    data["spaces"][0]["table"] = "../elsewhere.parquet"
    manifest.write_text(json.dumps(data))
    with pytest.raises(InvalidParameterError, match=r"spaces\[0\]\.table"):
        KnowledgeBase.from_files(tmp_path / "kb")
    manifest.write_text("{not json")
    with pytest.raises(InvalidParameterError, match="not valid JSON"):
        KnowledgeBase.from_files(tmp_path / "kb")


def test_a_missing_or_unreadable_table_is_named(tmp_path: Path) -> None:
    _kb().save(tmp_path / "kb")
    table = tmp_path / "kb" / "evaluations-0.parquet"
    table.write_bytes(b"not parquet")
    with pytest.raises(InvalidParameterError, match=r"evaluations-0\.parquet: not a readable Parquet"):
        KnowledgeBase.from_files(tmp_path / "kb")
    table.unlink()
    with pytest.raises(InvalidParameterError, match=r"evaluations-0\.parquet: table named in"):
        KnowledgeBase.from_files(tmp_path / "kb")


def test_the_old_csv_format_is_refused_with_a_version_message(tmp_path: Path) -> None:
    folder = tmp_path / "old"
    folder.mkdir()
    manifest = {"format": "metahpo-knowledge", "version": 1, "spaces": [], "tasks": []}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(InvalidParameterError, match="field 'version' must be 2"):
        KnowledgeBase.from_files(folder)


def test_tables_have_typed_columns_and_provenance_round_trips(tmp_path: Path) -> None:
    _kb().save(tmp_path / "kb", provenance={"problem": "toy", "seed": 3})
    schema = pq.read_schema(tmp_path / "kb" / "evaluations-0.parquet")
    assert schema.names == ["task", "budget", "lr", "depth", "act", "loss"]
    assert [str(schema.field(n).type) for n in schema.names] == [
        "string", "double", "double", "int64", "string", "double"
    ]
    frame = pd.read_parquet(tmp_path / "kb" / "evaluations-0.parquet")
    assert frame["budget"].isna().sum() == 6  # task "a" is at full budget
    files = mh.knowledge.read_knowledge(tmp_path / "kb")
    assert files.provenance == {"problem": "toy", "seed": 3}
    assert [t.name for t in files.tasks] == ["a", "b", "c", "d"]
    # Each mistake names the function called: KnowledgeBase.save, or write_knowledge.
    with pytest.raises(InvalidParameterError, match=r"'provenance' parameter of KnowledgeBase\.save must be a JSON-able"):
        _kb().save(tmp_path / "kb2", provenance={"x": float("nan")})
    with pytest.raises(InvalidParameterError, match=r"'provenance' parameter of write_knowledge must be a JSON-able"):
        mh.knowledge.write_knowledge(list(_kb()), tmp_path / "kb2", provenance={"x": float("nan")})
    # JSON would store these keys as strings: refused at any depth, nothing written.
    for provenance, where in (({0: "a"}, "provenance"), ({"runs": [{1: "b"}]}, r"provenance\['runs'\]\[0\]")):
        for write, caller in ((_kb().save, r"KnowledgeBase\.save"),
                              (lambda path, provenance: mh.knowledge.write_knowledge(list(_kb()), path, provenance),
                               "write_knowledge")):
            with pytest.raises(InvalidParameterError, match=rf"'provenance' parameter of {caller} must be JSON whose objects have string keys.*in {where} instead"):
                write(tmp_path / "kb3", provenance=provenance)
    assert not (tmp_path / "kb2").exists() and not (tmp_path / "kb3").exists()


def test_saving_keeps_files_that_are_not_part_of_the_format(tmp_path: Path) -> None:
    folder = tmp_path / "kb"
    folder.mkdir()
    (folder / "parts").mkdir()
    (folder / "parts" / "t.csv").write_text("kept")
    (folder / "evaluations-7.parquet").write_text("stale")
    _kb().save(folder)
    assert (folder / "parts" / "t.csv").read_text() == "kept"
    assert not (folder / "evaluations-7.parquet").exists()
    assert KnowledgeBase.from_files(folder).names == ["a", "b", "c", "d"]


def test_saving_refuses_to_replace_what_is_not_knowledge(tmp_path: Path) -> None:
    # Another program's manifest.json in the folder was overwritten, and a file was deleted.
    app = tmp_path / "app"
    app.mkdir()
    (app / "manifest.json").write_text('{"name": "my-web-app"}')
    with pytest.raises(InvalidParameterError, match="is not a metahpo knowledge manifest"):
        _kb().save(app)
    assert (app / "manifest.json").read_text() == '{"name": "my-web-app"}'
    assert sorted(p.name for p in app.iterdir()) == ["manifest.json"]
    notes = tmp_path / "notes.txt"
    notes.write_text("mine")
    with pytest.raises(InvalidParameterError, match="which is a file"):
        _kb().save(notes)
    assert notes.read_text() == "mine"
    # A knowledge directory is replaced as before.
    _kb().save(tmp_path / "kb")
    _kb().save(tmp_path / "kb")
    assert KnowledgeBase.from_files(tmp_path / "kb").names == ["a", "b", "c", "d"]


@pytest.mark.parametrize("given", [".", "..", "work/.."])
def test_saving_refuses_the_working_directory_and_its_parents(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, given: str
) -> None:
    # The directory is swapped as a whole: "." had its files moved into the staging folder,
    # which was then deleted with them.
    work = tmp_path / "work"
    (work / "sub").mkdir(parents=True)
    for i in range(20):
        (work / f"file{i}.txt").write_text(str(i))
    (work / "sub" / "keep.txt").write_text("kept")
    (tmp_path / "beside.txt").write_text("beside")
    monkeypatch.chdir(work)
    before = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*"))
    with pytest.raises(InvalidParameterError, match=r"'path'.*working directory.*left unchanged"):
        _kb().save(given)
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")) == before
    assert (work / "file7.txt").read_text() == "7"


def test_a_failed_swap_puts_the_users_files_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    folder = tmp_path / "kb"
    _kb().save(folder)
    (folder / "parts").mkdir()
    (folder / "parts" / "t.csv").write_text("kept")
    real_replace = os.replace

    def failing(src, dst):  # type: ignore[no-untyped-def]
        if Path(dst) == folder and Path(src).name.startswith(".kb."):  # the new one moving in
            raise OSError("disk full")
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", failing)
    with pytest.raises(OSError, match="disk full"):
        _kb().save(folder)
    monkeypatch.setattr(os, "replace", real_replace)
    assert (folder / "parts" / "t.csv").read_text() == "kept"
    assert KnowledgeBase.from_files(folder).names == ["a", "b", "c", "d"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kb"]  # no staging or old folder left


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
    for configs in ([0.1, 0.2], np.array([[0.1], [0.2]])):  # values, not configs
        with pytest.raises(InvalidParameterError, match=r"row 0: The 'configs\[0\]' parameter must be a dict"):
            kb.add_task(OTHER, configs, [1.0, 2.0])
    with pytest.raises(InvalidParameterError, match=r"'configs' parameter of .* must be a list of dicts"):
        kb.add_task(OTHER, "xy", [1.0, 2.0])
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


# --- the bundled knowledge --------------------------------------------------------------------


def test_bundled_knowledge_reads_the_data_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import metahpo.knowledge._sources as sources

    KnowledgeBase([_kb()["a"], _kb()["c"]]).save(tmp_path / "data" / "toy-set")
    (tmp_path / "data" / "not-a-set").mkdir()
    monkeypatch.setattr(sources, "_data_root", lambda: tmp_path / "data")
    assert sources.bundled_names() == ["toy-set"]
    kb = mh.bundled_knowledge("toy-set")
    assert kb.names == ["a", "c"] and kb.spec == "bundled:toy-set"
    assert kb["a"].source == "bundled:toy-set"
    assert KnowledgeBase.open("bundled:toy-set").names == ["a", "c"]
    with pytest.raises(InvalidParameterError, match=r"must be one of \['toy-set'\]"):
        mh.bundled_knowledge("keel")


def test_bundled_keel_hgb_loads_as_a_shared_design() -> None:
    assert "keel-hgb" in mh.knowledge.bundled_names()
    kb = mh.bundled_knowledge("keel-hgb")
    assert len(kb) >= 30
    assert all(t.budget_levels() == [3.0, 9.0, 27.0, 81.0] for t in kb)
    assert kb["iris"].descriptor["n_classes"] == 3.0 and "n_samples" in kb["iris"].descriptor
    tasks = kb.tasks(next(iter(kb)).space)
    assert len(tasks) == len(kb)
    first = tasks[0].at_budget(None)
    assert all(t.at_budget(None).config_keys() == first.config_keys() for t in tasks)
    assert len(kb.portfolio(tasks[0].space, size=5)) == 5


def test_bundled_space_counts_read_from_the_manifest_match_the_tasks() -> None:
    from metahpo.knowledge import bundled_knowledge, bundled_names, bundled_space_counts

    for name in bundled_names():
        counts: dict[str, int] = {}
        for task in bundled_knowledge(name).tasks():
            if task.space is not None:
                counts[task.space.fingerprint()] = counts.get(task.space.fingerprint(), 0) + 1
        assert bundled_space_counts(name) == counts and counts
    with pytest.raises(mh.InvalidParameterError, match="bundled_space_counts"):
        bundled_space_counts("no-such-bundle")
