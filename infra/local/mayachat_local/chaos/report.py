"""The run's report in markdown: one table (a row per fault, and the total), G7, the verdict,
then what each fault did, the dead letters and examples of each violation."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from mayachat_local.chaos.checker import Findings, Row, Window

COLUMNS = (
    "fault",
    "messages acked",
    "lost",
    "doubled",
    "seqs reused",
    "catch-up gaps",
    "max ack latency",
)


def table(findings: Findings) -> str:
    lines = [
        "| " + " | ".join(COLUMNS) + " |",
        "|" + "|".join(["---", *["---:"] * (len(COLUMNS) - 1)]) + "|",
    ]
    for row in findings.rows:
        lines.append(_line(row, row.window))
    lines.append(_line(findings.total, "**total**"))
    return "\n".join(lines)


def _line(row: Row, name: str) -> str:
    cells = [
        name,
        f"{row.acked}" + (f" ({row.not_acked} not acked)" if row.not_acked else ""),
        str(row.lost),
        str(row.doubled),
        str(row.reused),
        str(row.gaps),
        f"{row.max_latency:.1f} s",
    ]
    return "| " + " | ".join(cells) + " |"


def render(
    findings: Findings,
    windows: Sequence[Window],
    parameters: str,
    readers: Sequence[str],
    dead_letters: str,
    problems: Sequence[str],
) -> str:
    stale = findings.stale_connections
    g7 = (
        "pass"
        if not stale
        else f"FAIL: {sum(map(len, stale.values()))} connection ids of {len(stale)} users left "
        f"(e.g. {next(iter(stale))}: {', '.join(next(iter(stale.values()))[:3])})"
    )
    verdict = (
        "no violations"
        if findings.ok and not problems
        else "VIOLATIONS (exit code 1)"
        if findings.total.violations or stale
        else "FAILED (exit code 1)"
    )
    out = [
        "# Reliability: what every ack promised, under injected faults",
        "",
        "Written by `make chaos` (the long run; a bounded run of every fault is part of "
        "`make test`: tests/e2e/test_chaos.py). The guarantees it checks, G1-G7, and why they "
        "hold: [architecture.md](architecture.md#guarantees). How the harness works and how to "
        "run one fault: [infra/local/mayachat_local/chaos/README.md]"
        "(../infra/local/mayachat_local/chaos/README.md).",
        "",
        "## The last run",
        "",
        parameters,
        "",
        table(findings),
        "",
        f"G7 (no connection id of the workload's users left in Redis after they closed): {g7}.",
        "",
        f"Verdict: **{verdict}**.",
        "",
        "### What each fault did",
        "",
    ]
    for window, row in zip(windows, findings.rows, strict=True):
        answers = ", ".join(f"{a} {n}" for a, n in row.answers.most_common())
        tries = f"{row.acked + row.not_acked} sends, {row.resent} resent" + (
            f" (answers before the last try: {answers})" if answers else ""
        )
        out.append(f"- **{window.name}**: " + "; ".join([*window.notes, tries]))
    out += ["", f"Readers (cursor-based catch-up): {', '.join(readers)}.", ""]
    out += [f"Dead-letter topic after the run: {dead_letters}.", ""]
    if findings.lost_dead_lettered:
        why = ", ".join(f"{r}: {n}" for r, n in sorted(findings.lost_dead_lettered.items()))
        out += [f"Where the lost messages went: {why}.", ""]
    if problems:
        out += ["### Problems of the run itself", "", *[f"- {p}" for p in problems], ""]
    if findings.examples:
        out += ["### Examples", ""]
        for kind, examples in findings.examples.items():
            out += [f"{kind}:", "", *[f"- {e}" for e in examples], ""]
    out += [
        "Columns: per send (sender, clientMsgId; its resends are the same send), counted in "
        "the window (the fault and the quiet time after it) in which it completed: its first "
        "ack, or when the phone gave up on it. *messages acked*: sends with an ack (not acked: "
        "given up, never counted as lost). *lost*: acked, but no ack's messageId is in MongoDB "
        "with the ack's room and seq. *doubled*: extra messageIds one send exists under (acks, "
        "MongoDB, readers' answers). *seqs reused*: (room, seq) naming more than one messageId. "
        "*catch-up gaps*: (reader, acked send) pairs where the reader, syncing only from its "
        "cursor, never got the send. *max ack latency*: first send to first ack.",
        "",
    ]
    return "\n".join(out)


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
