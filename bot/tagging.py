"""Answer -> tags: the sentiment, themes and score/comment mismatch of a response (the design's sentiment step).

Run whenever the answer changes, before routing reads the tags.
"""

from __future__ import annotations

from sqlmodel import Session

from bot.runtime import Runtime
from flows.language import ENGLISH, language_of
from flows.sentiment import UNKNOWN, mismatch, tag_sentiment
from storage.models import Response


def tag_response(rt: Runtime, response: Response, session: Session | None = None) -> None:
    """Sentiment, themes and the mismatch flag, refreshed from the comment (cleared when there is none).

    With a session, the deployment's learned model (if one is active) labels the sentiment. A comment in
    another language than English gets the sentiment `unknown` and no themes: the word lists are English."""
    response.language = language_of(response.comment) if response.comment else None
    if response.comment and response.language != ENGLISH:
        response.sentiment, response.polarity, response.themes, response.mismatch = UNKNOWN, None, [], False
    elif response.comment:
        if session is not None:
            rt.refresh_themes(session.connection())
        model = rt.sentiment_model(session.connection()) if session is not None else None
        sentiment = model.tag(response.comment) if model else tag_sentiment(response.comment)
        response.sentiment = sentiment.label
        response.polarity = sentiment.polarity
        response.themes = rt.themes(response.comment)
        response.mismatch = mismatch(response.band, sentiment)
    else:
        response.sentiment, response.polarity, response.themes, response.mismatch = None, None, [], False
