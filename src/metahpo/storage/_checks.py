"""Checks every storage applies before writing, so all backends refuse the same input."""

from __future__ import annotations

import json
import math
import re
from typing import Any

import numpy as np

from metahpo._validation import describe
from metahpo.exceptions import InvalidParameterError

MAX_NAME_LENGTH = 512


def check_study_name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME_LENGTH:
        raise InvalidParameterError(
            f"The 'name' parameter of a study must be a non-empty string of at most "
            f"{MAX_NAME_LENGTH} characters. Got {describe(name)} instead."
        )
    if "\x00" in name:  # PostgreSQL cannot store NUL characters in text.
        raise InvalidParameterError(
            "The 'name' parameter of a study must be text a database can store: no NUL "
            f"character. Got {describe(name)} instead."
        )
    return name


def check_value_json(value: Any, name: str) -> Any:
    """A deep copy of ``value`` through strict JSON (no NaN), or an error naming ``name``."""
    try:
        text = json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidParameterError(
            f"The {name!r} parameter must be JSON-serialisable (no NaN or infinity). "
            f"Got {describe(value)} instead: {exc}"
        ) from exc
    return json.loads(text)


def check_objective_value(value: Any) -> float:
    """An objective's return value as a finite float, or an error saying what was wrong."""
    if isinstance(value, np.generic) and np.ndim(value) == 0:
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidParameterError(
            f"The 'value' of a trial must be a finite number. Got {describe(value)} instead."
        )
    value = float(value)
    if not math.isfinite(value):
        raise InvalidParameterError(
            f"The 'value' of a trial must be a finite number. Got {value!r} instead; "
            "report a failure with state=TrialState.FAILED instead of NaN or infinity."
        )
    return value


def check_min_number(min_number: Any) -> int:
    """``get_trials``'s ``min_number`` as an int >= 0, or an error saying what was wrong."""
    if isinstance(min_number, np.integer):
        min_number = int(min_number)
    if isinstance(min_number, bool) or not isinstance(min_number, int) or min_number < 0:
        raise InvalidParameterError(
            "The 'min_number' parameter of get_trials must be an int >= 0. "
            f"Got {describe(min_number)} instead."
        )
    return min_number


# The password of a URL, from the ':' after the user name to the last '@' (a password
# may itself hold '@'); hidden in error messages.
_PASSWORD = re.compile(r"(://[^:/@]*:).*@")


def mask_password(url: str) -> str:
    """``url`` with its password replaced by ``***``, for error messages."""
    return _PASSWORD.sub(r"\1***@", url)
