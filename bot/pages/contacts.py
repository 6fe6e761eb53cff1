"""/app/contacts: admins look a customer up, see every survey and answer and their consent per channel, opt a
channel back in where allowed, export everything held about them (GDPR access) and erase them.

Admins only: an agent sees the customer of the case they work on its page, and needs no search over everyone."""

from __future__ import annotations

import json

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for

from bot.contacts import AlreadyErased, ContactNotFound, OptInRefused, contact_view, erase, export, opt_in, search
from bot.pages.web import PageError, actor, admin_required
from bot.runtime import runtime

MAX_QUERY = 320


@admin_required
def contacts() -> tuple[str, int]:
    text = request.args.get("q", "")
    errors = {}
    found = None
    if len(text) > MAX_QUERY:
        errors["q"] = f"Search for at most {MAX_QUERY} characters"
    elif text.strip():
        with runtime().session() as session:
            found = search(session, text)
    return render_template("app/contacts.html", q=text, found=found, errors=errors), 422 if errors else 200


def _view(contact_id: int, status: int = 200, errors: dict[str, str] | None = None) -> tuple[str, int]:
    with runtime().session() as session:
        try:
            view = contact_view(session, contact_id)
        except ContactNotFound:
            raise PageError(404, "No such contact", "This contact does not exist.") from None
        return render_template("app/contact.html", view=view, errors=errors or {}), status


@admin_required
def contact(contact_id: int) -> tuple[str, int]:
    return _view(contact_id)


@admin_required
def opt_in_channel(contact_id: int, channel: str) -> Response | tuple[str, int]:
    field = f"confirm-{channel}"
    if request.form.get("confirm") != "yes":
        return _view(contact_id, 422, {field: "Confirm that the customer asked to hear from us again"})
    with runtime().session() as session:
        try:
            opt_in(session, contact_id, channel, actor=actor())
        except ContactNotFound:
            raise PageError(404, "No such contact", "This contact does not exist.") from None
        except OptInRefused as exc:
            refused = exc.message
        else:
            refused = None
    if refused:
        return _view(contact_id, 409, {field: refused[0].upper() + refused[1:]})
    flash(f"Opted back in to {channel}.")
    return redirect(url_for("contacts.contact", contact_id=contact_id), 303)


@admin_required
def export_contact(contact_id: int) -> Response:
    with runtime().session() as session:
        try:
            body = export(session, contact_id, actor=actor())
        except ContactNotFound:
            raise PageError(404, "No such contact", "This contact does not exist.") from None
    response = Response(json.dumps(body, indent=2, ensure_ascii=False), mimetype="application/json")
    response.headers["Content-Disposition"] = f'attachment; filename="contact-{contact_id}.json"'
    return response


@admin_required
def confirm_erase(contact_id: int) -> tuple[str, int]:
    with runtime().session() as session:
        try:
            view = contact_view(session, contact_id)
        except ContactNotFound:
            raise PageError(404, "No such contact", "This contact does not exist.") from None
        return render_template("app/contact_erase.html", view=view), 200


@admin_required
def erase_contact(contact_id: int) -> Response:
    with runtime().session() as session:
        try:
            erase(session, contact_id, actor=actor())
        except ContactNotFound:
            raise PageError(404, "No such contact", "This contact does not exist.") from None
        except AlreadyErased as exc:
            raise PageError(409, "Already erased", exc.message) from None
    flash("The contact's personal data is erased; their anonymous scores stay in the figures.")
    return redirect(url_for("contacts.contact", contact_id=contact_id), 303)


def contacts_blueprint() -> Blueprint:
    bp = Blueprint("contacts", __name__, url_prefix="/app/contacts")
    bp.add_url_rule("", "contacts", contacts, methods=["GET"])
    bp.add_url_rule("/<int:contact_id>", "contact", contact, methods=["GET"])
    bp.add_url_rule("/<int:contact_id>/consent/<channel>/opt-in", "opt_in", opt_in_channel, methods=["POST"])
    bp.add_url_rule("/<int:contact_id>/export", "export", export_contact, methods=["POST"])
    bp.add_url_rule("/<int:contact_id>/erase", "confirm_erase", confirm_erase, methods=["GET"])
    bp.add_url_rule("/<int:contact_id>/erase", "erase", erase_contact, methods=["POST"])
    return bp
