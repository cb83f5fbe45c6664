"""The meta-dataset builder resumes without duplicates and writes metahpo's knowledge format."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from metahpo.exceptions import InvalidParameterError
from metahpo.knowledge import KnowledgeBase
from metahpo_bench.cli import app
from metahpo_bench.metadata import (
    MetadataBuildError,
    MetadataFormatError,
    build_metadata,
    load_metadata,
)
from metahpo_bench.training import SklearnHGB

TASKS = ["iris", "wine"]
BUDGETS = [1, 3]
N_CONFIGS = 8
BUNDLED = (
    Path(__file__).resolve().parents[2] / "src" / "metahpo" / "knowledge" / "data" / "keel-hgb"
)


class CountingHGB(SklearnHGB):
    """SklearnHGB that counts its fits and can be told to fail on one task."""

    def __init__(self, fail_on: str | None = None) -> None:
        super().__init__()
        self.fail_on = fail_on
        self.fits: list[str] = []

    def evaluate_budgets(self, task, config, budgets):
        if task == self.fail_on:
            raise RuntimeError(f"simulated crash on {task}")
        self.fits.append(task)
        return super().evaluate_budgets(task, config, budgets)


def build(problem, out, **kwargs):
    options = {"n_configs": N_CONFIGS, "budgets": BUDGETS, "tasks": TASKS, "jobs": 1}
    options.update(kwargs)
    return build_metadata(problem, out, **options)


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    return build(SklearnHGB(), tmp_path_factory.mktemp("meta"), command="test")


def test_output_round_trips_through_the_reader(built):
    data = load_metadata(built)
    assert data.problem == "sklearn-hgb"
    assert data.tasks == tuple(TASKS)
    assert data.budgets == (1.0, 3.0)
    assert data.space == SklearnHGB().space
    assert list(data.configs) == SklearnHGB().space.sobol(N_CONFIGS, seed=0)
    assert all(
        type(c["max_leaf_nodes"]) is int and type(c["max_features"]) is float for c in data.configs
    )
    assert data.configs_unit.shape == (N_CONFIGS, 6)
    assert len(data.losses) == len(TASKS) * N_CONFIGS * len(BUDGETS)
    losses = data.loss_array()
    assert losses.shape == (2, N_CONFIGS, 2) and np.isfinite(losses).all()
    # Every stored number is the problem's own loss for that cell.
    problem = SklearnHGB()
    assert losses[1, 5, 1] == problem.evaluate("wine", data.configs[5], 3)
    provenance = data.provenance
    assert provenance["problem"] == "sklearn-hgb" and provenance["n_configs"] == N_CONFIGS
    assert provenance["loss"] == "validation_log_loss" and provenance["command"] == "test"
    assert data.descriptor("iris")["n_classes"] == 3.0
    assert "n_samples" in data.descriptor("iris") and "n_train" not in data.descriptor("iris")
    assert sorted(p.name for p in built.iterdir()) == [
        "build.json", "evaluations-0.parquet", "manifest.json", "parts"
    ]


def test_output_is_a_knowledge_directory(built):
    data = load_metadata(built)
    kb = KnowledgeBase.from_files(built)
    assert kb.names == TASKS
    task = kb["iris"]
    assert task.n_evaluations == N_CONFIGS * len(BUDGETS) and task.budget_levels() == [1.0, 3.0]
    np.testing.assert_array_equal(task.at_budget(3.0).losses, data.loss_array()[0, :, 1])
    assert [dict(c) for c in task.at_budget(3.0).configs] == list(data.configs)


def test_interrupted_build_resumes_without_duplicates(tmp_path):
    crashing = CountingHGB(fail_on="wine")
    with pytest.raises(MetadataBuildError, match="wine"):
        build(crashing, tmp_path)
    assert (tmp_path / "parts" / "iris.csv").exists()
    assert not (tmp_path / "parts" / "wine.csv").exists()
    assert not (tmp_path / "manifest.json").exists()
    assert not (tmp_path / "evaluations-0.parquet").exists()
    assert crashing.fits == ["iris"] * N_CONFIGS

    resumed = CountingHGB()
    build(resumed, tmp_path)
    assert resumed.fits == ["wine"] * N_CONFIGS  # iris was not evaluated again
    data = load_metadata(tmp_path)
    keys = data.losses[["task", "config_id", "budget"]]
    assert not keys.duplicated().any() and len(keys) == 2 * N_CONFIGS * 2

    again = CountingHGB()
    build(again, tmp_path)
    assert again.fits == []


def test_build_in_two_calls_adds_tasks(tmp_path, built):
    first = CountingHGB()
    build(first, tmp_path, tasks=["iris"])
    assert load_metadata(tmp_path).tasks == ("iris",)
    second = CountingHGB()
    build(second, tmp_path)
    assert set(second.fits) == {"wine"}
    assert load_metadata(tmp_path).losses.equals(load_metadata(built).losses)


def test_a_stray_temporary_or_corrupt_part_is_redone(tmp_path):
    build(SklearnHGB(), tmp_path, tasks=["iris"])
    (tmp_path / "parts" / ".wine.csv.1234.tmp").write_text("task,config_id\nwine,0\n")
    part = tmp_path / "parts" / "iris.csv"
    part.write_text(part.read_text().splitlines()[0] + "\n")  # header only
    counting = CountingHGB()
    build(counting, tmp_path)
    assert sorted(set(counting.fits)) == ["iris", "wine"]
    assert len(load_metadata(tmp_path).losses) == 2 * N_CONFIGS * 2


def test_other_settings_in_the_same_directory_are_refused(tmp_path):
    build(SklearnHGB(), tmp_path, tasks=["iris"])
    with pytest.raises(InvalidParameterError, match="other settings"):
        build(SklearnHGB(), tmp_path, n_configs=N_CONFIGS + 1)


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"n_configs": 0}, "'n_configs'"),
        ({"budgets": []}, "'budgets'"),
        ({"budgets": [1, 1]}, "'budgets'"),
        ({"budgets": [500]}, "'budget'"),
        ({"tasks": ["mnist"]}, "'tasks'"),
        ({"jobs": 0}, "'jobs'"),
    ],
)
def test_bad_build_arguments_are_refused(tmp_path, kwargs, fragment):
    with pytest.raises(InvalidParameterError, match=fragment):
        build(SklearnHGB(), tmp_path, **kwargs)


def test_parallel_build_equals_serial_build(tmp_path, built):
    build(SklearnHGB(), tmp_path, jobs=2)
    assert load_metadata(tmp_path).losses.equals(load_metadata(built).losses)
    table = "evaluations-0.parquet"
    assert (tmp_path / table).read_bytes() == (built / table).read_bytes()


def test_cli_builds_and_resumes(tmp_path):
    runner = CliRunner()
    args = [
        "build-metadata",
        "--problem",
        "sklearn-hgb",
        "--configs",
        "2",
        "--budgets",
        "1,2",
        "--tasks",
        "iris",
        "--jobs",
        "1",
        "--out",
        str(tmp_path),
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["provenance"]["command"].startswith("metahpo-bench")
    assert [task["name"] for task in manifest["tasks"]] == ["iris"]
    assert runner.invoke(app, args).exit_code == 0
    bad = runner.invoke(app, [*args[:-2], "--budgets", "1,x", "--out", str(tmp_path)])
    assert bad.exit_code == 1 and "--budgets" in bad.output


# --- malformed files ---------------------------------------------------------------------


def copy_of(built: Path, tmp_path: Path) -> Path:
    for name in ("manifest.json", "evaluations-0.parquet"):
        (tmp_path / name).write_bytes((built / name).read_bytes())
    return tmp_path


def edit_table(directory: Path, edit) -> None:
    path = directory / "evaluations-0.parquet"
    columns = pq.read_table(path).to_pydict()
    edit(columns)
    pq.write_table(pa.table({k: pa.array(v) for k, v in columns.items()}), path)


def test_a_malformed_value_is_refused_naming_file_row_and_field(built, tmp_path):
    directory = copy_of(built, tmp_path)
    edit_table(directory, lambda c: c["loss"].__setitem__(2, float("nan")))
    with pytest.raises(MetadataFormatError, match=r"evaluations-0\.parquet: row 3, field 'loss'"):
        load_metadata(directory)


def test_duplicated_and_missing_grid_rows_are_refused(built, tmp_path):
    directory = copy_of(built, tmp_path)
    edit_table(directory, lambda c: c["budget"].__setitem__(1, c["budget"][0]))
    with pytest.raises(MetadataFormatError, match="row 2 repeats task 'iris', config_id 0"):
        load_metadata(directory)
    directory = copy_of(built, tmp_path)
    edit_table(directory, lambda c: [column.pop() for column in c.values()])
    with pytest.raises(MetadataFormatError, match="must hold 32 rows"):
        load_metadata(directory)


def test_a_knowledge_directory_without_a_problem_is_not_a_meta_dataset(built, tmp_path):
    directory = copy_of(built, tmp_path)
    path = directory / "manifest.json"
    manifest = json.loads(path.read_text())
    del manifest["provenance"]["problem"]
    path.write_text(json.dumps(manifest))
    with pytest.raises(MetadataFormatError, match=r"manifest\.json: field 'provenance\.problem'"):
        load_metadata(directory)


def test_missing_files_are_named(built, tmp_path):
    with pytest.raises(MetadataFormatError, match=r"holding manifest\.json"):
        load_metadata(tmp_path)
    directory = copy_of(built, tmp_path)
    (directory / "evaluations-0.parquet").unlink()
    with pytest.raises(MetadataFormatError, match=r"evaluations-0\.parquet: table named in"):
        load_metadata(directory)


# --- the bundled knowledge base ----------------------------------------------------------


def test_bundled_keel_hgb_metadata_loads_and_reproduces():
    data = load_metadata(BUNDLED)
    assert data.problem == "keel-hgb"
    assert len(data.tasks) >= 40
    assert data.budgets == (3.0, 9.0, 27.0, 81.0)
    losses = data.loss_array()
    assert np.isfinite(losses).all() and (losses >= 0).all()
    from metahpo_bench.training import KeelHGB

    problem = KeelHGB()
    assert data.space == problem.space
    task = data.tasks.index("iris")
    assert losses[task, 3, 1] == pytest.approx(
        problem.evaluate("iris", data.configs[3], 9), rel=1e-12
    )
