"""What a service refuses, in its own words: each surface (API, pages, widget, Slack card, CLI) says it its way.

A service never knows which surface called it, so these carry a plain message and no HTTP status; the API's
one translation table is bot.api.errors.SERVICE_ERRORS.
"""

from __future__ import annotations


class ServiceError(Exception):
    """A refusal a person can act on; `message` reads well on its own."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(ServiceError):
    def __init__(self, what: str, ident: object) -> None:
        super().__init__(f"{what} {ident} does not exist")


class CaseNotFound(NotFound):
    def __init__(self, followup_id: int) -> None:
        super().__init__("follow-up", followup_id)


class CaseClosed(ServiceError):
    """The case is resolved: nothing more can be done to it."""


class CaseNotResolved(ServiceError):
    """Only a resolved case can be reopened."""


class InvalidValue(ServiceError):
    """A value that names nothing the service knows (a root cause off the admins' list, a channel the customer
    cannot be reached on, a template with an unknown placeholder); `field` is the input it came in."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class AlreadyExists(ServiceError):
    """A name that is taken (a root cause, a saved reply)."""

    def __init__(self, what: str, name: str, field: str = "name") -> None:
        super().__init__(f"{what} {name!r} exists already")
        self.field = field


class CustomerOptedOut(ServiceError):
    """The customer opted out of the case's channel; nothing was sent."""


class CustomerUnreachable(ServiceError):
    """The case's channel is not running, or the customer has no address on it."""


class ProviderRefused(ServiceError):
    """The channel's provider did not take the message."""


class NotInSandbox(ServiceError):
    """A pretend customer's message for a channel that is not on its sandbox transport."""

    def __init__(self, channel: str, sandbox_channels: tuple[str, ...] | list[str]) -> None:
        super().__init__(f"channel {channel!r} is not running on the sandbox transport")
        self.channel = channel
        self.sandbox_channels = tuple(sandbox_channels)


class FlowNotFound(NotFound):
    def __init__(self, key: str) -> None:
        super().__init__("flow", key)


class FlowDisabled(ServiceError):
    """The flow exists but is disabled: it sends nothing until it is enabled."""


class UserNotFound(NotFound):
    def __init__(self, who: object) -> None:
        super().__init__("user", who)


class UserExists(ServiceError):
    def __init__(self, email: str) -> None:
        super().__init__(f"a user with email {email} already exists")


class LastAdmin(ServiceError):
    """Disabling this admin would leave nobody able to manage users."""


class SignInRefused(ServiceError):
    """Wrong email or password. Says nothing about whether the account exists."""


class AccountDisabled(SignInRefused):
    """The password was right, but an admin disabled the account."""


class TooManySignIns(SignInRefused):
    """Too many failed sign-ins for the account or from the address; nothing was checked."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PasswordRejected(ServiceError):
    """A new password (or the current one, when asked) that does not do; `field` names the form field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class ResponseNotFound(NotFound):
    def __init__(self, response_id: int) -> None:
        super().__init__("response", response_id)


class NothingToCorrect(ServiceError):
    """The response has no comment, so it has no tags to correct."""


class UnknownTheme(ServiceError):
    field = "themes"

    def __init__(self, theme: str, known: list[str]) -> None:
        super().__init__(f"theme {theme!r} is not in the taxonomy (known: {', '.join(known) or 'none'})")


class NoSuchVersion(NotFound):
    def __init__(self, version: int) -> None:
        super().__init__("model version", version)
