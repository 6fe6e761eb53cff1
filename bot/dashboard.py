"""The insights dashboard as plain data: headline figures with their change, scores per segment, sentiment over
time, themes by volume and by impact, mismatches and how the queues closed the loop.

Every figure comes from bot.insights' arithmetic (the same intervals and tests of change as the API), over the
tallies or, for what the tallies do not hold (a segment no admin picked, the comment lists), the responses of
the range read through an index (storage.dashboard).
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta

from bot.audit import record
from bot.estimates import Counts, change, estimate
from bot.insights import (
    BUCKETS,
    METRICS,
    BadInsightQuery,
    Summary,
    bucket_start,
    next_bucket,
    score_summary,
)
from bot.runtime import Runtime
from flows.intervals import Change, Estimate, ces_estimate, difference
from storage.cases import QueueFigures, queue_figures
from storage.dashboard import (
    SEGMENT_SOURCES,
    Comment,
    Window,
    daily_sentiments,
    mismatches,
    segment_stats,
    tallied_stats,
    theme_days,
    theme_examples,
    theme_stats,
)
from storage.db import read_session
from storage.followups import list_queues
from storage.insights import Scope, daily_scores
from storage.segments import is_picked, pick, picked, unpick

# The headline compares the last period of the bucket's length with the one before: rolling, so a drop in the
# last days shows whatever the day of the week.
PERIOD_DAYS = {"day": 1, "week": 7, "month": 30}
DEFAULT_DAYS = 84
MAX_DAYS = 3 * 366
TOP_THEMES = 10
TOP_SEGMENTS = 20
SENTIMENTS = ("negative", "neutral", "positive")
_KEY = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


@dataclass(frozen=True)
class Filters:
    """What the dashboard covers: answers of [since, until) (whole UTC days), one flow, channel, queue."""

    since: date
    until: date
    metric: str = "nps"
    bucket: str = "week"
    flow: str | None = None
    channel: str | None = None
    queue: str | None = None
    segment: str | None = None  # flow, channel, contact.<attribute> or event.<property>


def check_filters(f: Filters) -> None:
    """Raises BadInsightQuery naming the first field the dashboard cannot answer."""
    if f.metric not in METRICS:
        raise BadInsightQuery("metric", f"must be one of {', '.join(METRICS)}")
    if f.bucket not in BUCKETS:
        raise BadInsightQuery("bucket", f"must be one of {', '.join(BUCKETS)}")
    if f.since >= f.until:
        raise BadInsightQuery("to", "must be on or after the start date")
    if (f.until - f.since).days > MAX_DAYS:
        raise BadInsightQuery("from", "the range is longer than three years: pick a shorter one")
    if f.segment:
        segment_parts(f.segment)


def segment_parts(segment: str) -> tuple[str, str | None]:
    """("flow"|"channel", None) or ("contact"|"event", key)."""
    if segment in ("flow", "channel"):
        return segment, None
    source, _, key = segment.partition(".")
    if source not in SEGMENT_SOURCES or not _KEY.match(key):
        raise BadInsightQuery("segment", "must be flow, channel, contact.<attribute> or event.<property> "
                              "(letters, digits, _ . -)")
    return source, key


# Headline.

@dataclass(frozen=True)
class Headline:
    metric: str
    summary: Summary


def headlines(rt: Runtime, f: Filters) -> list[Headline]:
    """NPS, CSAT and CES over the last period (a day, 7 or 30 days up to `until`) against the one before."""
    since = max(f.until - timedelta(days=PERIOD_DAYS[f.bucket]), f.since)
    return [Headline(metric, score_summary(rt, metric, since, f.until, flow=f.flow, channel=f.channel))
            for metric in METRICS]


# Segments.

@dataclass(frozen=True)
class SegmentRow:
    value: str
    current: Estimate
    previous: Estimate
    change: Change


def _window(f: Filters) -> Window:
    return Window(f.since, f.until, f.since - (f.until - f.since), f.flow, f.channel)


def segments(rt: Runtime, f: Filters) -> list[SegmentRow]:
    """The metric per value of the segment over the range, against the period before; most answers first. From
    the tallies for flow, channel and the picked segments; a key not picked is counted from the answers."""
    if not f.segment:
        return []
    source, key = segment_parts(f.segment)
    window = _window(f)
    per: dict[str, tuple[Counts, Counts]] = defaultdict(lambda: (Counts(), Counts()))
    with read_session(rt.engine) as session:
        if key is None or is_picked(session, f.segment):
            stats = tallied_stats(session, window, f.metric, f.segment)
        else:
            stats = segment_stats(session, window, f.metric, source, key)
    for s in stats:
        per[s.group][0 if s.current else 1].add_band(s.band, s.n, s.total, s.squares)
    ranked = sorted(per.items(), key=lambda item: (-item[1][0].n, item[0]))[:TOP_SEGMENTS]
    return [SegmentRow(value, estimate(f.metric, now), estimate(f.metric, before),
                       change(f.metric, now, before)) for value, (now, before) in ranked]


def tallied_segments(rt: Runtime) -> list[str]:
    """The contact attributes and event properties an admin picked: the dashboard reads them from tallies."""
    with read_session(rt.engine) as session:
        return picked(session)


def pick_segment(rt: Runtime, segment: str, by: str) -> bool:
    """Tally a contact attribute or event property from now on, counting the answers already stored (a few
    seconds over a million answers, answers waiting meanwhile); False when it was already. Audited."""
    source, key = segment_parts(segment)
    if key is None:
        raise BadInsightQuery("segment", "flow and channel are always tallied: pick a contact attribute or an "
                              "event property")
    with rt.session() as session:
        done = pick(session, segment, by)
        if done:
            record(session, by, "settings", f"segment {segment}", "tallied")
    return done


def unpick_segment(rt: Runtime, segment: str, by: str) -> bool:
    """Stop tallying a segment (its tallies are dropped); the dashboard counts it from the answers again."""
    segment_parts(segment)
    with rt.session() as session:
        done = unpick(session, segment)
        if done:
            record(session, by, "settings", f"segment {segment}", "untallied")
    return done


# Sentiment over time.

@dataclass(frozen=True)
class SentimentPoint:
    start: date
    counts: dict[str, int]  # negative, neutral, positive: comments so tagged

    @property
    def comments(self) -> int:
        return sum(self.counts.values())

    def share(self, sentiment: str) -> float | None:
        return 100 * self.counts[sentiment] / self.comments if self.comments else None


def _buckets(f: Filters) -> list[date]:
    starts = []
    start = bucket_start(f.since, f.bucket)
    while start < f.until:
        starts.append(start)
        start = next_bucket(start, f.bucket)
    return starts


def sentiment_series(rt: Runtime, f: Filters) -> list[SentimentPoint]:
    with read_session(rt.engine) as session:
        rows = daily_sentiments(session, _window(f))
    per = {start: dict.fromkeys(SENTIMENTS, 0) for start in _buckets(f)}
    for day, sentiment, n in rows:
        if sentiment in SENTIMENTS:
            per[bucket_start(day, f.bucket)][sentiment] += n
    return [SentimentPoint(start, counts) for start, counts in per.items()]


# Themes.

@dataclass(frozen=True)
class TrendPoint:
    """A theme's scored answers in one bucket; `start` is the bucket's first day inside the range, `partial`
    when the range cuts the bucket (the current week so far), so a short last bucket is not read as a fall."""

    start: date
    answers: int
    partial: bool


@dataclass(frozen=True)
class ThemeRow:
    """A theme's volume now and in the period before, and its impact: the mean score of the answers with it
    minus that of the answers without it, with the interval of that difference."""

    theme: str
    volume: int
    previous_volume: int
    with_theme: Estimate
    without_theme: Estimate
    impact: Change
    examples: list[Comment] = field(default_factory=list)
    trend: list[TrendPoint] = field(default_factory=list)


def themes(rt: Runtime, f: Filters) -> list[ThemeRow]:
    """The TOP_THEMES most frequent themes of the range, each with two example comments and its answers per
    bucket of the range."""
    window = _window(f)
    with read_session(rt.engine) as session:
        stats = theme_stats(session, window, f.metric)
        totals = [r for r in daily_scores(session, Scope(f.flow, f.channel, f.since, f.until))
                  if r.question == f.metric]
        all_n = sum(r.scored for r in totals)
        all_sum = sum(r.score_sum for r in totals)
        all_sq = sum(r.score_sq_sum for r in totals)
        now: dict[str, Counts] = defaultdict(Counts)
        before: dict[str, int] = defaultdict(int)
        for s in stats:
            if s.current:
                now[s.group].add_band(s.band, s.n, s.total, s.squares)
            else:
                before[s.group] += s.n
        rows = []
        for theme, c in sorted(now.items(), key=lambda item: (-item[1].n, item[0]))[:TOP_THEMES]:
            with_theme = ces_estimate(c.n, c.total, c.squares)
            without = ces_estimate(all_n - c.n, all_sum - c.total, all_sq - c.squares)
            rows.append(ThemeRow(theme, c.n, before.get(theme, 0), with_theme, without,
                                 difference(with_theme, without), theme_examples(session, window, theme)))
        days = theme_days(session, window, f.metric, [row.theme for row in rows])
    starts = _buckets(f)
    per: dict[str, dict[date, int]] = {row.theme: dict.fromkeys(starts, 0) for row in rows}
    for day, theme, n in days:
        per[theme][bucket_start(day, f.bucket)] += n
    return [replace(row, trend=[TrendPoint(max(start, f.since), n,
                                           start < f.since or next_bucket(start, f.bucket) > f.until)
                                for start, n in per[row.theme].items()]) for row in rows]


def by_impact(rows: list[ThemeRow]) -> list[ThemeRow]:
    """Worst first: the themes that pull the score down most; those without enough answers last."""
    return sorted(rows, key=lambda r: (r.impact.delta is None, r.impact.delta or 0.0, r.theme))


def latest_mismatches(rt: Runtime, f: Filters, limit: int = 20) -> list[Comment]:
    with read_session(rt.engine) as session:
        return mismatches(session, _window(f), limit)


# Closing the loop.

@dataclass(frozen=True)
class Loop:
    """The queues' figures for the cases opened in the range from the filters' flow and channel, summed (or the one
    queue asked for)."""

    figures: QueueFigures | None


def closing_the_loop(rt: Runtime, f: Filters, now: datetime | None = None) -> Loop:
    since = datetime.combine(f.since, time(0), tzinfo=UTC)
    until = datetime.combine(f.until, time(0), tzinfo=UTC)
    with read_session(rt.engine) as session:
        ids = {q.id: q.key for q in list_queues(session)}
        figures = queue_figures(session, since, until, now or datetime.now(UTC), flow=f.flow, channel=f.channel)
    if f.queue:
        if f.queue not in ids.values():
            raise BadInsightQuery("queue", "no queue has this key")
        chosen = [fig for qid, fig in figures.items() if ids.get(qid) == f.queue]
    else:
        chosen = list(figures.values())
    return Loop(_sum(chosen) if chosen else None)


def _mean(pairs: list[tuple[float | None, int]]) -> float | None:
    weight = sum(n for value, n in pairs if value is not None)
    return sum(value * n for value, n in pairs if value is not None) / weight if weight else None


def _sum(figures: list[QueueFigures]) -> QueueFigures:
    return QueueFigures(
        cases=sum(x.cases for x in figures),
        replied=sum(x.replied for x in figures),
        first_response_seconds=_mean([(x.first_response_seconds, x.replied) for x in figures]),
        resolved=sum(x.resolved for x in figures),
        resolution_seconds=_mean([(x.resolution_seconds, x.resolved) for x in figures]),
        resolved_in_time=sum(x.resolved_in_time for x in figures),
        overdue_open=sum(x.overdue_open for x in figures),
        rechecks_answered=sum(x.rechecks_answered for x in figures),
        recovered=sum(x.recovered for x in figures),
    )


def queue_keys(rt: Runtime) -> list[str]:
    with read_session(rt.engine) as session:
        return [q.key for q in list_queues(session)]
