"""Plots for docs/benchmarks.md from the raw samples the benchmarks saved (bench/results/*.json):
the send path (now, before, raw produce), the fan-out by room size, and the ack-to-MongoDB lag.
A plot whose samples are missing is skipped.

    .venv/bin/python bench/plots.py
"""

from __future__ import annotations

import json
import statistics
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt
from common import RESULTS, ROOT

IMAGES = ROOT / "docs" / "img"


def load(name: str) -> Any:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def by_label(samples: dict[str, list[float]]) -> dict[str, dict[int, list[float]]]:
    """{"now:10": [...]} -> {"now": {10: [...]}}"""
    out: dict[str, dict[int, list[float]]] = {}
    for key, values in samples.items():
        if ":" in key:
            label, n = key.split(":")
            out.setdefault(label, {})[int(n)] = values
    return out


def send_path(samples: dict[str, list[float]]) -> None:
    series = by_label(samples)
    levels = sorted(series["now"])
    fig, ax = plt.subplots(figsize=(7, 4))
    width = 0.35
    for offset, label in ((-width / 2, "before"), (width / 2, "now")):
        if label not in series:
            continue
        data = [[t * 1000 for t in series[label][n]] for n in levels]
        ax.boxplot(
            data,
            positions=[i + offset for i in range(len(levels))],
            widths=width * 0.9,
            showfliers=False,
            patch_artist=True,
            boxprops={"facecolor": "#c6dbef" if label == "before" else "#6baed6"},
            label=label,
        )
    if "alone" in samples:
        alone = statistics.median(samples["alone"]) * 1000
        label = f"handler alone p50 ({alone:.1f} ms)"
        ax.axhline(alone, color="#2ca02c", linestyle="-.", label=label)
    raw = statistics.median(samples["raw"]) * 1000
    ax.axhline(raw, color="#d62728", linestyle="--", label=f"raw produce p50 ({raw:.1f} ms)")
    ax.axhline(raw * 1.5, color="#d62728", linestyle=":", label="target (1.5x raw)")
    ax.set_xticks(range(len(levels)), [str(n) for n in levels])
    ax.set_yscale("log")
    ax.set_xlabel("concurrent senders")
    ax.set_ylabel("frame -> ack (ms, log)")
    ax.set_title("Send path through the local gateway")
    ax.legend(fontsize=8)
    save(fig, "send_path.png")


def fanout(samples: dict[str, list[float]]) -> None:
    series = by_label(samples)
    fig, ax = plt.subplots(figsize=(7, 4))
    names = {"now": "sendMessage (now)", "before": "sendMessage (before)", "posts": "posts alone"}
    for label, points in series.items():
        sizes = sorted(points)
        ax.plot(
            sizes,
            [statistics.median(points[n]) * 1000 for n in sizes],
            marker="o",
            label=names.get(label, label),
        )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("online members in the room")
    ax.set_ylabel("send -> last member p50 (ms, log)")
    ax.set_title("Fan-out through the local gateway")
    ax.legend(fontsize=8)
    save(fig, "fanout.png")


def lag(lags: list[float]) -> None:
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.hist([t * 1000 for t in lags], bins=40, color="#6baed6")
    p50 = statistics.median(lags) * 1000
    ax.axvline(p50, color="#d62728", linestyle="--", label=f"p50 {p50:.0f} ms")
    ax.set_xlabel("ack -> visible in MongoDB (ms)")
    ax.set_ylabel("messages")
    ax.set_title("End to end: ack to MongoDB")
    ax.legend(fontsize=8)
    save(fig, "end_to_end_lag.png")


def save(fig: Any, name: str) -> None:
    IMAGES.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(IMAGES / name, dpi=110)
    plt.close(fig)
    print(f"wrote docs/img/{name}")


def main() -> None:
    if (send := load("send")) is not None:
        send_path(send)
    if (fan := load("fanout")) is not None:
        fanout(fan)
    if (lags := load("end_to_end_lags")) is not None:
        lag(lags)


if __name__ == "__main__":
    main()
