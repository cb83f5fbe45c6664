"""``portfolio.json``: which tasks a knowledge directory's portfolios are chosen on.

It sits beside the manifest and belongs to the knowledge format: :func:`write_knowledge`
replaces it with the directory (a directory rewritten without a rule keeps no old one)::

    {"spaces": {"<space fingerprint>": {"k_nearest": 10 | null, ...evidence}}}

``k_nearest`` is the number of nearest tasks the space's portfolio is chosen on, ``null``
the nearest task's cluster; the rest of a record is free JSON (how it was chosen).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from metahpo._validation import describe
from metahpo.exceptions import InvalidParameterError

__all__ = ["PORTFOLIO_FILE", "parse_portfolio_rule", "portfolio_rule_text", "read_portfolio_rule",
           "write_portfolio_rule"]

PORTFOLIO_FILE = "portfolio.json"


def read_portfolio_rule(folder: str | os.PathLike[str]) -> dict[str, int | None]:
    """``{space fingerprint: k}`` from a knowledge directory's :data:`PORTFOLIO_FILE`: the
    space's portfolio is chosen on the ``k`` nearest tasks, or with ``None`` on the nearest
    task's cluster (empty without the file)."""
    path = Path(folder) / PORTFOLIO_FILE
    if not path.is_file():
        return {}
    return parse_portfolio_rule(path.read_text(encoding="utf-8"), str(path))


def write_portfolio_rule(folder: str | os.PathLike[str], rules: Mapping[str, Any]) -> Path:
    """Write :data:`PORTFOLIO_FILE` into the knowledge directory ``folder``.

    Args:
        folder: a knowledge directory (it holds ``manifest.json``).
        rules: per fingerprint of a space of the directory, a JSON-able record with ``"k_nearest"`` (an int >= 1,
            or ``None`` for the nearest task's cluster) and the evidence it was chosen on.

    Example:
        >>> import metahpo as mh, tempfile
        >>> from metahpo.knowledge import write_portfolio_rule
        >>> space = mh.Space({"x": mh.Float(0.0, 1.0)})
        >>> kb = mh.KnowledgeBase()
        >>> _ = kb.add_task(space, [{"x": 0.5}], [1.0], name="t")
        >>> folder = kb.save(tempfile.mkdtemp() + "/kb")
        >>> _ = write_portfolio_rule(folder, {space.fingerprint(): {"k_nearest": 5}})
        >>> mh.KnowledgeBase.from_files(folder).portfolio_neighbours(space)
        5
    """
    folder = Path(folder)
    if not (folder / "manifest.json").is_file():
        raise InvalidParameterError(
            "The 'folder' parameter of write_portfolio_rule must be a knowledge directory "
            f"holding manifest.json. Got {str(folder)!r} instead."
        )
    text = portfolio_rule_text(rules)
    spaces = json.loads((folder / "manifest.json").read_text(encoding="utf-8")).get("spaces") or []
    known = {entry.get("fingerprint") for entry in spaces if isinstance(entry, Mapping)}
    unknown = sorted(set(rules) - known)
    if unknown:
        raise InvalidParameterError(
            "The 'rules' parameter of write_portfolio_rule must name spaces of the knowledge "
            f"directory ({sorted(f for f in known if isinstance(f, str))}). Got {unknown} instead."
        )
    # Written beside and moved in, so that a reader never sees half a file.
    path = folder / PORTFOLIO_FILE
    staging = folder / f".{PORTFOLIO_FILE}.tmp"
    staging.write_text(text, encoding="utf-8")
    os.replace(staging, path)
    return path


def portfolio_rule_text(
    rules: Mapping[str, Any], parameter: str = "The 'rules' parameter of write_portfolio_rule"
) -> str:
    """The file's text for ``rules`` (see :func:`write_portfolio_rule`), validated; errors
    start with ``parameter``."""
    if not isinstance(rules, Mapping) or not all(isinstance(f, str) for f in rules):
        raise InvalidParameterError(
            f"{parameter} must be a dict of space fingerprints (str) to records. Got {describe(rules)} instead."
        )
    bad = _first_bad_record(rules)
    if bad is not None:
        fingerprint, k_only, value = bad
        wanted = "whose 'k_nearest' is an int >= 1 or None" if k_only else "with a 'k_nearest' field"
        raise InvalidParameterError(
            f"{parameter} must map each space fingerprint to a record {wanted}. "
            f"Got {describe(value)} for space {fingerprint!r} instead."
        )
    try:
        return json.dumps({"spaces": dict(rules)}, indent=1, allow_nan=False) + "\n"
    except (TypeError, ValueError) as exc:
        raise InvalidParameterError(
            f"{parameter} must hold JSON-able records without NaN. Got {describe(rules)} instead."
        ) from exc


def parse_portfolio_rule(text: str, path: str) -> dict[str, int | None]:
    """``{fingerprint: k or None}`` from the text of the file at ``path`` (named in errors).

    A ``null`` record is kept: it says the space's portfolio is chosen on the cluster, and
    so overrides a rule an earlier source recorded."""
    try:
        spaces = json.loads(text)["spaces"]
        if not isinstance(spaces, Mapping):
            raise TypeError
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidParameterError(
            f"{path}: field 'spaces' must be a JSON object of space fingerprints to records. "
            f"Got {text[:80]!r} instead."
        ) from exc
    bad = _first_bad_record(spaces)
    if bad is not None:
        fingerprint, k_only, value = bad
        wanted = (
            f"field 'k_nearest' of space {fingerprint!r} must be an int >= 1 or null" if k_only
            else f"field 'spaces' must map space {fingerprint!r} to an object with a 'k_nearest' field"
        )
        raise InvalidParameterError(f"{path}: {wanted}. Got {describe(value)} instead.")
    return {str(fingerprint): record["k_nearest"] for fingerprint, record in spaces.items()}


def _first_bad_record(spaces: Mapping[Any, Any]) -> tuple[Any, bool, Any] | None:
    """The first wrong record: its space, whether only its ``k_nearest`` is wrong, and the
    wrong value (the record, or its ``k_nearest``)."""
    for fingerprint, record in spaces.items():
        if not isinstance(record, Mapping) or "k_nearest" not in record:
            return fingerprint, False, record
        k = record["k_nearest"]
        if k is not None and (not isinstance(k, int) or isinstance(k, bool) or k < 1):
            return fingerprint, True, k
    return None
