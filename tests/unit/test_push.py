"""What a push shows: the preview is cut where a reader sees a character end."""

from __future__ import annotations

import pytest

from mayachat.push import PREVIEW_CHARS, preview


def test_a_short_text_is_shown_whole_with_its_whitespace_folded() -> None:
    assert preview("  see you\n\tat  noon ") == "see you at noon"


def test_a_long_text_is_cut_to_the_limit_with_an_ellipsis() -> None:
    cut = preview("a" * 500)
    assert (len(cut), cut[-1]) == (PREVIEW_CHARS, "…")


@pytest.mark.parametrize(
    ("whole", "name"),
    [
        ("e\u0301", "a letter and its combining accent"),
        ("👍🏽", "an emoji and its skin tone"),
        ("👩\u200d💻", "emoji joined by ZWJ"),
        ("❤\ufe0f", "a heart and its emoji presentation selector"),
        ("🇫🇷", "a flag's two regional indicators"),
    ],
)
def test_no_cut_falls_inside_what_reads_as_one_character(whole: str, name: str) -> None:
    for before in range(PREVIEW_CHARS - 6, PREVIEW_CHARS + 1):
        text = "x" * before + whole * 3 + "tail"
        shown = preview(text).removesuffix("…")
        rest = text[len(shown) :]
        assert shown + rest == text
        assert (
            not rest or rest.startswith(whole) or rest.startswith("tail") or rest.startswith("x")
        ), f"{name}: cut inside it at {len(shown)}: ...{shown[-3:]!r} | {rest[:3]!r}"
