"""The meta-dataset builder resumes without duplicates; the reader refuses malformed files."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from metahpo_bench.metadata import (
    MetadataBuildError,
    MetadataFormatError,
    build_metadata,
    load_metadata,
)
from metahpo_bench.training import SklearnHGB
from metahpo.cli import app
from metahpo.exceptions import InvalidParameterError

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
    manifest = data.manifest
    assert manifest["space_fingerprint"] == problem.space.fingerprint()
    assert manifest["loss"] == "validation_log_loss" and manifest["command"] == "test"
    assert data.descriptor("iris")["n_classes"] == 3.0


def test_interrupted_build_resumes_without_duplicates(tmp_path):
    crashing = CountingHGB(fail_on="wine")
    with pytest.raises(MetadataBuildError, match="wine"):
        build(crashing, tmp_path)
    assert (tmp_path / "parts" / "iris.csv").exists()
    assert not (tmp_path / "parts" / "wine.csv").exists()
    assert not (tmp_path / "manifest.json").exists()
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
    assert (tmp_path / "losses.csv.gz").read_bytes() == (built / "losses.csv.gz").read_bytes()


def test_cli_builds_and_resumes(tmp_path):
    runner = CliRunner()
    args = [
        "bench",
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
    assert manifest["command"].startswith("metahpo") and manifest["tasks"] == ["iris"]
    assert runner.invoke(app, args).exit_code == 0
    bad = runner.invoke(app, [*args[:-2], "--budgets", "1,x", "--out", str(tmp_path)])
    assert bad.exit_code == 1 and "--budgets" in bad.output


# --- malformed files ---------------------------------------------------------------------


def copy_of(built: Path, tmp_path: Path) -> Path:
    for name in ("manifest.json", "configs.csv", "losses.csv.gz"):
        (tmp_path / name).write_bytes((built / name).read_bytes())
    return tmp_path


def edit_losses(directory: Path, row: int, column: int, value: str) -> None:
    path = directory / "losses.csv.gz"
    lines = gzip.decompress(path.read_bytes()).decode().splitlines()
    fields = lines[row].split(",")
    fields[column] = value
    lines[row] = ",".join(fields)
    path.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))


@pytest.mark.parametrize(
    ("row", "column", "value", "fragment"),
    [
        (3, 3, "abc", "row 3, field 'loss'"),
        (5, 3, "nan", "row 5, field 'loss'"),
        (2, 1, "-1", "row 2, field 'config_id'"),
        (4, 1, "99", "row 4, field 'config_id'"),
        (6, 2, "7", "row 6, field 'budget'"),
        (7, 0, "digits", "row 7, field 'task'"),
    ],
)
def test_malformed_loss_values_are_refused_naming_file_row_and_field(
    built, tmp_path, row, column, value, fragment
):
    directory = copy_of(built, tmp_path)
    edit_losses(directory, row, column, value)
    with pytest.raises(MetadataFormatError, match=r"losses\.csv\.gz") as info:
        load_metadata(directory)
    assert fragment in str(info.value)


def test_duplicated_and_missing_loss_rows_are_refused(built, tmp_path):
    directory = copy_of(built, tmp_path)
    edit_losses(directory, 2, 1, "0")  # row 2 now repeats row 1 (config 0, budget 3)
    edit_losses(directory, 2, 2, "1")
    with pytest.raises(MetadataFormatError, match="row 2 repeats task 'iris', config_id 0"):
        load_metadata(directory)
    path = directory / "losses.csv.gz"
    lines = gzip.decompress((built / "losses.csv.gz").read_bytes()).decode().splitlines()
    path.write_bytes(gzip.compress(("\n".join(lines[:-1]) + "\n").encode()))
    with pytest.raises(MetadataFormatError, match="must hold 32 rows"):
        load_metadata(directory)


def test_malformed_config_value_is_refused_naming_row_and_field(built, tmp_path):
    directory = copy_of(built, tmp_path)
    path = directory / "configs.csv"
    lines = path.read_text().splitlines()
    fields = lines[4].split(",")
    fields[2] = "1000"  # max_leaf_nodes out of range
    lines[4] = ",".join(fields)
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(MetadataFormatError, match=r"configs.csv: row 4, field 'max_leaf_nodes'"):
        load_metadata(directory)


@pytest.mark.parametrize(
    ("edit", "fragment"),
    [
        (lambda m: m.pop("budgets"), "field 'budgets' is missing"),
        (lambda m: m.update(n_configs="8"), "field 'n_configs' must be a int"),
        (lambda m: m.update(space_fingerprint="0" * 64), "'space_fingerprint' does not match"),
        (lambda m: m.update(budgets=[3, 1]), "field 'budgets' must be a non-empty ascending"),
        (lambda m: m["files"].update(losses="../x.csv"), "field 'files.losses'"),
        (lambda m: m.update(format_version=2), "field 'format_version' must be 1"),
    ],
)
def test_malformed_manifest_is_refused_naming_the_field(built, tmp_path, edit, fragment):
    directory = copy_of(built, tmp_path)
    path = directory / "manifest.json"
    manifest = json.loads(path.read_text())
    edit(manifest)
    path.write_text(json.dumps(manifest))
    with pytest.raises(MetadataFormatError, match=r"manifest\.json") as info:
        load_metadata(directory)
    assert fragment in str(info.value)


def test_missing_files_are_named(built, tmp_path):
    with pytest.raises(MetadataFormatError, match=r"manifest\.json: the manifest is missing"):
        load_metadata(tmp_path)
    directory = copy_of(built, tmp_path)
    (directory / "configs.csv").unlink()
    with pytest.raises(MetadataFormatError, match=r"configs\.csv: the configs file is missing"):
        load_metadata(directory)


# --- the bundled knowledge base ----------------------------------------------------------


@pytest.mark.skipif(not (BUNDLED / "manifest.json").exists(), reason="bundled meta-data not built")
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
