"""Join bench/results/*.md (each written by one benchmark) into docs/benchmarks.md."""

from __future__ import annotations

import re

from common import RESULTS, ROOT

ORDER = [
    "summary",
    "cold_start",
    "cold_session",
    "send",
    "fanout",
    "round_trips",
    "end_to_end",
    "profile",
    "persist",
    "rest",
    "flood",
    "cold_burst",
    "notify",
    "presence",
]


def verdicts(sections: dict[str, str]) -> str:
    """Each section's "Verdict:" paragraph, under its heading, as the report's summary."""
    lines = ["## Summary", "", "| benchmark | verdict |", "|---|---|"]
    for name in ORDER:
        text = sections.get(name)
        if text is None or "\nVerdict: " not in text:
            continue
        title = text.splitlines()[0].removeprefix("## ")
        paragraph = text.split("\nVerdict: ", 1)[1].split("\n\n", 1)[0]
        anchor = re.sub(r"[^a-z0-9 -]", "", title.lower()).replace(" ", "-")
        lines.append(f"| [{title}](#{anchor}) | {' '.join(paragraph.split())} |")
    return "\n".join(lines)


def main() -> None:
    sections = {p.stem: p.read_text().strip() for p in RESULTS.glob("*.md")}
    sections["summary"] = verdicts(sections)
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
