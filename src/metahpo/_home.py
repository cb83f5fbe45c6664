"""The folder metahpo keeps its files in when no storage says otherwise."""

from __future__ import annotations

import os
from pathlib import Path

HOME_ENV_VAR = "METAHPO_HOME"


def metahpo_home() -> Path:
    """``$METAHPO_HOME``, or ``~/.cache/metahpo`` when it is unset or empty."""
    home = os.environ.get(HOME_ENV_VAR)
    return Path(home) if home else Path.home() / ".cache" / "metahpo"
