"""GET /api/v1/metrics: NPS, CSAT, CES, response rate and sentiment, from SQL aggregates."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from bot.api.params import known_flow
from bot.api.schemas import MetricsOut, MetricsQuery, SentimentSplit
from bot.http_json import query
from bot.runtime import runtime
from flows.metrics import csat, nps, response_rate
from storage.metrics import Filters, metric_totals


def get_metrics() -> Response:
    params = query(MetricsQuery)
    with runtime().session() as session:
        filters = Filters(known_flow(session, params.flow), params.channel, params.since, params.until)
        totals = metric_totals(session, filters)
    body = MetricsOut(
        sent=totals.sent,
        responses=totals.responses,
        response_rate=response_rate(totals.responses, totals.sent),
        nps=nps(totals.nps_promoters, totals.nps_detractors, totals.nps_n),
        csat=csat(totals.csat_satisfied, totals.csat_n),
        ces=round(totals.ces_mean, 2) if totals.ces_mean is not None else None,
        sentiment=SentimentSplit(positive=totals.positive, neutral=totals.neutral, negative=totals.negative),
    )
    return jsonify(body.model_dump(mode="json"))


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/metrics", "get_metrics", get_metrics, methods=["GET"])
