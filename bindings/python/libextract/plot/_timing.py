"""The stage-times picture, from ``libextract extract --timing``'s JSON."""

from __future__ import annotations

import numpy as np

from ._style import new_figure, require_data, save

__all__ = ["draw_stages"]

PHASES = (("read", "read_seconds"), ("extract", "extract_seconds"), ("write", "write_seconds"),
          ("total", "total_seconds"))


def _bars(ax, labels, seconds, colour):
    y = np.arange(len(labels))[::-1]
    ax.barh(y, seconds, color=colour, height=0.6)
    ax.set_yticks(y, labels)
    top = max(seconds) if len(seconds) else 1.0
    for yy, s in zip(y, seconds):
        ax.text(s + 0.01 * top, yy, f"{s:.3g} s", va="center", fontsize=8)
    ax.set_xlim(0, top * 1.18)


def draw_stages(timing, path):
    """Draws the per-stage times and the process's read/extract/write/total wall times of
    a timing report (``libextract extract --timing``); writes ``path``. Returns
    ``stages`` (names), ``backends``, ``seconds`` (per stage), ``phases`` (names) and
    ``phase_seconds``."""
    try:
        stages = [s["name"] for s in timing["stages"]]
        backends = [s["backend"] for s in timing["stages"]]
        seconds = [float(s["seconds"]) for s in timing["stages"]]
        phase_seconds = [float(timing[key]) for _, key in PHASES]
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"timing report: missing or malformed entry ({exc})") from None
    require_data("stage times", seconds)
    fig = new_figure(11.0, 4.6)
    left, right = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.4, 1]})
    _bars(left, [f"{n} ({b})" for n, b in zip(stages, backends)], seconds, "C0")
    left.set_xlabel("seconds (cpu stages: thread-seconds, summed over threads)")
    threads = timing.get("threads")
    threads = "threads: OpenMP's default" if not threads else f"{threads} threads"
    left.set_title(f"stages: {timing.get('patches', '?')} patches, backend {timing.get('backend', '?')}, {threads}",
                   fontsize=10)
    _bars(right, [name for name, _ in PHASES], phase_seconds, "C2")
    right.set_xlabel("wall-clock seconds")
    right.set_title("the whole process", fontsize=10)
    save(fig, path)
    return {"stages": stages, "backends": backends, "seconds": seconds, "phases": [n for n, _ in PHASES],
            "phase_seconds": phase_seconds}
