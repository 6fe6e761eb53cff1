"""/api/v1/sites: the web apps that embed the widget. The secret is shown once, when a site is created."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from bot.api.errors import not_found
from bot.api.schemas import SiteCreated, SiteIn, SiteList, SiteOut, SitePatch
from bot.http_json import ApiError, json_body
from bot.runtime import runtime
from storage.models import Site
from storage.sites import SiteExists, create_site, list_sites, site_by_key


def site_out(site: Site) -> SiteOut:
    return SiteOut(key=site.key, name=site.name, public_key=site.public_key, allowed_origins=site.allowed_origins,
                   recontact_days=site.recontact_days, created_at=site.created_at)


def list_all() -> Response:
    with runtime().session() as session:
        items = [site_out(site) for site in list_sites(session)]
    return jsonify(SiteList(items=items).model_dump(mode="json"))


def create() -> tuple[Response, int]:
    payload = json_body(SiteIn)
    try:
        with runtime().session() as session:
            site = create_site(session, payload.key, payload.allowed_origins, payload.recontact_days, payload.name)
            body = SiteCreated(**site_out(site).model_dump(), secret=site.secret)
    except SiteExists:
        raise ApiError(409, "conflict", f"site {payload.key} exists already",
                       [{"field": "key", "message": "taken"}]) from None
    return jsonify(body.model_dump(mode="json")), 201


def get_one(key: str) -> Response:
    with runtime().session() as session:
        site = site_by_key(session, key)
        if site is None:
            raise not_found("site", key)
        return jsonify(site_out(site).model_dump(mode="json"))


def patch(key: str) -> Response:
    payload = json_body(SitePatch)
    with runtime().session() as session:
        site = site_by_key(session, key)
        if site is None:
            raise not_found("site", key)
        if payload.name is not None:
            site.name = payload.name
        if payload.allowed_origins is not None:
            site.allowed_origins = payload.allowed_origins
        if payload.recontact_days is not None:
            site.recontact_days = payload.recontact_days
        session.add(site)
        session.flush()
        return jsonify(site_out(site).model_dump(mode="json"))


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/sites", "list_sites", list_all, methods=["GET"])
    bp.add_url_rule("/sites", "create_site", create, methods=["POST"])
    bp.add_url_rule("/sites/<key>", "get_site", get_one, methods=["GET"])
    bp.add_url_rule("/sites/<key>", "patch_site", patch, methods=["PATCH"])
