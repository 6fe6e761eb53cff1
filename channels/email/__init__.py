"""Email: surveys over SMTP with one link per score, answered on our pages or by reply."""

from channels.email.channel import EmailChannel

__all__ = ["EmailChannel"]
