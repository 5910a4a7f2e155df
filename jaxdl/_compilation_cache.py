"""Opt-in persistent compilation cache: compiled XLA programs kept on disk between processes.

The library never changes JAX's global configuration at import; entry points that want warm
first calls (the ``jaxdl`` command, the sweep scripts, the notebooks) call
:func:`enable_compilation_cache` themselves, and so may a user's own script.
"""

from __future__ import annotations

import os

import jax

#: Where compiled programs go when no path is given and ``JAXDL_CACHE_DIR`` is unset.
DEFAULT_DIR = os.path.join(os.path.expanduser("~"), ".cache", "jaxdl", "xla")


def enable_compilation_cache(path: str | os.PathLike[str] | None = None) -> str | None:
    """Keep every compiled program of this process in a persistent cache folder.

    A fresh process that calls the same jaxdl function at the same shapes, dtypes and options
    then loads the program from disk instead of compiling it (at the benchmark size a
    ``fit_newton`` first call drops from about 2 s over the warm time to about 0.35 s). It sets
    JAX's own options (``jax_compilation_cache_dir``, and caches programs however quickly they
    compiled and however small), so it affects every JAX program of the process, not only
    jaxdl's; call it once, before the first compilation.

    Args:
      path: the cache folder, created if missing. Default: ``$JAXDL_CACHE_DIR`` if set, else
        ``~/.cache/jaxdl/xla``.

    Returns:
      The folder in use, or ``None`` when the environment sets ``JAXDL_NO_CACHE=1`` (then
      nothing is changed: tests and timing runs stay honest).

    Raises:
      TypeError: ``path`` is not a string or path.
      ValueError: ``path`` names a file, or a folder that cannot be created or written.

    Call it first thing in a script or notebook: ``jaxdl.enable_compilation_cache()``.

    Example (the escape hatch that timing runs and tests use):
      >>> import os
      >>> import jaxdl
      >>> os.environ["JAXDL_NO_CACHE"] = "1"
      >>> print(jaxdl.enable_compilation_cache())
      None
      >>> del os.environ["JAXDL_NO_CACHE"]
    """
    if os.environ.get("JAXDL_NO_CACHE") == "1":
        return None
    if path is None:
        path = os.environ.get("JAXDL_CACHE_DIR") or DEFAULT_DIR
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path: expected a folder path (str or os.PathLike) or None, got "
                        f"{type(path).__name__}")
    folder = os.path.abspath(os.fspath(path))
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise ValueError(f"path: expected a folder for the compilation cache, got the file "
                         f"{folder!r}")
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as err:
        raise ValueError(f"path: cannot create the compilation cache folder {folder!r}: "
                         f"{err.strerror}") from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ValueError(f"path: the compilation cache folder {folder!r} is not writable")
    try:  # a process may have switched the cache off (scripts/bench.py does)
        jax.config.update("jax_enable_compilation_cache", True)
    except AttributeError:  # older jax: a folder alone turns it on
        pass
    jax.config.update("jax_compilation_cache_dir", folder)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    return folder
