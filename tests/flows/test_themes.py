"""Themes: the built-in taxonomy finds what a comment is about; a custom taxonomy replaces it."""

from __future__ import annotations

import pytest

from flows.themes import ThemeTagger, tag_themes


@pytest.mark.parametrize(
    ("comment", "expected"),
    [
        ("The parcel was delivered two days late", {"delivery"}),
        ("Way too expensive for what you get", {"price"}),
        ("The engineer was rude", {"staff"}),
        ("Still waiting for a call back", {"support"}),
        ("The app crashes every time I log in", {"app/website"}),
        ("router stopped working after a week", {"product"}),
    ],
)
def test_default_themes(comment: str, expected: set[str]) -> None:
    assert expected <= set(tag_themes(comment))


def test_words_match_whole_and_prefixes_only_with_a_star() -> None:
    tagger = ThemeTagger({"price": ["fee"], "delivery": ["deliver*"], "support": ["on hold"]})
    assert tagger("a small FEE") == ["price"]
    assert tagger("coffee was cold") == []
    assert tagger("Delivered fast; kept on\n hold though") == ["delivery", "support"]
    setup = ThemeTagger({"setup": ["set up*"]})
    assert setup("hard to set-up") == setup("the set upgrade") == ["setup"]
    assert setup("it sets up itself") == []


def test_empty_comments_and_empty_keyword_lists_have_no_themes() -> None:
    assert tag_themes(None) == [] and tag_themes("") == []
    assert ThemeTagger({"nothing": ["", "  "], "app": ["app"]})("the app and nothing else") == ["app"]


def test_a_custom_taxonomy_replaces_the_default() -> None:
    assert tag_themes("The parcel was late", {"logistics": ["parcel"]}) == ["logistics"]
