"""Command-line option types shared by the benchmark programs under ``benchmarks/``.

Each is an ``argparse`` ``type=``: a bad path stops the program with a usage error
(``argument --out: ...``, exit status 2) while the arguments are read, before any work,
instead of a traceback once the results are written. An empty value (``--out "$DIR"``
with the variable unset) is refused rather than read as the current directory. A program
makes the folder of its ``out_file`` when it writes, as it makes an ``out_directory``.
Give a default as a string, not a ``Path``: argparse converts, and so checks, only string
defaults.

Example:
    >>> import argparse, tempfile
    >>> parser = argparse.ArgumentParser()
    >>> _ = parser.add_argument("--out", type=out_directory, default="results/demo")
    >>> parser.parse_args([]).out
    PosixPath('results/demo')
    >>> with tempfile.NamedTemporaryFile() as existing:
    ...     out_directory(existing.name)
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: expected a directory (made if missing), got the file ...
"""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["out_directory", "out_file"]


def out_directory(value: str) -> Path:
    """A directory to write results in: made later if missing, refused when it is empty
    (``--out "$DIR"`` with the variable unset), a file or would be made under one."""
    path = _non_empty(value, "a directory (made if missing)")
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(
            f"expected a directory (made if missing), got the file {path}"
        )
    _refuse_a_file_above(path, "a directory (made if missing)")
    return path


def out_file(value: str) -> Path:
    """A file to write results to, in a folder the program makes if missing: refused when
    it is empty, a directory or would be made under a file."""
    path = _non_empty(value, "a file to write")
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"expected a file to write, got the directory {path}")
    _refuse_a_file_above(path, "a file to write")
    return path


def _non_empty(value: str, expected: str) -> Path:
    # Path("") is the current directory: an unset variable would write results there.
    if not value.strip():
        raise argparse.ArgumentTypeError(f"expected {expected}, got an empty value {value!r}")
    return Path(value)


def _refuse_a_file_above(path: Path, expected: str) -> None:
    # The nearest existing folder above the path is where it would be made: it must be
    # a directory (`mkdir(parents=True)` and `open` fail under a file).
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise argparse.ArgumentTypeError(
                    f"expected {expected}, got {path}, which is under the file {parent}"
                )
            return
