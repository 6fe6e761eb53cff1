"""Built-in message texts that flows do not configure: re-prompts, help and opt-out confirmations."""

from __future__ import annotations

from flows.questions import EndLabels, QuestionKind, scale_for

_TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "slack_chosen": "You chose *{score}*. Thank you!",
        "slack_add_comment": "Add a comment",
        "slack_comment_title": "Your comment",
        "slack_comment_send": "Send",
        "slack_comment_saved": "Your comment: {comment}",
        "slack_closed": "This survey has closed. Thank you all the same.",
        "email_subject": "A quick question from {brand}",
        "email_choose": "Choose your answer:",
        "email_unsubscribe": "Unsubscribe from surveys",
        "thumbs_up": "Yes",
        "thumbs_down": "No",
        "page_chosen": "Your answer: {score}",
        "page_save": "Save my answer",
        "page_change": "Change your answer:",
        "page_comment_send": "Send",
        "page_done": "Thank you, your answer is recorded.",
        "page_invalid": "This survey link is not valid, or the survey has closed. Thank you all the same.",
        "page_unsubscribe_ask": "Stop receiving surveys by email?",
        "page_unsubscribed": "You're unsubscribed and won't receive surveys by email any more.",
        "reprompt_scale": "Sorry, we didn't catch that. Please reply with a number from {low} to {high}.",
        "reprompt_thumbs": "Sorry, we didn't catch that. Please reply YES (thumbs up) or NO (thumbs down).",
        "closed_unusable": "Thanks for your reply. We've passed it on to the team.",
        "help": "This is a one-question survey. Reply with your answer ({range}). Reply STOP to opt out.",
        "opt_out": "You're unsubscribed and won't get more surveys here. Reply START to opt back in.",
        "opt_in": "You're subscribed again. Reply STOP to opt out at any time.",
        "score_updated": "Got it, we've changed your score to {score}.",
        "thanks": "Thank you!",
        "recheck_intro": "We followed up on your earlier answer and would like to know whether it helped.",
        "widget_score": "{score} out of {high}",
        "widget_close": "Close",
        "nps_low": "Not at all likely",
        "nps_high": "Extremely likely",
        "csat_low": "Very unsatisfied",
        "csat_high": "Very satisfied",
        "ces_low": "Very difficult",
        "ces_high": "Very easy",
    },
    "es": {
        "slack_chosen": "Elegiste *{score}*. ¡Gracias!",
        "slack_add_comment": "Añadir un comentario",
        "slack_comment_title": "Tu comentario",
        "slack_comment_send": "Enviar",
        "slack_comment_saved": "Tu comentario: {comment}",
        "slack_closed": "Esta encuesta ha cerrado. Gracias de todos modos.",
        "email_subject": "Una pregunta rápida de {brand}",
        "email_choose": "Elige tu respuesta:",
        "email_unsubscribe": "Darse de baja de las encuestas",
        "thumbs_up": "Sí",
        "thumbs_down": "No",
        "page_chosen": "Tu respuesta: {score}",
        "page_save": "Guardar mi respuesta",
        "page_change": "Cambia tu respuesta:",
        "page_comment_send": "Enviar",
        "page_done": "Gracias, hemos registrado tu respuesta.",
        "page_invalid": "Este enlace no es válido o la encuesta ya ha cerrado. Gracias de todos modos.",
        "page_unsubscribe_ask": "¿Dejar de recibir encuestas por correo?",
        "page_unsubscribed": "Te has dado de baja y no recibirás más encuestas por correo.",
        "reprompt_scale": "Perdona, no lo entendimos. Responde con un número del {low} al {high}.",
        "reprompt_thumbs": "Perdona, no lo entendimos. Responde SÍ o NO.",
        "closed_unusable": "Gracias por tu respuesta. Se la hemos pasado al equipo.",
        "help": "Es una encuesta de una pregunta. Responde ({range}). Responde STOP para darte de baja.",
        "opt_out": "Te has dado de baja y no recibirás más encuestas aquí. Responde START para volver.",
        "opt_in": "Vuelves a estar suscrito. Responde STOP para darte de baja.",
        "score_updated": "Entendido, hemos cambiado tu puntuación a {score}.",
        "thanks": "¡Gracias!",
        "recheck_intro": "Hicimos seguimiento de tu respuesta anterior y nos gustaría saber si sirvió de algo.",
        "widget_score": "{score} de {high}",
        "widget_close": "Cerrar",
        "nps_low": "Nada probable",
        "nps_high": "Muy probable",
        "csat_low": "Muy insatisfecho",
        "csat_high": "Muy satisfecho",
        "ces_low": "Muy difícil",
        "ces_high": "Muy fácil",
    },
    "fr": {
        "slack_chosen": "Vous avez choisi *{score}*. Merci !",
        "slack_add_comment": "Ajouter un commentaire",
        "slack_comment_title": "Votre commentaire",
        "slack_comment_send": "Envoyer",
        "slack_comment_saved": "Votre commentaire : {comment}",
        "slack_closed": "Cette enquête est close. Merci quand même.",
        "email_subject": "Une petite question de {brand}",
        "email_choose": "Choisissez votre réponse :",
        "email_unsubscribe": "Se désabonner des enquêtes",
        "thumbs_up": "Oui",
        "thumbs_down": "Non",
        "page_chosen": "Votre réponse : {score}",
        "page_save": "Enregistrer ma réponse",
        "page_change": "Modifier votre réponse :",
        "page_comment_send": "Envoyer",
        "page_done": "Merci, votre réponse est enregistrée.",
        "page_invalid": "Ce lien n'est pas valide ou l'enquête est close. Merci quand même.",
        "page_unsubscribe_ask": "Ne plus recevoir d'enquêtes par e-mail ?",
        "page_unsubscribed": "Vous êtes désabonné et ne recevrez plus d'enquêtes par e-mail.",
        "reprompt_scale": "Désolé, nous n'avons pas compris. Répondez par un nombre de {low} à {high}.",
        "reprompt_thumbs": "Désolé, nous n'avons pas compris. Répondez OUI ou NON.",
        "closed_unusable": "Merci pour votre réponse. Nous l'avons transmise à l'équipe.",
        "help": "Ceci est une enquête d'une question. Répondez ({range}). Répondez STOP pour vous désabonner.",
        "opt_out": "Vous êtes désabonné et ne recevrez plus d'enquêtes ici. Répondez START pour revenir.",
        "opt_in": "Vous êtes de nouveau abonné. Répondez STOP pour vous désabonner.",
        "score_updated": "C'est noté, votre note est maintenant {score}.",
        "thanks": "Merci !",
        "recheck_intro": "Nous avons donné suite à votre réponse précédente et aimerions savoir si cela a aidé.",
        "widget_score": "{score} sur {high}",
        "widget_close": "Fermer",
        "nps_low": "Pas du tout probable",
        "nps_high": "Très probable",
        "csat_low": "Très insatisfait",
        "csat_high": "Très satisfait",
        "ces_low": "Très difficile",
        "ces_high": "Très facile",
    },
    "de": {
        "slack_chosen": "Sie haben *{score}* gewählt. Danke!",
        "slack_add_comment": "Kommentar hinzufügen",
        "slack_comment_title": "Ihr Kommentar",
        "slack_comment_send": "Senden",
        "slack_comment_saved": "Ihr Kommentar: {comment}",
        "slack_closed": "Diese Umfrage ist beendet. Trotzdem vielen Dank.",
        "email_subject": "Eine kurze Frage von {brand}",
        "email_choose": "Wählen Sie Ihre Antwort:",
        "email_unsubscribe": "Von Umfragen abmelden",
        "thumbs_up": "Ja",
        "thumbs_down": "Nein",
        "page_chosen": "Ihre Antwort: {score}",
        "page_save": "Antwort speichern",
        "page_change": "Antwort ändern:",
        "page_comment_send": "Senden",
        "page_done": "Danke, Ihre Antwort ist gespeichert.",
        "page_invalid": "Dieser Link ist ungültig oder die Umfrage ist beendet. Trotzdem vielen Dank.",
        "page_unsubscribe_ask": "Keine Umfragen mehr per E-Mail erhalten?",
        "page_unsubscribed": "Sie sind abgemeldet und erhalten keine Umfragen mehr per E-Mail.",
        "reprompt_scale": "Entschuldigung, das haben wir nicht verstanden. Bitte antworten Sie mit {low} bis {high}.",
        "reprompt_thumbs": "Entschuldigung, das haben wir nicht verstanden. Bitte antworten Sie JA oder NEIN.",
        "closed_unusable": "Danke für Ihre Antwort. Wir haben sie an das Team weitergegeben.",
        "help": "Dies ist eine Umfrage mit einer Frage. Antworten Sie ({range}). STOP zum Abmelden.",
        "opt_out": "Sie sind abgemeldet und erhalten hier keine Umfragen mehr. START zum erneuten Anmelden.",
        "opt_in": "Sie sind wieder angemeldet. STOP zum Abmelden.",
        "score_updated": "Verstanden, Ihre Bewertung ist jetzt {score}.",
        "thanks": "Danke!",
        "recheck_intro": "Wir sind Ihrer letzten Antwort nachgegangen und möchten wissen, ob es geholfen hat.",
        "widget_score": "{score} von {high}",
        "widget_close": "Schließen",
        "nps_low": "Überhaupt nicht wahrscheinlich",
        "nps_high": "Äußerst wahrscheinlich",
        "csat_low": "Sehr unzufrieden",
        "csat_high": "Sehr zufrieden",
        "ces_low": "Sehr schwierig",
        "ces_high": "Sehr einfach",
    },
}


def language_of(locale: str | None) -> str:
    """The built-in language for a locale such as "es-MX", falling back to English."""
    lang = (locale or "en").replace("_", "-").split("-")[0].lower()
    return lang if lang in _TEXTS else "en"


def has_language(locale: str | None) -> bool:
    """Whether the built-in texts speak this locale's language, rather than falling back to English."""
    return language_of(locale) == (locale or "en").replace("_", "-").split("-")[0].lower()


def builtin_text(name: str, locale: str | None, **values: object) -> str:
    return _TEXTS[language_of(locale)][name].format(**values)


def score_label(kind: QuestionKind | str, score: int, locale: str | None) -> str:
    """What a screen reader says for an answer button: "8 out of 10", or Yes / No for thumbs."""
    if QuestionKind(kind) is QuestionKind.THUMBS:
        return builtin_text("thumbs_up" if score == 1 else "thumbs_down", locale)
    return builtin_text("widget_score", locale, score=score, high=scale_for(kind).high)


def range_hint(kind: QuestionKind | str) -> str:
    if QuestionKind(kind) is QuestionKind.THUMBS:
        return "YES or NO"
    scale = scale_for(kind)
    return f"{scale.low}-{scale.high}"


def reprompt_text(kind: QuestionKind | str, locale: str | None) -> str:
    if QuestionKind(kind) is QuestionKind.THUMBS:
        return builtin_text("reprompt_thumbs", locale)
    scale = scale_for(kind)
    return builtin_text("reprompt_scale", locale, low=scale.low, high=scale.high)


def choice_labels(kind: QuestionKind, locale: str | None) -> list[tuple[int, str]]:
    """Each answer with the label a button or link shows: thumbs as words, every other scale as its numbers."""
    if kind is QuestionKind.THUMBS:
        return [(1, "\N{THUMBS UP SIGN} " + builtin_text("thumbs_up", locale)),
                (0, "\N{THUMBS DOWN SIGN} " + builtin_text("thumbs_down", locale))]
    scale = scale_for(kind)
    return [(score, str(score)) for score in range(scale.low, scale.high + 1)]


def end_labels(kind: QuestionKind | str, locale: str | None) -> EndLabels | None:
    """The built-in meaning of a scale's two ends; None for thumbs, whose buttons already say Yes and No."""
    kind = QuestionKind(kind)
    if kind is QuestionKind.THUMBS:
        return None
    return EndLabels(builtin_text(f"{kind}_low", locale), builtin_text(f"{kind}_high", locale))


def end_legend(kind: QuestionKind | str, labels: EndLabels) -> tuple[str, str]:
    """Each end with its number ("0 = Not at all likely"): buttons that wrap onto two rows on a phone
    no longer put the high end at the right edge, so the label says which button it means."""
    scale = scale_for(kind)
    return f"{scale.low} = {labels.low}", f"{scale.high} = {labels.high}"
