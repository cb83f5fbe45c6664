"""Teammates reaching one database with their own roles share its meta-models' key."""

from __future__ import annotations

import pytest

import metahpo as mh
from metahpo.knowledge._identity import spec_identity, spec_with_credentials
from metahpo.surrogates import SpaceEncoding
from metahpo.surrogates.meta import MetaModelProvider

SHARED = "db.example:5432/team?options=-csearch_path%3Dhpo"


def test_credentials_and_driver_do_not_change_the_identity():
    alice = f"postgresql+psycopg://alice:secret@{SHARED}"
    bob = f"postgresql://bob@{SHARED}"
    assert spec_identity(alice) == spec_identity(bob) == f"postgresql://{SHARED}"
    assert "secret" not in spec_identity(alice)
    # Host, database and schema still tell databases apart; other specs are kept as given.
    assert spec_identity(f"postgresql://alice@{SHARED.replace('team', 'other')}") != spec_identity(alice)
    assert spec_identity(f"postgresql://alice@{SHARED.replace('hpo', 'x')}") != spec_identity(alice)
    assert spec_identity(["bundled:keel-hgb", "sqlite:///a.db"]) == ["bundled:keel-hgb", "sqlite:///a.db"]
    assert spec_identity(None) is None


def _key(spec: str) -> str:
    space = mh.Space({"x": mh.Float(0.0, 1.0)})
    kb = mh.KnowledgeBase(spec=["bundled:keel-hgb", spec])
    return MetaModelProvider().key(kb, SpaceEncoding(space))


def test_the_key_depends_on_the_meta_training_seed():
    from metahpo.surrogates.meta import MetaTrainingConfig

    space = mh.Space({"x": mh.Float(0.0, 1.0)})
    kb = mh.KnowledgeBase(spec="bundled:keel-hgb")
    keys = {MetaModelProvider(MetaTrainingConfig(seed=s)).key(kb, SpaceEncoding(space)) for s in (0, 0, 1)}
    assert len(keys) == 2


def test_metabo_keys_the_meta_model_by_the_database_not_the_role():
    assert _key(f"postgresql+psycopg://alice:secret@{SHARED}") == _key(f"postgresql://bob:other@{SHARED}")
    assert _key(f"postgresql://alice@{SHARED}") != _key(f"postgresql://alice@{SHARED.replace('team', 'b')}")


# libpq takes a password from the query too: it is a credential like the URL's own.
QUERY_SECRET = f"postgresql+psycopg://alice@{SHARED}&password=s3cret&sslpassword=k3y"


def test_a_password_in_the_query_is_neither_stored_nor_part_of_the_identity():
    from metahpo.knowledge import spec_with_credentials, spec_without_passwords

    stored = spec_without_passwords(QUERY_SECRET)
    assert stored == f"postgresql+psycopg://alice@{SHARED}"
    assert spec_identity(QUERY_SECRET) == f"postgresql://{SHARED}"
    assert spec_identity(f"postgresql://bob:other@{SHARED}") == f"postgresql://{SHARED}"
    assert spec_identity(f"postgresql://{SHARED}&user=bob&PASSWORD=x") == f"postgresql://{SHARED}"
    kb = mh.KnowledgeBase(spec=[QUERY_SECRET, "bundled:keel-hgb"])
    shown = repr(kb) + repr(kb.spec) + repr(kb.identity)
    assert "s3cret" not in shown and "k3y" not in shown
    # Reopened through the study's own URL, the query password comes back where it was.
    own = QUERY_SECRET.replace("/team", "/studies")
    assert spec_with_credentials(stored, [own]) == (
        f"postgresql+psycopg://alice@{SHARED}&password=s3cret&sslpassword=k3y"
    )
    assert spec_with_credentials(stored, [own.replace("alice", "bob")]) == stored
    # A URL without a password is kept as given.
    assert spec_without_passwords(f"postgresql://alice@{SHARED}") == f"postgresql://alice@{SHARED}"


def test_the_study_s_own_database_is_read_with_the_opener_s_credentials() -> None:
    # Alice created the study; Bob, with a role of his own, opens it on the same database.
    stored = "postgresql+psycopg://alice@db.example:5432/team"
    bob = "postgresql+psycopg://bob:b0b@db.example:5432/team"
    assert spec_with_credentials(stored, [bob]) == bob
    assert spec_with_credentials([stored, "./kb"], [bob]) == [bob, "./kb"]
    # Another database on the server is not the study's own: Alice's URL, as stored.
    other = "postgresql+psycopg://alice@db.example:5432/archive"
    assert spec_with_credentials(other, [bob]) == other
    # Nor is another schema of the same database.
    schema = stored + "?options=-csearch_path%3Dold"
    assert spec_with_credentials(schema, [bob]) == schema


def test_a_password_never_follows_a_stored_url_to_a_host_its_query_names() -> None:
    # libpq connects to host= or hostaddr= from the query: such a URL is another server.
    opener = "postgresql+psycopg://alice:SECRET@db.internal:5432/study"
    for planted in ("postgresql+psycopg://alice@db.internal:5432/kb?hostaddr=6.6.6.6",
                    "postgresql+psycopg://alice@db.internal:5432/kb?host=evil.example.com"):
        assert "SECRET" not in str(spec_with_credentials(planted, [opener]))
    on_socket = "postgresql+psycopg://alice:SECRET@/study?host=db.internal"
    assert "SECRET" not in str(spec_with_credentials("postgresql+psycopg://alice@/kb?host=evil.example.com", [on_socket]))
    # The same server, another database: the password still comes back.
    assert spec_with_credentials("postgresql+psycopg://alice@db.internal:5432/kb", [opener]) == (
        "postgresql+psycopg://alice:SECRET@db.internal:5432/kb"
    )


def test_a_url_without_a_port_is_the_default_port(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PGPORT", raising=False)
    opener = "postgresql+psycopg://bob:b0b@db.example:5432/team"
    # The study's own database, written without its port: read as the opener.
    assert spec_with_credentials("postgresql+psycopg://alice@db.example/team", [opener]) == opener
    assert spec_with_credentials("postgresql://alice@db.example:5432/team",
                                 ["postgresql://bob:b0b@db.example/team"]) == "postgresql://bob:b0b@db.example/team"
    # The same user on the same server, one of the two URLs without its port: the password comes back.
    alice = "postgresql+psycopg://alice:SECRET@db.example:5432/study"
    assert spec_with_credentials("postgresql+psycopg://alice@db.example/kb", [alice]) == (
        "postgresql+psycopg://alice:SECRET@db.example/kb")
    assert spec_with_credentials("postgresql+psycopg://alice@db.example:5432/kb",
                                 ["postgresql+psycopg://alice:SECRET@db.example/study"]) == (
        "postgresql+psycopg://alice:SECRET@db.example:5432/kb")
    # Another port, host, database or routing query key never gets it.
    for planted in ("postgresql+psycopg://alice@db.example:6432/kb",
                    "postgresql+psycopg://alice@evil.example/kb",
                    "postgresql+psycopg://alice@db.example/kb?port=6432",
                    "postgresql+psycopg://alice@db.example/kb?hostaddr=6.6.6.6"):
        assert "SECRET" not in str(spec_with_credentials(planted, [alice])), planted
    for other in ("postgresql+psycopg://alice@db.example:6432/team",
                  "postgresql+psycopg://alice@db.example/archive",
                  "postgresql+psycopg://alice@db.example/team?options=-csearch_path%3Dold"):
        assert spec_with_credentials(other, [opener]) == other
    # libpq sends a URL without a port to PGPORT: then 5432 is another server.
    monkeypatch.setenv("PGPORT", "6432")
    assert spec_with_credentials("postgresql+psycopg://alice@db.example/kb", [alice]) == (
        "postgresql+psycopg://alice@db.example/kb")
    assert spec_with_credentials("postgresql+psycopg://alice@db.example/team", [opener]) == (
        "postgresql+psycopg://alice@db.example/team")
    assert spec_with_credentials("postgresql+psycopg://alice@db.example:6432/kb",
                                 ["postgresql+psycopg://alice:SECRET@db.example/study"]) == (
        "postgresql+psycopg://alice:SECRET@db.example:6432/kb")
