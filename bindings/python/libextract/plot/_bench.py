"""The benchmark picture, from ``libextract bench --json`` files: CPU against GPU
for each configuration, and the time against threads, fibres and wavelengths where
the files vary one of them."""

from __future__ import annotations

import numpy as np

from ._style import new_figure, require_data, save

__all__ = ["draw_bench"]

BACKENDS = ("cpu", "cuda")
LABELS = {"cpu": "CPU", "cuda": "GPU (CUDA)"}
SCALINGS = (("threads", "CPU threads"), ("nspec", "fibres"), ("nwave", "wavelength bins"))


def _configs(benches):
    """One entry per file: nspec, nwave, threads (of its CPU run), seconds per backend."""
    out = []
    for name, bench in benches:
        try:
            runs = {r["backend"]: r for r in bench["runs"]}
            cpu = runs.get("cpu", {})
            out.append({
                "name": name,
                "nspec": int(bench["nspec"]),
                "nwave": bench.get("nwave"),
                "threads": cpu.get("threads"),
                "seconds": {b: float(runs[b]["best_seconds"]) if b in runs and runs[b]["status"] == "ok"
                            else float("nan") for b in BACKENDS},
                "status": {b: runs[b]["status"] if b in runs else "not run" for b in BACKENDS},
            })
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{name}: not a `libextract bench --json` report ({exc})") from None
    return out


def _scaling(configs, key):
    """Configurations that differ only in ``key``, grouped: [(values, seconds per backend)]."""
    others = [k for k, _ in SCALINGS if k != key]
    groups = {}
    for c in configs:
        if c[key] is None or any(c[k] is None for k in others):
            continue
        groups.setdefault(tuple(c[k] for k in others), []).append(c)
    out = []
    for members in groups.values():
        members = sorted(members, key=lambda c: c[key])
        if len({c[key] for c in members}) >= 2:
            out.append(([c[key] for c in members], {b: [c["seconds"][b] for c in members] for b in BACKENDS}))
    return out


def _label(c):
    threads = "" if c["threads"] is None else f", {c['threads']} thr."
    nwave = "" if c["nwave"] is None else f" × {c['nwave']} λ"
    return f"{c['nspec']} fibres{nwave}{threads}"


def draw_bench(benches, path):
    """Draws ``benches`` [(name, parsed JSON)]: best wall time per backend for each
    configuration (a backend that did not run is marked "not measured", never drawn
    as a bar), and time against threads / fibres / wavelengths where the files vary
    only that; writes ``path``. Returns ``labels`` (per configuration), ``backends``,
    ``seconds`` [nconfig, nbackend] (NaN: not measured), ``status`` and ``scaling``
    {key: [(values, {backend: seconds})]}."""
    from matplotlib.patches import Patch

    configs = _configs(benches)
    seconds = np.array([[c["seconds"][b] for b in BACKENDS] for c in configs])
    require_data("bench wall times", seconds, allow_constant=True)
    scaling = {key: _scaling(configs, key) for key, _ in SCALINGS}
    panels = [key for key, _ in SCALINGS if scaling[key]]
    fig = new_figure(5.0 + 3.6 * len(panels) + 0.35 * len(configs), 4.8)
    axes = fig.subplots(1, 1 + len(panels), squeeze=False)[0]

    ax = axes[0]
    x = np.arange(len(configs))
    width = 0.38
    top = np.nanmax(seconds)
    for k, b in enumerate(BACKENDS):
        pos = x + (k - 0.5) * width
        measured = np.isfinite(seconds[:, k])
        ax.bar(pos[measured], seconds[measured, k], width, color=f"C{k}")
        for p, s in zip(pos[measured], seconds[measured, k]):
            ax.text(p, s + 0.01 * top, f"{s:.2f}", ha="center", va="bottom", fontsize=7)
        for p in pos[~measured]:
            ax.text(p, 0.03 * top, f"{LABELS[b]}:\nnot measured", ha="center", va="bottom", fontsize=7,
                    rotation=90, color="0.35")
    ax.set_xticks(x, [_label(c) for c in configs], rotation=30, ha="right", fontsize=8)
    ax.set_xlim(-0.6, len(configs) - 0.4)
    ax.set_ylim(0, top * 1.35)
    ax.set_ylabel("best wall time per frame [s]")
    ax.set_title("CPU against GPU", fontsize=10)
    ax.legend(handles=[Patch(color=f"C{k}", label=LABELS[b]) for k, b in enumerate(BACKENDS)], fontsize=8,
              loc="upper left")

    for ax, key in zip(axes[1:], panels):
        missing = set(BACKENDS)
        highest = 0.0
        for values, per_backend in scaling[key]:
            for k, b in enumerate(BACKENDS):
                y = np.array(per_backend[b])
                if np.isfinite(y).any():
                    ax.plot(values, y, marker="o", color=f"C{k}", label=LABELS[b])
                    missing.discard(b)
                    highest = max(highest, float(np.nanmax(y)))
        if missing:
            ax.text(0.5, 0.05, ", ".join(LABELS[b] for b in BACKENDS if b in missing) + ": not measured",
                    transform=ax.transAxes, ha="center", fontsize=8, color="0.35")
        ax.set_xlabel(dict(SCALINGS)[key])
        ax.set_ylabel("best wall time per frame [s]")
        ax.set_ylim(0, highest * 1.2)
        ax.set_title(f"time against {dict(SCALINGS)[key]}", fontsize=10)
        handles, names = ax.get_legend_handles_labels()
        unique = dict(zip(names, handles))
        ax.legend(unique.values(), unique.keys(), fontsize=8)
    save(fig, path)
    return {"labels": [_label(c) for c in configs], "backends": list(BACKENDS), "seconds": seconds,
            "status": [c["status"] for c in configs], "scaling": scaling}
