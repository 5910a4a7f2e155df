"""What every command shares: exit statuses, the usage error, argument types, the plot check.

An argument type names what it expected; argparse prefixes the flag. A check that needs more
than one flag, or the data, raises :class:`UsageError` with the flag the user typed.
"""

from __future__ import annotations

import argparse
import math
import os
from collections.abc import Callable, Mapping

EXIT_OK = 0  # every check and fit succeeded
EXIT_FAILED = 1  # an identity failed, or a fit ended with a status that is not a success
EXIT_USAGE = 2  # a bad flag, flag value or input file (named in the message)
EXIT_BUG = 70  # an unexpected exception: a bug in jaxdl (EX_SOFTWARE of sysexits.h)
EXIT_IO = 74  # the operating system refused a read or write (EX_IOERR of sysexits.h)
EXIT_INTERRUPTED = 130  # Ctrl-C (128 + SIGINT)


class UsageError(Exception):
    """A bad command-line value: printed as ``jaxdl CMD: error: ...``; exit status 2."""


def library_error(err: Exception, flags: Mapping[str, str], *,
                  default: str | None = None) -> Exception:
    """A library error on the user's input, told with the flag that fed the argument.

    jaxdl's messages start with the argument they are about (``name: expected X, got Y``).
    ``flags`` maps the arguments this call site passed from the command line to their flags;
    an error about one of them becomes a :class:`UsageError` that names its flag. Any other
    error becomes one with ``default`` (the flag or file the whole call came from) in front of
    the library's message when a default is given; without one it is returned unchanged, to be
    raised as what it is (an unexpected error: a bug).
    """
    text = str(err)
    name, sep, rest = text.partition(": ")
    if sep and name in flags:
        return UsageError(f"{flags[name]}: {rest}")
    if default is not None:
        return UsageError(f"{default}: {text}")
    return err


def integer(low: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < low:
            raise argparse.ArgumentTypeError(f"expected an integer >= {low}, got {text!r}")
        return value

    return parse


def number(low: float, high: float = math.inf, *, low_open: bool = False,
           high_open: bool = False) -> Callable[[str], float]:
    lo = f"{'>' if low_open else '>='} {low:g}"
    want = f"a finite number {lo}" + (
        "" if high == math.inf else f" and {'<' if high_open else '<='} {high:g}")

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        inside = (math.isfinite(value) and (value > low if low_open else value >= low)
                  and (value < high if high_open else value <= high))
        if not inside:
            raise argparse.ArgumentTypeError(f"expected {want}, got {text!r}")
        return value

    return parse


def label_column(text: str) -> int | str:
    """An integer is a 0-based column index (negative counts from the end); else a name."""
    stripped = text.strip()
    digits = stripped[1:] if stripped[:1] in "+-" else stripped
    if digits.isdigit() and digits.isascii():
        return int(stripped)
    if not stripped:
        raise argparse.ArgumentTypeError("expected a column name or index, got ''")
    return text


def delimiter(text: str) -> str:
    named = {"\\t": "\t", "tab": "\t", "space": " "}
    value = named.get(text.lower(), text)
    if len(value) != 1 or value in "\r\n\"":
        raise argparse.ArgumentTypeError(
            f"expected one character (or 'tab', '\\t', 'space'), got {text!r}")
    return value


def check_plot(path: str) -> None:
    """Before any work: the plot's folder exists and is writable, and matplotlib is there."""
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise UsageError(f"--plot: expected a file name, got the folder {path!r}")
    if not os.path.isdir(folder):
        raise UsageError(f"--plot: expected a file in an existing folder, got {path!r} "
                         f"(no folder {folder!r})")
    if not writable(folder):
        raise UsageError(f"--plot: expected a writable folder, got {path!r} ({folder!r} is not "
                         "writable)")
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise UsageError("--plot: needs matplotlib; install it with pip install 'jaxdl[plot]' "
                         "(or pip install matplotlib)") from None
    ext = os.path.splitext(path)[1].lower().lstrip(".")
    formats = Figure().canvas.get_supported_filetypes()
    if ext and ext not in formats:
        raise UsageError(f"--plot: expected a file ending in one of "
                         f"{', '.join('.' + f for f in sorted(formats))}, got {path!r}")


def writable(folder: str) -> bool:
    """Whether a file can be created in ``folder``: tried, not guessed from the mode bits
    (``os.access`` says yes to root for a read-only folder, and to anyone on a read-only
    file system)."""
    import tempfile

    try:
        with tempfile.TemporaryFile(dir=folder):
            return True
    except OSError:
        return False
