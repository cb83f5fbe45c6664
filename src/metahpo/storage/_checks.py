"""Checks every storage applies before writing, so all backends refuse the same input."""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Mapping
from typing import Any

import numpy as np

from metahpo._validation import check_string_keys, describe, is_real_number
from metahpo.exceptions import InvalidParameterError
from metahpo.space import Space

MAX_NAME_LENGTH = 512
MAX_META_KEY_LENGTH = 256


def storable_error(error: Any) -> str | None:
    """A failed trial's error text as every backend can store it.

    The text comes from whatever an objective raised, so it may hold a NUL (PostgreSQL's
    text type refuses it) or a lone surrogate (not encodable as UTF-8). Both become U+FFFD
    on every backend alike, so a crash is always recorded, never refused.
    """
    if error is None:
        return None
    return "".join("\ufffd" if ch == "\x00" or "\ud800" <= ch <= "\udfff" else ch for ch in str(error))


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
    """A deep copy of ``value`` through strict JSON (no NaN, only string keys), or an error
    naming ``name``."""
    try:
        text = json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidParameterError(
            f"The {name!r} parameter must be JSON-serialisable (no NaN or infinity). "
            f"Got {describe(value)} instead: {exc}"
        ) from exc
    check_string_keys(value, name)
    return json.loads(text)


def check_trial_config(space: Mapping[str, Any], config: Any) -> dict[str, Any]:
    """``config`` validated against the study's space description (conditions included).

    Every backend calls this before storing a config, so a config outside the space
    (which would break every later ``ask``) is refused at the door. An empty config is a
    trial whose config is not chosen yet.
    A description that is not a metahpo space (the storage protocol stores any JSON; its
    own tests use opaque ones) cannot be checked against, and only the JSON check applies.
    """
    if isinstance(config, Mapping) and not config:
        return {}
    # Not sort_keys: the parsed space's parameter order is the order the config is stored in.
    parsed = _space_of(json.dumps(space))
    if parsed is None:
        return dict(config) if isinstance(config, Mapping) else config
    return parsed.validate(config, "config")


@functools.lru_cache(maxsize=64)
def _space_of(space_json: str) -> Space | None:
    # Bounded and keyed by the whole space description, its parameter order included:
    # parsing a space once per distinct space, not once per trial.
    try:
        return Space.from_dict(json.loads(space_json))
    except InvalidParameterError:
        return None


_TELL_ADVICE = "report a failure with state=TrialState.FAILED instead of NaN or infinity."


def check_objective_value(
    value: Any, subject: str = "The 'value' of a trial", advice: str = _TELL_ADVICE
) -> float:
    """An objective's return value as a finite float, or an error saying what was wrong.

    Python and numpy scalars, 0-d numpy arrays and 0-d tensors (anything with a ``shape``
    of ``()`` and an ``item()`` method, such as ``torch.tensor(0.3)``) are accepted. A list
    or an array with one or more axes is refused: the objective must return one number.
    ``subject`` starts the error message; ``advice`` ends the one for NaN or infinity.
    """
    if isinstance(value, (list, tuple)):
        raise InvalidParameterError(
            f"{subject} must be a finite number (one scalar). Got a {type(value).__name__} "
            f"{describe(value)} instead; return one number (multi-objective studies are not supported)."
        )
    shape = getattr(value, "shape", None)
    if shape is not None and not isinstance(value, (int, float)) and hasattr(value, "item"):
        if tuple(shape) != ():
            raise InvalidParameterError(
                f"{subject} must be a finite number (one scalar). Got an array of shape "
                f"{tuple(shape)} instead; return a scalar (for example array.item() after reducing it)."
            )
        value = value.item()
    if isinstance(value, np.generic) and np.ndim(value) == 0:
        value = value.item()
    # Any real number: NumPy's long double (which item() keeps) and a Fraction too.
    if not is_real_number(value):
        raise InvalidParameterError(
            f"{subject} must be a finite number. Got {describe(value)} instead."
        )
    try:
        value = float(value)
    except OverflowError:
        raise InvalidParameterError(
            f"{subject} must be a finite number. Got {describe(value)} instead, "
            "an int too large for a float."
        ) from None
    if not math.isfinite(value):
        raise InvalidParameterError(
            f"{subject} must be a finite number. Got {value!r} instead; {advice}"
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


def check_meta_key(key: Any, method: str) -> str:
    """A meta-model key: non-empty text of at most ``MAX_META_KEY_LENGTH`` characters
    that both SQL backends can store (no NUL, no lone surrogate)."""
    if not isinstance(key, str) or not key.strip() or len(key) > MAX_META_KEY_LENGTH:
        raise InvalidParameterError(
            f"The 'key' parameter of {method} must be a non-empty string of at most "
            f"{MAX_META_KEY_LENGTH} characters. Got {describe(key)} instead."
        )
    try:
        key.encode("utf-8")
    except UnicodeEncodeError:
        storable = False
    else:
        storable = "\x00" not in key
    if not storable:
        raise InvalidParameterError(
            f"The 'key' parameter of {method} must be text a database can store: no NUL "
            f"character and no lone surrogate. Got {describe(key)} instead."
        )
    return key


def check_meta_data(data: Any) -> bytes:
    """A meta-model's serialised bytes (``bytes``, ``bytearray`` or ``memoryview``), non-empty."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise InvalidParameterError(
            "The 'data' parameter of ArtefactStore.save must be bytes (a serialised model, "
            f"such as safetensors). Got {type(data).__name__} {describe(data)} instead."
        )
    data = bytes(data)
    if not data:
        raise InvalidParameterError(
            "The 'data' parameter of ArtefactStore.save must be non-empty bytes. Got b'' instead."
        )
    return data


def check_meta_info(info: Any) -> dict[str, Any]:
    """``ArtefactStore.save``'s ``info``: a mapping of strict JSON (``None`` is ``{}``), copied."""
    if info is None:
        return {}
    if not isinstance(info, Mapping):
        raise InvalidParameterError(
            "The 'info' parameter of ArtefactStore.save must be a mapping of JSON values or None. "
            f"Got {describe(info)} instead."
        )
    copied: dict[str, Any] = check_value_json(dict(info), "info")
    return copied


def check_meta_version(version: Any) -> int | None:
    """``ArtefactStore.load``'s ``version``: ``None`` (the latest) or an int >= 1."""
    if isinstance(version, np.integer):
        version = int(version)
    if version is not None and (
        isinstance(version, bool) or not isinstance(version, int) or version < 1
    ):
        raise InvalidParameterError(
            "The 'version' parameter of ArtefactStore.load must be an int >= 1 or None (the "
            f"latest). Got {describe(version)} instead."
        )
    return version


# The password of a URL, from the ':' after the user name to the last '@' (a password
# may itself hold '@'); hidden in error messages.
# In one URL, the password runs from the user's ":" to the last "@" (it may hold anything,
# a blank or a quote included); a password= or sslpassword= query value is hidden too.
_URL_PASSWORD = re.compile(r"(://[^:/@]*:).*@")
_QUERY_PASSWORD = re.compile(r"([?&](?:ssl)?password=)[^&\s'\"]*", re.IGNORECASE)
# In a message quoting URLs, each URL ends at a blank or a quote: another URL quoted
# before it must not be taken for its start.
_MESSAGE_PASSWORD = re.compile(r"([A-Za-z][^\s'\"/:@]*://[^:/@\s'\"]*:)[^\s'\"]*@")


def mask_password(url: str) -> str:
    """``url`` (one storage URL, as given) with its password replaced by ``***``."""
    return _QUERY_PASSWORD.sub(r"\1***", _URL_PASSWORD.sub(r"\1***@", url))


def mask_passwords_in(text: str) -> str:
    """``text``, a message that may quote several URLs, with every password replaced by ``***``."""
    return _QUERY_PASSWORD.sub(r"\1***", _MESSAGE_PASSWORD.sub(r"\1***@", text))


MAX_SEED = 2**63 - 1


def check_seed(seed: Any) -> int:
    """A study seed as an int in ``[0, 2**63 - 1]`` (a signed 64-bit column), or an error."""
    if isinstance(seed, np.integer):
        seed = int(seed)
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise InvalidParameterError(
            "The 'seed' parameter of a study must be an int between 0 and 2**63 - 1. "
            f"Got {describe(seed)} instead."
        )
    return seed
