"""The ``jaxdl`` command line: ``verify``, ``fit`` and ``demo``.

An entry point: it parses arguments, sets JAX's process-wide options (float64 on, a persistent
compilation cache) and prints. It holds no maths: every number comes from the library.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence

import jax


def _configure_jax(cache: bool = True) -> None:
    """Process-wide settings for command-line runs (never done by library code)."""
    jax.config.update("jax_enable_x64", True)
    if cache and os.environ.get("JAXDL_NO_CACHE") != "1":
        cache_dir = os.environ.get(
            "JAXDL_CACHE_DIR", os.path.join(os.path.expanduser("~"), ".cache", "jaxdl", "xla")
        )
        jax.config.update("jax_compilation_cache_dir", cache_dir)
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
        jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)


def _cmd_verify(args: argparse.Namespace) -> int:
    from jaxdl import verify

    dtypes = verify.DTYPES if args.dtype == "both" else (args.dtype,)
    outcomes = verify.run(args.only or None, dtypes=dtypes, seed=args.seed, trials=args.trials)
    failed = [o for o in outcomes if not o.ok]
    if args.json:
        print(json.dumps({"ok": not failed, "identities": [o.as_dict() for o in outcomes]},
                         indent=2))
    else:
        print(verify.format_table(outcomes))
        n_id = len({o.name for o in outcomes})
        print(f"\n{n_id} identities x {len(dtypes)} dtype(s): "
              f"{len(outcomes) - len(failed)} ok, {len(failed)} failed")
    return 1 if failed else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="jaxdl",
        description="Verified closed forms and jit-compiled training loops for the classic "
        "derivations of deep learning.",
    )
    sub = parser.add_subparsers(dest="command")

    v = sub.add_parser("verify", help="check every closed form against JAX autodiff")
    v.add_argument("--json", action="store_true", help="print JSON instead of a table")
    v.add_argument("--dtype", choices=("both", "float64", "float32"), default="both")
    v.add_argument("--trials", type=int, default=3, help="random inputs per identity")
    v.add_argument("--seed", type=int, default=0)
    v.add_argument("--only", nargs="*", metavar="NAME", help="run only these identities")
    v.set_defaults(func=_cmd_verify)

    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        args = parser.parse_args(["verify"])
    _configure_jax()
    try:
        return int(args.func(args))
    except (ValueError, TypeError, FileNotFoundError) as err:
        print(f"jaxdl {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
