"""The knowledge base with conditional spaces: files, mapping across spaces, warm starts."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import metahpo as mh
from metahpo.knowledge import Task, map_task, read_knowledge, write_knowledge


def _space(with_dart: bool = True) -> mh.Space:
    params = {
        "booster": mh.Categorical(["gblinear", "gbtree", "dart"] if with_dart else ["gblinear", "gbtree"]),
        "alpha": mh.Float(1e-3, 10.0, log=True),
        "max_depth": mh.Int(1, 15),
    }
    conditions = {"max_depth": mh.In("booster", ["gbtree", "dart"] if with_dart else ["gbtree"])}
    if with_dart:
        params["rate_drop"] = mh.Float(0.0, 1.0)
        conditions["rate_drop"] = mh.Equals("booster", "dart")
    return mh.Space(params, conditions)


def _task(space: mh.Space, seed: int = 0) -> Task:
    configs = space.sample(seed, 30)
    losses = np.array([c["alpha"] + c.get("max_depth", 0) / 15 for c in configs])
    return Task(name=f"t{seed}", space=space, configs=configs, losses=losses)


def test_files_keep_inactive_parameters_out(tmp_path: Path) -> None:
    task = _task(_space())
    write_knowledge([task], tmp_path / "kb")
    back = read_knowledge(tmp_path / "kb").tasks[0]
    assert back.space == task.space
    assert [dict(c) for c in back.configs] == [dict(c) for c in task.configs]
    assert any("rate_drop" not in c for c in back.configs)


def test_mapping_follows_the_target_conditions() -> None:
    source = _task(_space(with_dart=True))
    target = _space(with_dart=False)
    mapped = map_task(source, target)
    assert mapped is not None
    for config in mapped.configs:
        assert target.validate(dict(config)) == dict(config)
    # dart rows are dropped (not a choice of the target); the rest keep their values.
    kept = [c for c in source.configs if c["booster"] != "dart"]
    assert [dict(c) for c in mapped.configs] == [dict(c) for c in kept]
    # Into a target where max_depth is always active, gblinear rows get its midpoint.
    plain = mh.Space({"booster": mh.Categorical(["gblinear", "gbtree"]), "max_depth": mh.Int(1, 15)})
    mapped = map_task(source, plain)
    assert mapped is not None
    assert {c["max_depth"] for c, s in zip(mapped.configs, kept, strict=True) if s["booster"] == "gblinear"} == {8}


def test_warm_start_from_conditional_studies() -> None:
    space = _space()
    storage = mh.InMemoryStorage()
    past = mh.create_study(name="past", space=space, storage=storage, optimizer="random", seed=0)
    past.optimize(lambda t: t.config["alpha"], n_trials=12, show_progress=False)
    kb = mh.KnowledgeBase.from_storage(storage)
    study = mh.create_study(name="new", space=space, storage=storage, knowledge=kb, optimizer="metabo", seed=1)
    study.optimize(lambda t: t.config["alpha"], n_trials=4, show_progress=False)
    assert all(t.state == mh.TrialState.COMPLETE for t in study.trials)
    assert all(space.contains(dict(t.config)) for t in study.trials)


def test_a_bad_cell_of_a_conditional_parameter_names_its_row_of_the_file(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq
    import pytest

    from metahpo.exceptions import InvalidParameterError

    task = _task(_space())
    write_knowledge([task], tmp_path / "kb")
    table_path = tmp_path / "kb" / "evaluations-0.parquet"
    columns = pq.read_table(table_path).to_pydict()
    # The last row where max_depth is active: not the last of the active rows' own count.
    row = max(i for i, value in enumerate(columns["max_depth"]) if value is not None)
    assert row != sum(value is not None for value in columns["max_depth"]) - 1
    columns["max_depth"][row] = 99
    pq.write_table(pa.Table.from_pydict(columns, schema=pq.read_schema(table_path)), table_path)
    with pytest.raises(InvalidParameterError, match=rf"row {row + 1}, field 'max_depth' must be an integer"):
        read_knowledge(tmp_path / "kb")
