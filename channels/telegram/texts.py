"""What the Telegram channel says on its own, in the four built-in languages; everything else the engine says.

The language is the survey's when the chat has one, else the one Telegram reports for the person's app.
"""

from __future__ import annotations

from flows.texts import language_of

_TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "welcome": "Hello! This bot sends surveys only to chats that are linked to a customer account. If you "
                   "are asked for it, this chat's id is {chat_id}. Send /stop at any time to stop surveys here.",
        "closed": "This survey has closed. Thank you all the same.",
    },
    "es": {
        "welcome": "¡Hola! Este bot solo envía encuestas a chats vinculados a una cuenta de cliente. Si te lo "
                   "piden, el id de este chat es {chat_id}. Envía /stop cuando quieras para no recibir más.",
        "closed": "Esta encuesta ha cerrado. Gracias de todos modos.",
    },
    "fr": {
        "welcome": "Bonjour ! Ce bot n'envoie d'enquêtes qu'aux discussions liées à un compte client. Si on vous "
                   "le demande, l'id de cette discussion est {chat_id}. Envoyez /stop à tout moment pour arrêter.",
        "closed": "Cette enquête est terminée. Merci quand même.",
    },
    "de": {
        "welcome": "Hallo! Dieser Bot sendet Umfragen nur an Chats, die mit einem Kundenkonto verknüpft sind. "
                   "Falls Sie danach gefragt werden: Die ID dieses Chats ist {chat_id}. /stop beendet die "
                   "Umfragen hier jederzeit.",
        "closed": "Diese Umfrage ist beendet. Trotzdem vielen Dank.",
    },
}


def text(name: str, locale: str | None, **values: object) -> str:
    return _TEXTS.get(language_of(locale), _TEXTS["en"])[name].format(**values)
