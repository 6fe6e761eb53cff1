"""Metric maths: NPS = %promoters - %detractors; CSAT = % of 4-5; CES = mean; response rate = answered / sent."""

from __future__ import annotations


def nps(promoters: int, detractors: int, total: int) -> float | None:
    return round((promoters - detractors) * 100 / total, 1) if total else None


def csat(satisfied: int, total: int) -> float | None:
    return round(satisfied * 100 / total, 1) if total else None


def response_rate(answered: int, sent: int) -> float | None:
    return round(answered / sent, 4) if sent else None
