"""Users of the web app, and the failed sign-ins every process counts together."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from storage.models import SignInFailure, User

MAX_ID = 2**31 - 1


class UserExists(Exception):
    """A user with this email is already there."""


def create_user(session: Session, email: str, role: str, password_hash: str, *, must_change_password: bool) -> User:
    if user_by_email(session, email) is not None:
        raise UserExists(email)
    user = User(email=email, role=role, password_hash=password_hash, must_change_password=must_change_password)
    session.add(user)
    try:
        session.flush()
    except sa.exc.IntegrityError:  # created by another process in the meantime
        raise UserExists(email) from None
    return user


def user_by_email(session: Session, email: str) -> User | None:
    return session.exec(select(User).where(User.email == email)).first()


def user_by_id(session: Session, user_id: int) -> User | None:
    """None for an id no row can have (the ids are 32-bit), as for one that does not exist."""
    if not 0 < user_id <= MAX_ID:
        return None
    return session.get(User, user_id)


def list_users(session: Session) -> list[User]:
    return list(session.exec(select(User).order_by(col(User.email))).all())


def enabled_admins(session: Session) -> int:
    query = select(func.count()).select_from(User).where(User.role == "admin", col(User.disabled_at).is_(None))
    return session.exec(query).one()


def admin_emails(session: Session) -> list[str]:
    """The enabled admins' emails, for what every admin must hear of (a webhook disabled)."""
    query = select(User.email).where(User.role == "admin", col(User.disabled_at).is_(None)).order_by(col(User.email))
    return list(session.exec(query).all())


def end_sessions(user: User) -> None:
    """Every session of the user stops working at its next request."""
    user.session_epoch += 1


# --- failed sign-ins -----------------------------------------------------------------------------------------


def add_failure(session: Session, account: str, address: str, at: datetime) -> int:
    failure = SignInFailure(account=account, address=address, at=at)
    session.add(failure)
    session.flush()
    assert failure.id is not None
    return failure.id


def count_failures(session: Session, account: str, address: str, since: datetime) -> tuple[int, int]:
    """Failures since `since` for the account and for the address, in one statement."""
    recent = col(SignInFailure.at) >= since
    by_account = select(func.count()).where(SignInFailure.account == account, recent).scalar_subquery()
    by_address = select(func.count()).where(SignInFailure.address == address, recent).scalar_subquery()
    row = session.exec(select(by_account, by_address)).one()
    return int(row[0]), int(row[1])


def forget_failure(session: Session, failure_id: int) -> None:
    session.exec(sa.delete(SignInFailure).where(col(SignInFailure.id) == failure_id))


def forget_account_failures(session: Session, account: str) -> None:
    session.exec(sa.delete(SignInFailure).where(col(SignInFailure.account) == account))


def prune_failures(session: Session, before: datetime) -> None:
    """Failures older than every window count for nothing."""
    session.exec(sa.delete(SignInFailure).where(col(SignInFailure.at) < before))


# --- the daily digest ----------------------------------------------------------------------------------------


def set_digest(session: Session, user_id: int, on: bool) -> bool:
    """Switch the user's daily digest; False when there is no such user."""
    user = user_by_id(session, user_id)
    if user is None:
        return False
    user.digest = on
    session.add(user)
    return True


def digests_due(session: Session, today: date, limit: int) -> list[int]:
    """The enabled users who asked for a digest and have not had today's."""
    not_today = sa.or_(col(User.digest_sent_on).is_(None), col(User.digest_sent_on) < today)
    query = (select(User.id).where(col(User.digest).is_(True), col(User.disabled_at).is_(None), not_today)
             .order_by(col(User.id)).limit(limit))
    return [user_id for user_id in session.exec(query).all() if user_id is not None]


def claim_digest(session: Session, user_id: int, today: date) -> User | None:
    """Mark today's digest as the user's (a conditional update, so any number of workers send it once); the user,
    or None when another worker claimed it or the digest was switched off meanwhile."""
    table = User.__table__
    claimed = session.execute(
        sa.update(table)
        .where(table.c.id == user_id, table.c.digest.is_(True), table.c.disabled_at.is_(None),
               sa.or_(table.c.digest_sent_on.is_(None), table.c.digest_sent_on < today))
        .values(digest_sent_on=today)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        return None
    return session.get(User, user_id)
