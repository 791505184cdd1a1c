"""Join bench/results/*.md (each written by one benchmark) into docs/benchmarks.md."""

from __future__ import annotations

from common import RESULTS, ROOT

ORDER = [
    "summary",
    "cold_start",
    "send",
    "fanout",
    "round_trips",
    "end_to_end",
    "profile",
    "persist",
    "rest",
]


def main() -> None:
    sections = {p.stem: p.read_text().strip() for p in RESULTS.glob("*.md")}
    ordered = [sections.pop(name) for name in ORDER if name in sections]
    ordered += [sections[name] for name in sorted(sections)]
    (ROOT / "docs" / "benchmarks.md").write_text(
        "# Benchmarks\n\n"
        "Written by `make bench` (each section by one script in `bench/`). Every figure is a\n"
        "ratio to a baseline measured in the same run on the same machine; absolute times are\n"
        "for context. None of this is asserted in tests.\n\n" + "\n\n".join(ordered) + "\n"
    )


if __name__ == "__main__":
    main()
