"""Answer -> tags: the sentiment, themes and score/comment mismatch of a response (the design's sentiment step).

Run whenever the answer changes, before routing reads the tags.
"""

from __future__ import annotations

from bot.runtime import Runtime
from flows.sentiment import mismatch, tag_sentiment
from storage.models import Response


def tag_response(rt: Runtime, response: Response) -> None:
    """Sentiment, themes and the mismatch flag, refreshed from the comment (cleared when there is none)."""
    if response.comment:
        sentiment = tag_sentiment(response.comment)
        response.sentiment = sentiment.label
        response.polarity = sentiment.polarity
        response.themes = rt.themes(response.comment)
        response.mismatch = mismatch(response.band, sentiment)
    else:
        response.sentiment, response.polarity, response.themes, response.mismatch = None, None, [], False
