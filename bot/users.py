"""People who sign in to the web app: accounts, one-time passwords, signing in and its limits.

An admin (or the CLI) creates a user with a one-time password, shown once; the user must choose their own at
first sign-in. Failed sign-ins are counted in the database per account and per client address, so every web
process refuses the same ones. A user's sessions carry their `session_epoch`: setting or resetting the
password, disabling the account and signing out raise it, which ends every session they have.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import math
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from sqlmodel import Session
from werkzeug.security import check_password_hash, generate_password_hash

from bot.audit import SYSTEM, record
from bot.errors import (
    AccountDisabled,
    LastAdmin,
    PasswordRejected,
    SignInRefused,
    TooManySignIns,
    UserExists,
    UserNotFound,
)
from bot.runtime import Runtime
from flows.inputs import unstorable
from storage import users as stored
from storage.models import Role, User
from storage.types import utcnow

log = logging.getLogger(__name__)

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024
MAX_EMAIL_LENGTH = 320
# werkzeug's current default. A stored hash made otherwise (an older default) is made again at the next sign-in.
PASSWORD_METHOD = "scrypt:32768:8:1"
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")


@dataclass(frozen=True)
class Account:
    """A user as the pages and the CLI see them: never the password hash."""

    id: int
    email: str
    role: Role
    must_change_password: bool
    session_epoch: int
    disabled_at: datetime | None
    created_at: datetime
    last_sign_in_at: datetime | None
    digest: bool = False  # the daily email of their open cases

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    @property
    def state(self) -> str:
        if self.disabled_at is not None:
            return "disabled"
        return "one-time password" if self.must_change_password else "active"


@dataclass(frozen=True)
class NewPassword:
    """A password made for a user, shown once and stored only as a hash."""

    account: Account
    password: str


def normalize_email(text: str) -> str:
    """The email as stored (trimmed, lower case); a ValueError says why it is not one."""
    email = text.strip().lower()
    if not email:
        raise ValueError("is required")
    problem = unstorable(email)
    if problem:
        raise ValueError(problem)
    if len(email) > MAX_EMAIL_LENGTH:
        raise ValueError(f"is longer than {MAX_EMAIL_LENGTH} characters")
    if not _EMAIL.fullmatch(email):
        raise ValueError("is not an email address")
    return email


def create_user(rt: Runtime, email: str, role: Role, *, one_time: bool = True, actor: str = SYSTEM) -> NewPassword:
    """A new user with a random password; a one-time one must be changed at first sign-in."""
    password = _new_password()
    with rt.session() as session:
        try:
            user = stored.create_user(session, email, role.value, _hash(password), must_change_password=one_time)
        except stored.UserExists:
            raise UserExists(email) from None
        account = _account(user)
        record(session, actor, "user", email, "created", role=role.value)
    log.info("user created user=%d role=%s", account.id, role.value)
    return NewPassword(account, password)


def list_users(rt: Runtime) -> list[Account]:
    with rt.session() as session:
        return [_account(user) for user in stored.list_users(session)]


def set_disabled(rt: Runtime, who: int | str, disabled: bool, *, actor: str = SYSTEM) -> Account:
    """Disable (ending every session at once) or enable a user. The last enabled admin stays enabled."""
    with rt.session() as session:
        user = _user(session, who)
        if disabled and user.disabled_at is None:
            if user.role == Role.ADMIN and stored.enabled_admins(session) <= 1:
                raise LastAdmin(f"{user.email} is the only enabled admin; make another admin first")
            user.disabled_at = utcnow()
            stored.end_sessions(user)
        elif not disabled:
            user.disabled_at = None
        session.add(user)
        account = _account(user)
        record(session, actor, "user", user.email, "disabled" if disabled else "enabled")
    log.info("user %s user=%d", "disabled" if disabled else "enabled", account.id)
    return account


def reset_password(rt: Runtime, who: int | str, *, actor: str = SYSTEM) -> NewPassword:
    """A new one-time password; the user's sessions end, and they choose their own at the next sign-in."""
    password = _new_password()
    with rt.session() as session:
        user = _user(session, who)
        user.password_hash = _hash(password)
        user.must_change_password = True
        stored.end_sessions(user)
        session.add(user)
        account = _account(user)
        record(session, actor, "user", user.email, "password_reset")
    log.info("password reset user=%d", account.id)
    return NewPassword(account, password)


def change_password(rt: Runtime, user_id: int, new: str, *, current: str | None = None) -> Account:
    """The user's own password, replacing a one-time one or, with `current`, their previous one. Every other
    session of theirs ends: the caller starts this one again with the returned epoch."""
    with rt.session() as session:
        user = _user(session, user_id)
        stored_hash = user.password_hash or ""
        if current is not None and not check_password_hash(stored_hash or _dummy_hash(), current):
            raise PasswordRejected("current_password", "is not your current password")
        _check_new_password(new, user.email)
        if stored_hash and check_password_hash(stored_hash, new):
            which = "one-time password" if user.must_change_password else "current password"
            raise PasswordRejected("new_password", f"must differ from your {which}")
        user.password_hash = _hash(new)
        user.must_change_password = False
        stored.end_sessions(user)
        session.add(user)
        account = _account(user)
    log.info("password changed user=%d", account.id)
    return account


def sign_in(rt: Runtime, email: str, password: str, address: str) -> Account:
    """The account, or SignInRefused (TooManySignIns, AccountDisabled) with a message that never tells whether the
    account exists. The attempt is recorded as a failure before the password is checked, so that parallel
    attempts count each other in every process; a success takes it back."""
    settings = rt.settings
    login = email.strip().lower()
    account_key, address_key = _digest(login), _digest(address_bucket(address))
    now = utcnow()
    since = now - timedelta(seconds=settings.sign_in_window_seconds)
    with rt.session() as session:
        attempt = stored.add_failure(session, account_key, address_key, now)
        stored.prune_failures(session, since)
    with rt.session() as session:
        by_account, by_address = stored.count_failures(session, account_key, address_key, since)
        over = "account" if by_account > settings.sign_in_failures_per_account else \
            "address" if by_address > settings.sign_in_failures_per_address else None
        if over:
            stored.forget_failure(session, attempt)
    if over:
        log.warning("sign-in refused: too many failures for the %s", over)
        minutes = math.ceil(settings.sign_in_window_seconds / 60)
        raise TooManySignIns(f"Too many failed sign-ins. Wait {minutes} minute{'s' if minutes != 1 else ''} and "
                             f"try again.", settings.sign_in_window_seconds)

    refused: SignInRefused | None = None
    with rt.session() as session:
        user = None if unstorable(login) or len(login) > MAX_EMAIL_LENGTH else stored.user_by_email(session, login)
        # An unknown account costs the same hash as a known one, so the time taken tells nothing either.
        right = check_password_hash((user and user.password_hash) or _dummy_hash(), password)
        if user is None or not user.password_hash or not right:
            log.warning("sign-in failed user=%s", user.id if user else "-")
            raise SignInRefused("Wrong email or password.")
        stored.forget_failure(session, attempt)
        if user.disabled_at is not None:
            log.warning("sign-in refused: disabled user=%d", user.id)
            refused = AccountDisabled("This account is disabled. Ask an admin to enable it.")
        else:
            stored.forget_account_failures(session, account_key)
            user.last_sign_in_at = now
            if not user.password_hash.startswith(PASSWORD_METHOD + "$"):
                user.password_hash = _hash(password)
            session.add(user)
            account = _account(user)
    if refused is not None:
        raise refused
    log.info("sign-in user=%d", account.id)
    return account


def sign_out(rt: Runtime, user_id: int) -> None:
    """Ends every session of the user: a cookie copied before signing out is worth nothing after it."""
    with rt.session() as session:
        user = stored.user_by_id(session, user_id)
        if user is not None:
            stored.end_sessions(user)
            session.add(user)
    log.info("sign-out user=%d", user_id)


def session_account(rt: Runtime, user_id: int, epoch: int) -> Account | None:
    """The account a session names, while that session still holds: same epoch, not disabled."""
    with rt.session() as session:
        user = stored.user_by_id(session, user_id)
        if user is None or user.session_epoch != epoch or user.disabled_at is not None:
            return None
        return _account(user)


def address_bucket(address: str) -> str:
    """What the per-address limit counts: the IPv4 address, or the /64 an IPv6 address is in (one client
    usually holds a whole /64)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network(f"{ip}/64", strict=False))
    return str(ip)


def _check_new_password(password: str, email: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise PasswordRejected("new_password", f"must be at least {MIN_PASSWORD_LENGTH} characters long")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise PasswordRejected("new_password", f"must be at most {MAX_PASSWORD_LENGTH} characters long")
    if not password.strip():
        raise PasswordRejected("new_password", "must not be only spaces")
    if password.strip().lower() == email.lower():
        raise PasswordRejected("new_password", "must not be your email")


def _user(session: Session, who: int | str) -> User:
    user = stored.user_by_id(session, who) if isinstance(who, int) else stored.user_by_email(session, who)
    if user is None:
        raise UserNotFound(who)
    return user


def _account(user: User) -> Account:
    assert user.id is not None
    return Account(id=user.id, email=user.email, role=Role(user.role), must_change_password=user.must_change_password,
                   session_epoch=user.session_epoch, disabled_at=user.disabled_at, created_at=user.created_at,
                   last_sign_in_at=user.last_sign_in_at, digest=user.digest)


def _new_password() -> str:
    return secrets.token_urlsafe(12)


def _hash(password: str) -> str:
    return generate_password_hash(password, method=PASSWORD_METHOD)


@cache
def _dummy_hash() -> str:
    return _hash(secrets.token_urlsafe(16))


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
