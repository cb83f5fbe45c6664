"""Generated bad input: at least 10,000 cases across spaces, configs, values, storage URLs,
knowledge files and ``metahpo tune``'s ``space.yaml``.

Each case must raise :class:`InvalidParameterError` (or :class:`StorageError`) whose message
names what was wrong, and leave the storage exactly as it was: a dump of it (every study
and trial record) is compared before and after. The example counts (``N_*``) add up to
:data:`TOTAL_EXAMPLES`; each test is cheap, so the whole file runs in about a minute.
"""

from __future__ import annotations

import copy
import json
import math
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import metahpo as mh
from metahpo.cli._command import check_placeholders, load_space_file
from metahpo.exceptions import InvalidParameterError, MetahpoError, StorageError
from metahpo.knowledge import Task, write_knowledge
from metahpo.storage import SQLStorage, get_storage
from metahpo.testing.storage import snapshot

N_PARAMS, N_SPACE_DICTS, N_CONFIGS, N_VALUES, N_URLS = 1500, 1500, 1200, 1500, 1000
N_KNOWLEDGE, N_YAML, N_STUDY_ARGS, N_OPTIMIZE_ARGS = 1000, 1500, 1000, 500
TOTAL_EXAMPLES = (N_PARAMS + N_SPACE_DICTS + N_CONFIGS + N_VALUES + N_URLS + N_KNOWLEDGE + N_YAML
                  + N_STUDY_ARGS + N_OPTIMIZE_ARGS)
assert TOTAL_EXAMPLES >= 10_000


def _settings(n: int) -> Any:
    return settings(max_examples=n, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


SPACE = mh.Space({"x": mh.Float(-5.0, 5.0), "n": mh.Int(1, 8), "c": mh.Categorical(["a", "b"])})


@pytest.fixture(scope="module")
def store() -> Iterator[Any]:
    folder = tempfile.mkdtemp()
    storage = SQLStorage(f"sqlite:///{folder}/bad-input.db", heartbeat_interval=None)
    study = mh.create_study(name="kept", space=SPACE, storage=storage, optimizer="random", seed=0)
    study.tell(study.ask(), 1.0)
    study.ask()  # One RUNNING trial stays.
    yield storage, study
    storage.close()
    shutil.rmtree(folder, ignore_errors=True)


def _refused(store: Any, action: Any, *names: str) -> None:
    storage, _ = store
    before = snapshot(storage)
    with pytest.raises((InvalidParameterError, StorageError)) as info:
        action()
    message = str(info.value)
    assert any(name in message for name in names), message
    assert snapshot(storage) == before


_NUMBERS = st.one_of(st.integers(), st.floats(allow_nan=True, allow_infinity=True))
_NON_NUMBERS = st.one_of(st.none(), st.text(max_size=5), st.booleans(), st.lists(st.integers(), max_size=2))


# Spaces -----------------------------------------------------------------------------------
@st.composite
def _bad_param(draw: Any) -> Any:
    kind = draw(st.sampled_from(["float", "int", "categorical"]))
    if kind == "categorical":
        choices = draw(st.one_of(st.just([]), _NON_NUMBERS.filter(lambda v: not isinstance(v, list)),
                                 st.lists(st.sampled_from(["a", "a"]), min_size=2, max_size=3),
                                 st.lists(st.just([1]), min_size=1, max_size=2)))
        return lambda: mh.Categorical(choices)
    low = draw(st.one_of(_NUMBERS, _NON_NUMBERS))
    high = draw(st.one_of(_NUMBERS, _NON_NUMBERS))
    log = draw(st.one_of(st.booleans(), _NON_NUMBERS))
    cls = mh.Float if kind == "float" else mh.Int
    assume(not _valid_bounds(kind, low, high, log))
    return lambda: cls(low, high, log=log)


def _valid_bounds(kind: str, low: Any, high: Any, log: Any) -> bool:
    try:
        (mh.Float if kind == "float" else mh.Int)(low, high, log=log)
    except InvalidParameterError:
        return False
    return True


@given(param=_bad_param())
@_settings(N_PARAMS)
def test_bad_parameters_are_refused(store, param):
    _refused(store, lambda: mh.create_study(name="new", space=mh.Space({"p": param()}),
                                            storage=store[0]), "'low'", "'high'", "'log'", "'choices'",
             "range of Float", "Categorical")


_PARAM_DICT = st.fixed_dictionaries(
    {"type": st.one_of(st.sampled_from(["float", "int", "categorical", "uniform", ""]), _NON_NUMBERS)},
    optional={"low": st.one_of(_NUMBERS, _NON_NUMBERS), "high": st.one_of(_NUMBERS, _NON_NUMBERS),
              "log": st.one_of(st.booleans(), _NON_NUMBERS), "choices": st.one_of(_NON_NUMBERS, st.just([])),
              "extra": st.integers()},
)


def _space_or_none(data: Any) -> Any:
    try:
        return mh.Space.from_dict(data)
    except InvalidParameterError:
        return None


@given(data=st.one_of(st.dictionaries(st.text(max_size=4), _PARAM_DICT, min_size=1, max_size=3),
                      _NON_NUMBERS, st.dictionaries(st.text(max_size=3), _NON_NUMBERS, min_size=1, max_size=2)))
@_settings(N_SPACE_DICTS)
def test_bad_space_descriptions_are_refused(store, data):
    assume(_space_or_none(data) is None)
    _refused(store, lambda: mh.create_study(name="new", space=mh.Space.from_dict(data), storage=store[0]),
             "parameter", "space", "Space")


# Configs and values ----------------------------------------------------------------------------
_BAD_CONFIG = st.one_of(
    st.fixed_dictionaries({"x": st.one_of(st.floats().filter(lambda v: not -5 <= v <= 5), _NON_NUMBERS),
                           "n": st.integers(1, 8), "c": st.just("a")}),
    st.fixed_dictionaries({"x": st.just(0.0), "n": st.one_of(st.integers().filter(lambda v: not 1 <= v <= 8),
                                                             st.floats(), _NON_NUMBERS), "c": st.just("a")}),
    st.fixed_dictionaries({"x": st.just(0.0), "n": st.just(1), "c": st.one_of(st.text(max_size=3), st.integers())
                           .filter(lambda v: v not in ("a", "b"))}),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=3),
    _NON_NUMBERS,
)


@given(config=_BAD_CONFIG)
@_settings(N_CONFIGS)
def test_bad_configs_are_refused(store, config):
    _refused(store, lambda: SPACE.validate(config, "config"), "config")


@given(value=st.one_of(st.floats().filter(lambda v: not math.isfinite(v)),
                       st.integers().map(lambda v: v + 2**1100 if v >= 0 else v - 2**1100),
                       _NON_NUMBERS.filter(lambda v: v is not None), st.complex_numbers(),
                       st.binary(max_size=4), st.dictionaries(st.text(max_size=2), st.floats(), max_size=2)))
@_settings(N_VALUES)
def test_bad_objective_values_are_refused(store, value):
    _, study = store
    running = study.get_trials([mh.TrialState.RUNNING])[0]
    _refused(store, lambda: study.tell(running.number, value), "'value'")


# Storage URLs -------------------------------------------------------------------------------------
_SAFE = st.text(st.characters(min_codepoint=33, max_codepoint=126, exclude_characters="/@:?#[]%"),
                min_size=1, max_size=10)


@given(url=st.one_of(
    st.text(max_size=30).filter(lambda t: not t.startswith(("sqlite", "postgresql"))),
    _SAFE.filter(lambda p: not p.isdigit()).map(lambda p: f"postgresql+psycopg://u:SECRETPW@localhost:{p}/db"),
    st.integers(min_value=65536, max_value=10**9).map(lambda p: f"postgresql://u:SECRETPW@localhost:{p}/db"),
    _SAFE.filter(lambda d: d not in ("psycopg", "psycopg2")).map(lambda d: f"postgresql+{d}://u:SECRETPW@h/db"),
    st.tuples(_SAFE, _SAFE).map(lambda parts: f"sqlite://{parts[0]}/{parts[1]}.db"),
    _SAFE.filter(lambda d: d != "pysqlite").map(lambda d: f"sqlite+{d}:///never-created.db"),
))
@_settings(N_URLS)
def test_bad_storage_urls_are_refused_without_showing_a_password(store, url):
    with pytest.raises(InvalidParameterError) as info:
        get_storage(url)
    assert "'storage' parameter" in str(info.value) or "'url' parameter" in str(info.value)
    assert "SECRETPW" not in str(info.value)
    _refused(store, lambda: mh.create_study(name="new", space=SPACE, storage=store[0], knowledge=url,
                                            optimizer="portfolio"), "knowledge", "url", "storage", "spec")


# Knowledge files ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def knowledge_dir() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp())
    tasks = [Task(f"t{i}", SPACE, [{"x": 0.5 * j, "n": j + 1, "c": "a"} for j in range(4)], [1.0, 2.0, 3.0, 0.5])
             for i in range(3)]
    path = write_knowledge(tasks, folder / "kb")
    yield path
    shutil.rmtree(folder, ignore_errors=True)


_MANIFEST_PATHS = [("format",), ("version",), ("spaces",), ("tasks",), ("spaces", 0, "fingerprint"),
                   ("spaces", 0, "table"), ("spaces", 0, "space"), ("tasks", 0, "space"), ("tasks", 1, "name"),
                   ("spaces", 0), ("tasks", 0)]
_JSON = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
                               st.text(max_size=6)),
                     lambda inner: st.one_of(st.lists(inner, max_size=2),
                                             st.dictionaries(st.text(max_size=4), inner, max_size=2)),
                     max_leaves=4)


@given(where=st.sampled_from(_MANIFEST_PATHS), value=_JSON, table=st.one_of(st.none(), st.binary(max_size=64)),
       drop=st.booleans())
@_settings(N_KNOWLEDGE)
def test_bad_knowledge_files_are_refused(store, knowledge_dir, tmp_path_factory, where, value, table, drop):
    folder = tmp_path_factory.mktemp("kb", numbered=True)
    shutil.copytree(knowledge_dir, folder, dirs_exist_ok=True)
    manifest = json.loads((folder / "manifest.json").read_text())
    changed = copy.deepcopy(manifest)
    if table is None:
        target = changed
        for key in where[:-1]:
            target = target[key]
        if drop and isinstance(target, dict):
            del target[where[-1]]
        else:
            assume(target[where[-1]] != value)
            target[where[-1]] = value
        (folder / "manifest.json").write_text(json.dumps(changed))
    else:
        (folder / manifest["spaces"][0]["table"]).write_bytes(table)
    _refused(store, lambda: mh.create_study(name="new", space=SPACE, storage=store[0], knowledge=str(folder),
                                            optimizer="portfolio"), str(folder), "knowledge")
    shutil.rmtree(folder, ignore_errors=True)


# metahpo tune's space.yaml -------------------------------------------------------------------------------
def _yaml_scalar(value: Any) -> str:
    return json.dumps(value) if not isinstance(value, float) or math.isfinite(value) else str(value)


@st.composite
def _bad_yaml(draw: Any) -> str:
    choice = draw(st.integers(0, 4))
    if choice == 0:  # A parameter named like a placeholder.
        name = draw(st.sampled_from(["trial", "budget"]))
        return f"{name}: {{type: int, low: 1, high: 3}}\n"
    if choice == 1:  # The same parameter twice.
        name = draw(st.from_regex(r"[a-z]{1,6}", fullmatch=True))
        return f"{name}: {{type: float, low: 0, high: 1}}\n{name}: {{type: int, low: 1, high: 2}}\n"
    if choice == 2:  # Not a mapping of parameters.
        return draw(st.sampled_from(["- 1\n- 2\n", "just text\n", "42\n", "x: [1, 2\n", "x: {type: float\n",
                                     "x: 3\n", "x: null\n", "'\\x00': {}\n", "{}\n"]))
    param = draw(_PARAM_DICT)
    text = "{" + ", ".join(f"{k}: {_yaml_scalar(v)}" for k, v in param.items()) + "}"
    candidate = f"p: {text}\n"
    return candidate


@given(text=_bad_yaml())
@_settings(N_YAML)
def test_bad_space_files_are_refused(store, tmp_path_factory, text):
    path = tmp_path_factory.getbasetemp() / "space.yaml"
    path.write_text(text)
    try:
        load_space_file(path)
    except InvalidParameterError:
        pass
    else:
        assume(False)  # A generated description that happens to be valid.
    _refused(store, lambda: check_placeholders(["echo", "{p}"], load_space_file(path)), "'--space' file",
             "parameter", "Float", "Int", "Categorical", "space")


# Study and optimize arguments -------------------------------------------------------------------------------
@given(args=st.one_of(
    st.fixed_dictionaries({"direction": st.one_of(st.text(max_size=8), _NON_NUMBERS)
                           .filter(lambda d: d not in ("minimize", "maximize"))}),
    st.fixed_dictionaries({"seed": st.one_of(st.integers(max_value=-1), st.integers(min_value=2**63),
                                             st.floats().filter(lambda v: not float(v).is_integer()),
                                             st.text(max_size=3))}),
    st.fixed_dictionaries({"load_if_exists": st.one_of(st.integers(), st.text(max_size=3), st.none())}),
    st.fixed_dictionaries({"name": st.just("kept"), "load_if_exists": st.just(True),
                           "direction": st.just("maximize")}),
    st.fixed_dictionaries({"name": st.just("kept"), "load_if_exists": st.just(True),
                           "seed": st.integers(1, 2**63 - 1)}),
    st.fixed_dictionaries({"optimizer": st.text(max_size=8).filter(
        lambda o: o not in ("auto", "random", "sobol", "gpbo", "metabo", "portfolio"))}),
))
@_settings(N_STUDY_ARGS)
def test_bad_create_study_arguments_are_refused(store, args):
    kwargs = {"name": "new", "space": SPACE, "storage": store[0], "seed": 0, "optimizer": "random", **args}
    names = [f"'{key}'" for key in args if key != "name"] + ["direction", "seed", "optimizer"]
    _refused(store, lambda: mh.create_study(**kwargs), *names)


@given(args=st.one_of(
    st.fixed_dictionaries({"n_trials": st.one_of(st.integers(max_value=-1), st.text(max_size=3),
                                                  st.floats().filter(lambda v: not float(v).is_integer()))}),
    st.fixed_dictionaries({"n_trials": st.just(1), "timeout": st.one_of(
        st.floats(max_value=0), st.floats().filter(lambda v: not math.isfinite(v)), st.text(max_size=3))}),
    st.fixed_dictionaries({"n_trials": st.just(1), "n_jobs": st.one_of(st.integers(max_value=-2), st.just(0))}),
    st.fixed_dictionaries({"n_trials": st.just(1), "retries": st.one_of(st.integers(max_value=-1),
                                                                        st.text(max_size=2), st.booleans())}),
))
@_settings(N_OPTIMIZE_ARGS)
def test_bad_optimize_arguments_are_refused(store, args):
    _, study = store
    names = [f"'{key}'" for key in args if key != "n_trials" or len(args) == 1]
    _refused(store, lambda: study.optimize(lambda t: 0.0, **args), *names)


def test_the_suite_generates_at_least_ten_thousand_cases():
    assert TOTAL_EXAMPLES >= 10_000
    assert issubclass(InvalidParameterError, MetahpoError)
