"""`touchpoint demo`: example flows, a few contacts and their events, ready to answer in /sandbox, a widget site
(`demo`) on the service's own origin, so the sandbox page can play the web customer too, and a demo agent and
admin for the web app, whose printed passwords need no change, so a newcomer signs in at once."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from bot.errors import UserExists
from bot.flow_admin import store_definitions
from bot.ingest import NewContact, NewEvent, ingest_event
from bot.runtime import Runtime
from bot.sites import normalize_origin
from bot.users import create_user
from channels.registry import CHANNEL_NAMES
from flows.loader import load_flows
from storage.models import Role
from storage.sandbox import SandboxContacts
from storage.sites import SiteExists, create_site, site_by_key

DEMO_FLOWS = Path(__file__).parent / "demo_flows"
DEMO_SITE_KEY = "demo"
DEMO_USERS = [("agent@demo.example.com", Role.AGENT), ("admin@demo.example.com", Role.ADMIN)]
DEMO_WEB_CUSTOMER = "demo-katherine"  # onboarding-ces asks her on the web first

DEMO_CONTACTS = [
    {
        "external_id": "demo-ada",
        "name": "Ada Lovelace",
        "phone": "+447911000001",
        "email": "ada@example.com",
        "timezone": "Europe/London",
        "locale": "en-GB",
    },
    {
        "external_id": "demo-grace",
        "name": "Grace Hopper",
        "phone": "+12025550142",
        "email": "grace@example.com",
        "slack_user_id": "U0GRACE",
        "timezone": "America/New_York",
    },
    {
        "external_id": "demo-alan",
        "name": "Alan Turing",
        "email": "alan@example.com",
        "slack_user_id": "U0ALAN",
    },
    {
        "external_id": "demo-katherine",
        "name": "Katherine Johnson",
        "phone": "+447911000004",
        "email": "katherine@example.com",
        "locale": "en",
    },
]

DEMO_EVENTS = [
    ("order.delivered", "demo-ada", {"country": "GB", "order_id": "A-1001"}),
    ("ticket.solved", "demo-grace", {"ticket_id": "T-42"}),
    ("feature.used", "demo-alan", {"feature": "exports", "first_use": True}),
    ("onboarding.completed", "demo-katherine", {"plan": "team"}),
]
# The demo's customers are the sandbox's too: /sandbox shows, changes and answers for them and its own only.
SANDBOX_CONTACTS = SandboxContacts(frozenset(c["external_id"] for c in DEMO_CONTACTS))
# What the sandbox's "Start a survey" fills in for an event type, so the demo flows match.
DEMO_PROPERTIES = {event_type: properties for event_type, _, properties in DEMO_EVENTS}


def load_demo(rt: Runtime) -> str:
    """Idempotent: running it twice adds nothing (same flows, same event keys)."""
    files = {str(path): path.read_text(encoding="utf-8") for path in sorted(DEMO_FLOWS.glob("*.yaml"))}
    definitions = load_flows(files, CHANNEL_NAMES)
    with rt.session() as session:
        imported = store_definitions(session, definitions)
    lines = [f"flows: {', '.join(item.key for item in imported)}"]
    contacts = {c["external_id"]: c for c in DEMO_CONTACTS}
    for event_type, external_id, properties in DEMO_EVENTS:
        fields = {name: value for name, value in contacts[external_id].items() if name != "external_id"}
        contact = NewContact(external_id, fields)
        result = ingest_event(rt, NewEvent(event_type, f"demo-{event_type}-{external_id}", contact, properties))
        for delivery in result.deliveries:
            when = delivery.due_at.strftime("%H:%M:%S UTC")
            lines.append(
                f"{event_type} -> {delivery.flow_key} survey for {external_id} by {delivery.channel} at {when}"
            )
        for flow, reason in result.skipped:
            lines.append(f"{event_type} -> {flow}: skipped ({reason})")
        if result.duplicate:
            lines.append(f"{event_type} for {external_id}: already loaded")
    lines.append(_demo_site(rt))
    lines.extend(_demo_users(rt))
    lines.append(f"Answer as the customer at {rt.settings.public_url}/sandbox")
    return "\n".join(lines)


def service_origin(public_url: str) -> str:
    """The origin (scheme://host[:port]) browsers send for pages under the service's public URL."""
    parts = urlsplit(public_url)
    return normalize_origin(f"{parts.scheme}://{parts.netloc}")


def _demo_site(rt: Runtime) -> str:
    """The `demo` widget site, created once, allowing the service's own origin (the /sandbox page)."""
    origin = service_origin(rt.settings.public_url)
    try:
        with rt.session() as session:
            site = site_by_key(session, DEMO_SITE_KEY)
            created = site is None
            if site is None:
                site = create_site(session, DEMO_SITE_KEY, [origin], name="Demo (sandbox)")
            origins = list(site.allowed_origins)
    except SiteExists:  # another `touchpoint demo` created it at the same moment
        with rt.session() as session:
            site = site_by_key(session, DEMO_SITE_KEY)
            assert site is not None
            created, origins = False, list(site.allowed_origins)
    where = "the sandbox's Web widget panel"
    if origin not in origins:
        return (f"web widget: site {DEMO_SITE_KEY} allows only {', '.join(origins)}, not {origin}; add it "
                f"(PATCH /api/v1/sites/{DEMO_SITE_KEY}) to play the web customer in {where}")
    state = "created" if created else "already there"
    return f"web widget: site {DEMO_SITE_KEY} {state} for {origin}; play the web customer in {where}"


def _demo_users(rt: Runtime) -> list[str]:
    """The demo agent and admin, created once; their passwords are printed then and never again."""
    lines = []
    for email, role in DEMO_USERS:
        try:
            new = create_user(rt, email, role, one_time=False)
        except UserExists:
            lines.append(f"web app: {role.value} {email} already there (`touchpoint users reset-password {email}` "
                         f"prints a new password)")
        else:
            lines.append(f"web app: {role.value} {email}, password {new.password}")
    lines.append(f"Sign in to the web app at {rt.settings.public_url}/login")
    return lines
