"""Property-based tests: bad input gets a clear error and leaves every storage unchanged."""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from metahpo.exceptions import InvalidParameterError, StorageError
from metahpo.storage import InMemoryStorage, SQLStorage, Storage, get_storage
from metahpo.storage._checks import MAX_NAME_LENGTH
from metahpo.storage._sql_engine import parse_url
from metahpo.testing.storage import make_study, snapshot
from metahpo.trial import TrialState

PROPERTY_SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

# --- Storage URLs ------------------------------------------------------------------------

_SAFE_TEXT = st.text(st.characters(min_codepoint=33, max_codepoint=126,
                                   exclude_characters="/@:?#[]%"), min_size=1, max_size=12)


@given(st.text(max_size=40))
@PROPERTY_SETTINGS
def test_text_that_is_no_database_url_is_refused(text: str) -> None:
    assume(not text.startswith(("sqlite", "postgresql")))  # Real URLs would open databases.
    with pytest.raises(InvalidParameterError, match="'storage' parameter"):
        get_storage(text)


@given(st.one_of(st.integers(), st.floats(), st.binary(), st.lists(st.text(), max_size=2),
                 st.dictionaries(st.text(), st.text(), max_size=2)))
@PROPERTY_SETTINGS
def test_objects_that_are_no_storage_are_refused(value: object) -> None:
    with pytest.raises(InvalidParameterError, match="'storage' parameter"):
        get_storage(value)


class _StorageOfOnesOwn:
    """A storage class written before the protocol gained its queue operations."""

    def __init__(self) -> None:
        self._inner = InMemoryStorage()

    def __getattr__(self, name: str) -> Any:
        if name == "enqueue_config":
            raise AttributeError(name)
        return getattr(self._inner, name)


def test_a_storage_class_missing_operations_is_refused_naming_them() -> None:
    with pytest.raises(InvalidParameterError, match=r"which lacks enqueue_config of the metahpo.storage.Storage"):
        get_storage(_StorageOfOnesOwn())
    # An object with a method of the same name (close) was not meant as a storage.
    connection = sqlite3.connect(":memory:")
    with pytest.raises(InvalidParameterError, match=r"must be None, a Storage object or a URL") as info:
        get_storage(connection)
    assert "lacks" not in str(info.value)
    connection.close()


@given(
    url=st.one_of(
        _SAFE_TEXT.filter(lambda port: not port.isdigit()).map(
            lambda port: f"postgresql+psycopg://user:secret@localhost:{port}/db"),
        st.integers(min_value=65536).map(lambda port: f"postgresql://user@localhost:{port}/db"),
        _SAFE_TEXT.filter(lambda driver: driver not in ("psycopg", "psycopg2")).map(
            lambda driver: f"postgresql+{driver}://user@localhost/db"),
        st.tuples(_SAFE_TEXT, _SAFE_TEXT).map(lambda parts: f"sqlite://{parts[0]}/{parts[1]}.db"),
        _SAFE_TEXT.filter(lambda driver: driver != "pysqlite").map(
            lambda driver: f"sqlite+{driver}:///never-created.db"),
    )
)
@PROPERTY_SETTINGS
def test_malformed_database_urls_name_the_url_parameter(url: str) -> None:
    with pytest.raises(InvalidParameterError, match="'url' parameter of SQLStorage") as info:
        get_storage(url)
    assert "secret" not in str(info.value)  # Passwords stay out of messages.
    assert not Path("never-created.db").exists()


@pytest.mark.parametrize("port", ["+1", " 5432", "5_432", "+5432", "+1/db?application_name=x:1", "+1/db:1"])
def test_a_port_written_other_than_as_digits_is_refused(port: str) -> None:
    # int() reads each of these as a number; the URL parser used to take them as ports and
    # the error came later, as an unreachable server.
    url = f"postgresql+psycopg://user:secret@localhost:{port}"
    with pytest.raises(InvalidParameterError, match="port must be written as digits") as info:
        get_storage(url if "/" in port else url + "/db")
    assert "secret" not in str(info.value)


@pytest.mark.parametrize(("url", "port"), [
    ("postgresql+psycopg://user:p:w@localhost:05432/db", 5432),
    ("postgresql+psycopg://user:p@ss@localhost:5433/db?sslmode=disable", 5433),
    ("postgresql+psycopg://user:pw@[::1]:5434/db", 5434),
    ("postgresql+psycopg://user@localhost/db", None),
])
def test_ports_written_as_digits_are_read(url: str, port: int | None) -> None:
    assert parse_url(url).port == port


def test_a_url_to_no_server_is_a_storage_error() -> None:
    import socket

    with socket.socket() as sock:  # A port nobody listens on.
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(StorageError, match=str(port)) as refused:
        get_storage(f"postgresql+psycopg://user:secret@127.0.0.1:{port}/db")
    # Opening waits for no reconnection: it said "stayed unreachable for 0 s (reconnect_timeout)".
    assert f"127.0.0.1:{port}/db is unreachable: " in str(refused.value)
    assert "reconnect_timeout" not in str(refused.value)


def test_a_sqlite_url_naming_a_folder_is_a_storage_error(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="unable to open database file"):
        get_storage(f"sqlite:///{tmp_path}")


# --- Names and JSON values, on every backend ---------------------------------------------


@pytest.fixture(scope="module", params=["memory", "sqlite",
                                        pytest.param("postgres", marks=pytest.mark.postgres)])
def storage(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Storage]:
    """One storage per backend for all examples, holding a study with one running trial."""
    if request.param == "memory":
        yield _seeded(InMemoryStorage())
    elif request.param == "sqlite":
        path = tmp_path_factory.mktemp("bad-input") / "metahpo.db"
        yield _seeded(SQLStorage(f"sqlite:///{path}"))
    else:
        from metahpo.testing import fresh_schema

        with fresh_schema(request.getfixturevalue("postgres_server_url")) as url:
            sql = _seeded(SQLStorage(url))
            yield sql
            sql.close()


def _seeded(storage: Storage) -> Storage:
    study = make_study(storage, "seeded")
    storage.create_trial(study.study_id, config={"x": 0.5})
    return storage


_JSON_LEAVES = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**53), max_value=2**53),
    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=10),
)
_BAD_LEAVES = st.one_of(
    st.just(math.nan), st.just(math.inf), st.just(-math.inf), st.builds(object),
    st.sets(st.integers(), max_size=2), st.binary(max_size=3), st.complex_numbers(),
)


def _json_like(leaves: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.recursive(
        leaves,
        lambda children: st.lists(children, max_size=3)
        | st.dictionaries(st.text(max_size=5), children, max_size=3),
        max_leaves=8,
    )


def _is_json(value: Any) -> bool:
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        return False
    return True


_NOT_JSON = _json_like(st.one_of(_JSON_LEAVES, _BAD_LEAVES)).filter(lambda value: not _is_json(value))
_NOT_JSON_MAPPING = st.dictionaries(st.text(max_size=5), _NOT_JSON, min_size=1, max_size=2)


@given(value=_NOT_JSON_MAPPING, field=st.sampled_from(["space", "optimizer", "scheduler", "user_attrs"]))
@PROPERTY_SETTINGS
def test_non_json_study_fields_are_refused(storage: Storage, value: Any, field: str) -> None:
    before = snapshot(storage)
    with pytest.raises(InvalidParameterError, match=f"'{field}' parameter must be JSON"):
        make_study(storage, "new", **{field: value})
    assert snapshot(storage) == before


@given(value=_NOT_JSON_MAPPING, call=st.sampled_from(
    ["set_study_user_attrs", "create_trial_config", "create_trial_attrs", "set_trial_config",
     "set_trial_user_attrs"]))
@PROPERTY_SETTINGS
def test_non_json_trial_fields_are_refused(storage: Storage, value: Any, call: str) -> None:
    study_id = storage.get_study("seeded").study_id
    calls = {
        "set_study_user_attrs": lambda: storage.set_study_user_attrs(study_id, value),
        "create_trial_config": lambda: storage.create_trial(study_id, config=value),
        "create_trial_attrs": lambda: storage.create_trial(study_id, user_attrs=value),
        "set_trial_config": lambda: storage.set_trial_config(study_id, 0, value),
        "set_trial_user_attrs": lambda: storage.set_trial_user_attrs(study_id, 0, value),
    }
    before = snapshot(storage)
    with pytest.raises(InvalidParameterError, match="must be JSON-serialisable"):
        calls[call]()
    assert snapshot(storage) == before


@pytest.mark.parametrize("call", ["make_study", "set_study_user_attrs", "create_trial_attrs", "set_trial_user_attrs"])
def test_user_attrs_with_keys_that_are_no_strings_are_refused(storage: Storage, call: str) -> None:
    # JSON would store {1: 2} as {"1": 2}, and the key given no longer finds it.
    study_id = storage.get_study("seeded").study_id
    value = {"note": [{"ok": {1: "one"}}]}
    calls = {
        "make_study": lambda: make_study(storage, "new", user_attrs=value),
        "set_study_user_attrs": lambda: storage.set_study_user_attrs(study_id, value),
        "create_trial_attrs": lambda: storage.create_trial(study_id, user_attrs=value),
        "set_trial_user_attrs": lambda: storage.set_trial_user_attrs(study_id, 0, value),
    }
    before = snapshot(storage)
    with pytest.raises(InvalidParameterError, match=r"'user_attrs' parameter must be JSON whose objects have "
                       r"string keys .*Got the key 1 in user_attrs\['note'\]\[0\]\['ok'\] instead"):
        calls[call]()
    assert snapshot(storage) == before


_BAD_NAMES = st.one_of(
    st.text(" \t\n\r", max_size=5),  # empty or blank
    st.text(min_size=MAX_NAME_LENGTH + 1, max_size=MAX_NAME_LENGTH + 20),
    st.integers(), st.none(), st.binary(min_size=1, max_size=5), st.lists(st.text(), max_size=2),
)


@given(name=_BAD_NAMES)
@PROPERTY_SETTINGS
def test_malformed_study_names_are_refused(storage: Storage, name: Any) -> None:
    before = snapshot(storage)
    with pytest.raises(InvalidParameterError, match="'name' parameter of a study"):
        make_study(storage, name)
    assert snapshot(storage) == before


@given(name=st.text(min_size=1, max_size=MAX_NAME_LENGTH), attrs=_json_like(_JSON_LEAVES))
@PROPERTY_SETTINGS
def test_backends_accept_and_return_the_same(storage: Storage, name: str, attrs: Any) -> None:
    """What the reference in-memory storage accepts, every backend stores and returns equal."""
    # NUL cannot be stored by PostgreSQL, so the SQL storage refuses it in names (below).
    assume("\x00" not in name and name != "seeded")
    reference = InMemoryStorage()
    try:
        expected = make_study(reference, name, user_attrs={"value": attrs})
    except InvalidParameterError:
        with pytest.raises(InvalidParameterError):
            make_study(storage, name)
        return
    try:
        record = make_study(storage, name, user_attrs={"value": attrs})
        assert storage.get_study(name).user_attrs == expected.user_attrs
        assert record.user_attrs == expected.user_attrs
        trial = storage.create_trial(record.study_id, config={"attrs": attrs})
        storage.finish_trial(record.study_id, trial.number, TrialState.COMPLETE, 1.0)
        assert storage.get_trial(record.study_id, trial.number).config == {"attrs": expected.user_attrs["value"]}
    finally:
        storage.delete_study(name)


@pytest.mark.parametrize("name", ["nul\x00inside", "\x00"])
def test_sql_storage_refuses_names_it_cannot_store(tmp_path: Path, name: str) -> None:
    storage = SQLStorage(f"sqlite:///{tmp_path}/metahpo.db")
    with pytest.raises(InvalidParameterError, match="no NUL character"):
        make_study(storage, name)
    assert storage.list_studies() == []
    with pytest.raises(StorageError):  # Looking it up is simply "not found".
        storage.get_study(name)


@pytest.mark.parametrize("url", ["mysql://user:secret@localhost/db",
                                 "mysql+pymysql://user:sec@ret@localhost:3306/db",
                                 "oracle://:secret@host"])
def test_unsupported_urls_are_refused_without_their_password(url: str) -> None:
    with pytest.raises(InvalidParameterError, match="'storage' parameter") as info:
        get_storage(url)
    message = str(info.value)
    assert "sec" not in message and "ret@" not in message
    assert ":***@" in message


def test_a_password_with_at_signs_is_hidden_from_sql_url_errors() -> None:
    with pytest.raises(InvalidParameterError, match="'url' parameter") as info:
        get_storage("postgresql+psycopg://user:p@ss@localhost:notaport/db")
    assert "p@ss" not in str(info.value) and "ss@" not in str(info.value)


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("postgresql://u@localhost:1/db?password=s3cret", "postgresql://u@localhost:1/db?password=***"),
        ("postgresql://u:p@ss@h/db?sslmode=require&sslpassword=zz", "postgresql://u:***@h/db?sslmode=require&sslpassword=***"),
        # One raw URL: its password may hold a blank or a quote.
        ("postgresql+psycopg://user:my secret@localhost:notaport/db", "postgresql+psycopg://user:***@localhost:notaport/db"),
        ("postgresql+psycopg://:sec'ret@h/db", "postgresql+psycopg://:***@h/db"),
        ("sqlite:///runs/a.db", "sqlite:///runs/a.db"),
    ],
)
def test_a_urls_password_is_masked_whatever_it_holds(url: str, masked: str) -> None:
    from metahpo.storage import mask_password

    assert mask_password(url) == masked


def test_passwords_are_masked_in_a_message_quoting_several_urls() -> None:
    from metahpo.storage import mask_passwords_in

    text = ("Got 'sqlite:///' or 'postgresql+psycopg://' or a directory. Got 'mysql://u:s3cret@h/db' or "
            "'postgresql+;://v:pw@h/db?password=q' instead.")
    assert mask_passwords_in(text) == (
        "Got 'sqlite:///' or 'postgresql+psycopg://' or a directory. Got 'mysql://u:***@h/db' or "
        "'postgresql+;://v:***@h/db?password=***' instead.")


def test_an_unreachable_server_is_named_without_a_password_in_its_query() -> None:
    from metahpo.exceptions import StorageError

    with pytest.raises(StorageError, match="unreachable") as info:
        get_storage("postgresql+psycopg://u@localhost:1/db?password=s3cret&connect_timeout=2")
    assert "s3cret" not in str(info.value) and "password=***" in str(info.value)
