"""Email: the survey as a branded message with one link per score, sent over SMTP.

Environment: TOUCHPOINT_SMTP_URL (smtp://user:pass@host:587 uses STARTTLS when the server offers it,
smtps://... implicit TLS), TOUCHPOINT_EMAIL_FROM, TOUCHPOINT_EMAIL_REPLY_DOMAIN (the domain whose
reply+TOKEN@ addresses reach our inbound-parse webhook), and the brand: TOUCHPOINT_BRAND_NAME,
TOUCHPOINT_BRAND_COLOR, TOUCHPOINT_BRAND_LOGO_URL, TOUCHPOINT_BRAND_FOOTER (postal address).
Without TOUCHPOINT_SMTP_URL the sandbox transport stands in; the survey pages work either way.
"""

from __future__ import annotations

import json
import re
import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, replace
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid, parseaddr
from pathlib import Path
from urllib.parse import unquote, urlsplit

from jinja2 import Environment, FileSystemLoader, select_autoescape

from channels.base import ChannelError, Outbound, SendResult, Transport
from channels.email.providers import OUR_MESSAGE_ARG
from flows.questions import EndLabels, QuestionKind
from flows.texts import builtin_text, choice_labels

_COLOR = re.compile(r"#[0-9a-fA-F]{6}")
_TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"), autoescape=select_autoescape(["html"])
)


@dataclass(frozen=True)
class Brand:
    name: str = "Touchpoint"
    color: str = "#3b5bdb"
    logo_url: str | None = None
    footer: str = ""


@dataclass(frozen=True)
class EmailConfig:
    host: str
    port: int
    username: str | None
    password: str | None
    implicit_tls: bool
    sender: str
    reply_domain: str | None
    public_url: str
    brand: Brand
    timeout: float = 20.0

    def __repr__(self) -> str:  # the password stays out of logs and tracebacks
        return f"EmailConfig(host={self.host!r}, port={self.port}, sender={self.sender!r})"


def brand_from_env(env: Mapping[str, str]) -> Brand:
    color = env.get("TOUCHPOINT_BRAND_COLOR", "")
    return Brand(
        name=env.get("TOUCHPOINT_BRAND_NAME") or Brand.name,
        color=color if _COLOR.fullmatch(color) else Brand.color,
        logo_url=env.get("TOUCHPOINT_BRAND_LOGO_URL") or None,
        footer=env.get("TOUCHPOINT_BRAND_FOOTER", ""),
    )


def config_from_env(env: Mapping[str, str], public_url: str) -> EmailConfig | None:
    url = env.get("TOUCHPOINT_SMTP_URL")
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ValueError("TOUCHPOINT_SMTP_URL must look like smtp://user:pass@host:587 or smtps://host:465")
    brand = brand_from_env(env)
    sender = env.get("TOUCHPOINT_EMAIL_FROM") or env.get("EMAIL_FROM") or f"surveys@{parts.hostname}"
    return EmailConfig(
        host=parts.hostname,
        port=parts.port or (465 if parts.scheme == "smtps" else 587),
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        implicit_tls=parts.scheme == "smtps",
        sender=sender if "<" in sender else formataddr((brand.name, sender)),
        reply_domain=env.get("TOUCHPOINT_EMAIL_REPLY_DOMAIN") or None,
        public_url=public_url.rstrip("/"),
        brand=brand,
    )


def preview_config(env: Mapping[str, str], public_url: str) -> EmailConfig:
    """The configuration a survey email is composed with, for showing it: the real one, or the brand alone."""
    config = config_from_env(env, public_url)
    if config is not None:
        return config
    brand = brand_from_env(env)
    sender = env.get("TOUCHPOINT_EMAIL_FROM") or "surveys@example.com"
    return EmailConfig(host="", port=0, username=None, password=None, implicit_tls=False,
                       sender=sender if "<" in sender else formataddr((brand.name, sender)),
                       reply_domain=env.get("TOUCHPOINT_EMAIL_REPLY_DOMAIN") or None,
                       public_url=public_url.rstrip("/"), brand=brand)


@dataclass(frozen=True)
class Choice:
    score: int
    label: str
    url: str
    end: str | None = None  # what the score means, for the lowest and the highest


def choices(
    kind: QuestionKind, token: str, public_url: str, locale: str | None, labels: EndLabels | None = None
) -> list[Choice]:
    found = [Choice(score, label, f"{public_url}/s/{token}/{score}") for score, label in choice_labels(kind, locale)]
    if labels is not None and len(found) > 1:
        found[0], found[-1] = replace(found[0], end=labels.low), replace(found[-1], end=labels.high)
    return found


def compose(message: Outbound, config: EmailConfig) -> EmailMessage:
    """Plain text and HTML that render without scripts, forms or remote images in any mail client."""
    brand, locale = config.brand, message.locale
    question = message.question
    links = choices(question.kind, message.token, config.public_url, locale, question.labels) \
        if question is not None and message.token else []
    unsubscribe = f"{config.public_url}/s/{message.token}/unsubscribe" if message.token else None
    values = {"brand": brand, "text": message.text, "choices": links, "unsubscribe": unsubscribe,
              "ends": question.labels if links and question is not None else None,
              "choose": builtin_text("email_choose", locale), "lang": (locale or "en").split("-")[0],
              "unsubscribe_label": builtin_text("email_unsubscribe", locale)}
    mail = EmailMessage()
    mail["Subject"] = message.subject or builtin_text("email_subject", locale, brand=brand.name)
    mail["From"] = config.sender
    mail["To"] = message.to
    mail["Date"] = formatdate(localtime=False)
    mail["Message-ID"] = make_msgid(domain=parseaddr(config.sender)[1].rpartition("@")[2] or None)
    # Relays echo these back in their bounce and complaint events, naming our message exactly.
    ours = json.dumps({OUR_MESSAGE_ARG: mail["Message-ID"].strip("<>")})
    mail["X-SMTPAPI"] = json.dumps({"unique_args": json.loads(ours)})
    mail["X-Mailgun-Variables"] = ours
    mail[f"X-PM-Metadata-{OUR_MESSAGE_ARG}"] = mail["Message-ID"].strip("<>")
    if config.reply_domain and message.token:
        mail["Reply-To"] = f"reply+{message.token}@{config.reply_domain}"
    if unsubscribe:
        targets = [f"<{unsubscribe}>"]
        if config.reply_domain:
            targets.insert(0, f"<mailto:unsubscribe+{message.token}@{config.reply_domain}>")
        mail["List-Unsubscribe"] = ", ".join(targets)
        mail["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    mail.set_content(_TEMPLATES.get_template("email.txt").render(values))
    mail.add_alternative(_TEMPLATES.get_template("email.html").render(values), subtype="html")
    return mail


class SmtpTransport(Transport):
    name = "smtp"

    def __init__(self, config: EmailConfig) -> None:
        self.config = config

    def send(self, message: Outbound) -> SendResult:
        mail = compose(message, self.config)
        try:
            with self._connect() as smtp:
                smtp.send_message(mail)
        except smtplib.SMTPRecipientsRefused as exc:
            code, reason = next(iter(exc.recipients.values()))
            raise ChannelError(f"SMTP refused the recipient: {code} {_text(reason)}", permanent=code >= 500,
                               code=str(code)) from None
        except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as exc:
            raise ChannelError(f"SMTP {exc.smtp_code}: {_text(exc.smtp_error)}", permanent=exc.smtp_code >= 500,
                               code=str(exc.smtp_code)) from None
        except (TimeoutError, ConnectionError, ssl.SSLError, smtplib.SMTPConnectError, smtplib.SMTPHeloError,
                smtplib.SMTPAuthenticationError) as exc:
            raise ChannelError(f"could not hand the mail to the SMTP server: {type(exc).__name__}") from None
        return SendResult(provider_message_id=mail["Message-ID"].strip("<>"), transport=self.name)

    def _connect(self) -> smtplib.SMTP:
        config = self.config
        if config.implicit_tls:
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(config.host, config.port, timeout=config.timeout,
                                                  context=ssl.create_default_context())
        else:
            smtp = smtplib.SMTP(config.host, config.port, timeout=config.timeout)
            smtp.ehlo()
            if smtp.has_extn("starttls"):
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
        if config.username:
            smtp.login(config.username, config.password or "")
        return smtp


def _text(reason: bytes | str) -> str:
    return reason.decode(errors="replace") if isinstance(reason, bytes) else str(reason)
