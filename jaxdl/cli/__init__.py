"""The ``jaxdl`` command line: ``verify``, ``fit``, ``cv``, ``sweep`` and ``demo`` (the default).

An entry point: it parses arguments, sets JAX's process-wide options (float64 on, a persistent
compilation cache) and prints. It holds no maths: every number comes from the library. One
module per command (:mod:`jaxdl.cli.verify`, :mod:`~jaxdl.cli.fit`, :mod:`~jaxdl.cli.cv`,
:mod:`~jaxdl.cli.sweep`, :mod:`~jaxdl.cli.demo`); :mod:`jaxdl.cli.options` holds what they
share, and :mod:`jaxdl.cli.inputs` the data flags of the commands that fit.

Exit status, by what went wrong rather than by the exception's type name:

- 0: every check and fit succeeded;
- 1: an identity failed, or a fit ran and ended with a status that is not a success
  (``max_steps``, ``nonfinite``, ``separable`` ...), printed with a hint; or a
  cross-validation found no penalty at which every fold converged;
- 2: a bad flag, flag value or input file, reported before any work with the flag the user
  typed;
- 70: an unexpected exception, which is a bug in jaxdl: reported as one, with the exception
  and where it was raised (``JAXDL_TRACEBACK=1`` prints the whole traceback);
- 74: the operating system refused a read or write (a full disk, a file that vanished);
- 130: interrupted (Ctrl-C); a sweep keeps its finished rows for ``--resume``.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Sequence

import jax

from jaxdl import __version__
from jaxdl._compilation_cache import DEFAULT_DIR, enable_compilation_cache
from jaxdl.cli import cv, demo, fit, sweep, verify
from jaxdl.cli.options import (
    EXIT_BUG,
    EXIT_INTERRUPTED,
    EXIT_IO,
    EXIT_USAGE,
    UsageError,
)
from jaxdl.cli.options import (
    EXIT_FAILED as EXIT_FAILED,
)
from jaxdl.cli.options import (
    EXIT_OK as EXIT_OK,
)

# No __all__: the command line is documented by its guide page (docs/guide/cli.md), not the API
# reference; ``main`` is the console entry point.


def _configure_jax(cache: bool = True) -> None:
    """Process-wide settings for command-line runs (never done by library code)."""
    jax.config.update("jax_enable_x64", True)
    if cache:  # $JAXDL_CACHE_DIR or ~/.cache/jaxdl/xla; JAXDL_NO_CACHE=1 leaves it off
        try:
            enable_compilation_cache()
        except ValueError as err:  # a cache is a speed-up: never a reason to refuse a run
            print(f"jaxdl: warning: no persistent compilation cache (JAXDL_CACHE_DIR or "
                  f"{DEFAULT_DIR}): {err}", file=sys.stderr)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="jaxdl",
        description="Verified closed forms and jit-compiled training loops for the classic "
        "derivations of deep learning. Exit status: 0 success; 1 a failed check or a fit that "
        "did not converge; 2 a bad flag or input file; 70 a bug in jaxdl (please report it); "
        "74 a read or write refused by the system; 130 interrupted.",
    )
    parser.add_argument("--version", action="version", version=f"jaxdl {__version__}",
                        help="print the jaxdl version and exit")
    sub = parser.add_subparsers(dest="command", metavar="{verify,fit,cv,sweep,demo}",
                                help="what to run (default demo)")
    for command in (verify, fit, cv, sweep, demo):
        command.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status (see the module docstring)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            args = parser.parse_args(["demo"])
    except SystemExit as done:  # --help, --version, or an argparse error (status 2)
        return done.code if isinstance(done.code, int) else EXIT_USAGE
    _configure_jax()
    where = f"jaxdl {args.command}"
    try:
        return int(args.func(args))
    except UsageError as err:
        print(f"{where}: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"{where}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except OSError as err:  # the system refused a read or write: not the flags, not a bug
        print(f"{where}: error: {type(err).__name__}: {err}", file=sys.stderr)
        return EXIT_IO
    except Exception as err:  # noqa: BLE001 - whatever it is, it is not the user's mistake
        if os.environ.get("JAXDL_TRACEBACK") == "1":
            traceback.print_exc()
        frame = traceback.extract_tb(err.__traceback__)[-1]
        print(f"{where}: internal error: {type(err).__name__}: {err}\n(raised at "
              f"{os.path.basename(frame.filename)}:{frame.lineno} in {frame.name})\nThis is a "
              f"bug in jaxdl {__version__}, not a problem with your command line or data; "
              "please report it with the command (JAXDL_TRACEBACK=1 prints the traceback).",
              file=sys.stderr)
        return EXIT_BUG


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
