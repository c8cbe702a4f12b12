"""A rendered subject is one header line: lead data cannot add or end headers."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.shared.templating.helpers import LINK, compiled, lead


def _subject(first_name: str) -> str:
    template = compiled("<p>x</p>", subject="Hi {{ first_name }}!")
    return template.render(lead(first_name=first_name), LINK).subject


@pytest.mark.parametrize(
    ("first_name", "subject"),
    [
        ("Bob\r\nBcc: victim@evil.example", "Hi Bob Bcc: victim@evil.example!"),
        ("Bob\n\nX-Injected: 1", "Hi Bob X-Injected: 1!"),
        ("Bob\u2028Ann\x85Eve", "Hi Bob Ann Eve!"),
        ("B\x00o\x1bb\x7f", "Hi Bob!"),
        ("Zoë 👩\u200d💻\tJr", "Hi Zoë 👩\u200d💻\tJr!"),  # format characters and tab stay
    ],
)
def test_a_merge_value_cannot_break_the_subject_line(first_name: str, subject: str) -> None:
    assert _subject(first_name) == subject


@given(st.text())
def test_every_rendered_subject_is_one_trimmed_line_without_controls(value: str) -> None:
    subject = _subject(value)
    assert len(subject.splitlines()) == 1
    assert all(c == "\t" or unicodedata.category(c) != "Cc" for c in subject)
    assert subject == subject.strip()
