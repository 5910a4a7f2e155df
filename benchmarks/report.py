"""Rows, targets and the printed table; the machine description; JSON conversion."""

from __future__ import annotations

import math
import os
import platform
from typing import Any

import jax
import numpy as np
import optax

from benchmarks.config import GATE_FORMULA, RULE


def target(name: str, value: float | None, op: str, threshold: float,
            unit: str = "") -> dict[str, Any]:
    if value is None or not math.isfinite(value):
        met = None
    else:
        met = bool(value >= threshold if op == ">=" else value <= threshold if op == "<="
                   else value < threshold)
    return {"name": name, "value": value, "op": op, "threshold": threshold, "unit": unit,
            "met": met}


def row(case: str, jaxdl: str, jaxdl_s: float | None, peer: str = "",
        peer_s: float | None = None, ratio: float | None = None, unit: str = "x",
        target: dict | None = None) -> dict:
    return {"case": case, "jaxdl": jaxdl, "jaxdl_s": jaxdl_s, "peer": peer, "peer_s": peer_s,
            "ratio": ratio, "unit": unit, "target": target}


def ratio(race, sc, slow: str, fast: str, key: str = "warm_s") -> float | None:
    """slow time / fast time, only when both solvers are scored."""
    if slow in sc["scored"] and fast in sc["scored"]:
        return race[slow][key] / race[fast][key]
    return None


def seconds(race: dict[str, dict[str, Any]], name: str, key: str = "warm_s") -> float | None:
    """A solver's time from a race (None for a peer that could not run)."""
    return race[name].get(key)


def peer_label(name: str, sc: dict[str, Any]) -> str:
    if name in sc.get("unavailable", {}):
        return f"{name} (unavailable)"
    return name if name in sc["scored"] else f"{name} (not scored)"


# ----------------------------------------------------------------------------------------------
# Report.


def machine_info() -> dict[str, Any]:
    info: dict[str, Any] = {
        "platform": platform.platform(), "python": platform.python_version(),
        "processor": platform.processor(), "cpu_count": os.cpu_count(),
        "cpu_affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "jax": jax.__version__, "numpy": np.__version__, "optax": optax.__version__,
        "device_kind": jax.devices()[0].device_kind, "backend": jax.default_backend(),
    }
    import jaxlib

    info["jaxlib"] = jaxlib.__version__
    for mod in ("sklearn", "statsmodels", "glum", "scipy"):
        try:
            info[mod] = __import__(mod).__version__
        except ImportError:
            info[mod] = None
    try:
        from threadpoolctl import threadpool_info

        info["threadpools"] = [{k: p.get(k) for k in ("internal_api", "num_threads", "version")}
                               for p in threadpool_info()]
    except ImportError:
        pass
    return info


def fmt_s(x: float | None) -> str:
    if x is None:
        return "-"
    return f"{x * 1e3:.2f} ms" if abs(x) < 0.1 else f"{x:.3f} s"


def _fmt_ratio(r: dict) -> str:
    return "-" if r["ratio"] is None else f"{r['ratio']:.2f}{r['unit']}"


def _fmt_gate(res: dict[str, Any]) -> str:
    word = "yes" if res["agree"] else "NO"
    sc = res.get("score")
    if sc and sc["max_rel_loss_gap"] is not None:
        worst = max(v["max_gap_over_gate"] for v in sc["solvers"].values())
        word += f" (gap {sc['max_rel_loss_gap']:.1e}; {worst:.2f} x gate)"
    return word


def print_table(results: dict[str, Any], quick: bool) -> None:
    head = ("case", "jaxdl", "time", "peer", "time", "ratio", "target", "met?",
            "gate?")
    lines = [head]
    for key, res in results.items():
        if "error" in res:
            lines.append((key, "ERROR: " + res["error"].splitlines()[-1][:60],
                          "", "", "", "", "", "", "no"))
            continue
        gate = _fmt_gate(res)
        for row in res["rows"]:
            t = row["target"]
            target = met = ""
            if t is not None:
                target = f"{t['op']} {t['threshold']:g}{t['unit']}"
                met = "-" if t["met"] is None else ("yes" if t["met"] else "NO")
                if quick and t["met"] is not None:
                    met += " (quick)"
            peer_s = fmt_s(row["peer_s"]) if row["peer"] else ""
            lines.append((row["case"], row["jaxdl"], fmt_s(row["jaxdl_s"]), row["peer"], peer_s,
                          _fmt_ratio(row), target, met, gate))
    widths = [max(len(str(r[i])) for r in lines) for i in range(len(head))]
    for i, r in enumerate(lines):
        print("  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in widths))
    notes = [(k, n) for k, res in results.items() for n in res.get("notes", [])]
    if notes:
        print("\nnotes:")
        for k, n in notes:
            print(f"  {k}: {n}")
    print(f"\nscored: reported convergence by its own test and met {RULE} on the common "
          f"objective F; gate: {GATE_FORMULA}")


def jsonable(x: Any) -> Any:
    if isinstance(x, dict):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [jsonable(v) for v in x]
    if isinstance(x, np.generic | jax.Array) and np.ndim(x) == 0:
        return jsonable(np.asarray(x).item())
    if isinstance(x, np.ndarray):
        return jsonable(x.tolist())
    if isinstance(x, float) and not math.isfinite(x):
        return str(x)
    return x

