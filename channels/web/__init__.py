"""The web widget: an in-app pop-up that shows a pending survey on the contact's next page view."""

from channels.web.channel import WebChannel

__all__ = ["WebChannel"]
