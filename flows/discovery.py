"""Theme discovery: groups of comments that no theme covers, each with its typical words and example comments.

An admin writes the taxonomy up front and cannot guess every subject; what customers say that no theme catches is
where the next theme is. Comments become TF-IDF vectors of their words (links, mentions and common words left
out) and are grouped by spherical k-means (cosine similarity), seeded the k-means++ way from a fixed seed, so the
same comments give the same proposals. Plain Python on sparse dicts: a few thousand comments take about a second,
and nothing is downloaded or installed for it.
"""

from __future__ import annotations

import math
import random
import re
from collections import Counter
from dataclasses import dataclass

from flows.language import COMMON_ENGLISH
from flows.sentiment import clean

_WORD = re.compile(r"[a-z][a-z']{2,}")
STOP = COMMON_ENGLISH | frozenset([
    "amp", "and", "but", "can't", "cant", "didn't", "dont", "don't", "get", "got", "going", "just", "let's", "now",
    "that's", "they're", "today", "what's", "won't", "you're", "i'm", "i've", "it's", "ive", "im",
])
MAX_SHARE = 0.3  # a word in more than this share of the comments says nothing about any one group
ITERATIONS = 15
RESTARTS = 3

Vector = dict[str, float]


@dataclass(frozen=True)
class Proposal:
    words: list[str]  # the typical words, most typical first
    examples: list[int]  # indexes of the comments closest to the group's centre
    members: list[int]  # indexes of every comment in the group


def terms(text: str) -> list[str]:
    return [word for word in _WORD.findall(clean(text)) if word not in STOP]


def _vectors(texts: list[str], min_count: int) -> list[Vector]:
    bags = [Counter(terms(text)) for text in texts]
    df: Counter[str] = Counter()
    for bag in bags:
        df.update(bag.keys())
    n = len(texts)
    idf = {t: math.log(n / c) for t, c in df.items() if c >= min_count and c <= MAX_SHARE * n}
    vectors = []
    for bag in bags:
        vector = {t: (1 + math.log(c)) * idf[t] for t, c in bag.items() if t in idf}
        norm = math.sqrt(sum(v * v for v in vector.values())) or 1.0
        vectors.append({t: v / norm for t, v in vector.items()})
    return vectors


def _dot(a: Vector, b: Vector) -> float:
    if len(a) > len(b):
        a, b = b, a
    return sum(v * b.get(t, 0.0) for t, v in a.items())


def _centre(vectors: list[Vector]) -> Vector:
    total: Counter[str] = Counter()
    for vector in vectors:
        total.update(vector)
    norm = math.sqrt(sum(v * v for v in total.values())) or 1.0
    return {t: v / norm for t, v in total.items()}


def _seeds(vectors: list[Vector], k: int, rng: random.Random) -> list[Vector]:
    """k-means++: each next centre far (in cosine) from those chosen."""
    centres = [vectors[rng.randrange(len(vectors))]]
    distance = [1.0 - _dot(v, centres[0]) for v in vectors]
    while len(centres) < k and any(distance):
        chosen = rng.choices(range(len(vectors)), weights=distance)[0]
        centres.append(vectors[chosen])
        distance = [min(d, 1.0 - _dot(v, vectors[chosen])) for v, d in zip(vectors, distance, strict=True)]
    return centres


def cluster(texts: list[str], k: int, *, min_count: int = 3, seed: int = 7) -> tuple[list[int], list[Vector]]:
    """Each comment's group (-1 for one with no usable word) and the groups' centres."""
    return _cluster(_vectors(texts, min_count), k, seed)


def _cluster(vectors: list[Vector], k: int, seed: int) -> tuple[list[int], list[Vector]]:
    """The best of RESTARTS runs (k-means stops in a local optimum that depends on its seeds)."""
    best: tuple[float, list[int], list[Vector]] | None = None
    for attempt in range(RESTARTS):
        labels, centres = _kmeans(vectors, k, seed + attempt)
        fit = sum(_dot(v, centres[label]) for v, label in zip(vectors, labels, strict=True) if label >= 0)
        if best is None or fit > best[0]:
            best = (fit, labels, centres)
    assert best is not None
    return best[1], best[2]


def _kmeans(vectors: list[Vector], k: int, seed: int) -> tuple[list[int], list[Vector]]:
    usable = [i for i, v in enumerate(vectors) if v]
    if not usable:
        return [-1] * len(vectors), []
    rng = random.Random(seed)
    centres = _seeds([vectors[i] for i in usable], min(k, len(usable)), rng)
    labels = [-1] * len(vectors)
    for _ in range(ITERATIONS):
        changed = False
        for i in usable:
            best = max(range(len(centres)), key=lambda c: _dot(vectors[i], centres[c]))
            changed |= labels[i] != best
            labels[i] = best
        groups = [[vectors[i] for i in usable if labels[i] == c] for c in range(len(centres))]
        centres = [_centre(group) if group else centre for group, centre in zip(groups, centres, strict=True)]
        if not changed:
            break
    return labels, centres


def propose(texts: list[str], *, groups: int = 10, min_size: int = 5, words: int = 6, examples: int = 3,
            seed: int = 7) -> list[Proposal]:
    """Proposed themes, biggest first; groups smaller than `min_size` are left out (too few to be a theme)."""
    vectors = _vectors(texts, 3)
    labels, centres = _cluster(vectors, groups, seed)
    found = []
    for c, centre in enumerate(centres):
        members = [i for i, label in enumerate(labels) if label == c]
        if len(members) < min_size:
            continue
        typical = [t for t, _ in sorted(centre.items(), key=lambda item: (-item[1], item[0]))[:words]]
        closest = sorted(members, key=lambda i: (-_dot(vectors[i], centre), i))[:examples]
        found.append(Proposal(typical, closest, members))
    return sorted(found, key=lambda p: -len(p.members))


def adjusted_mutual_information(a: list[str] | list[int], b: list[str] | list[int]) -> float:
    """AMI (arithmetic-mean normalisation, as scikit-learn's default): 0 for chance agreement, 1 for identical."""
    n = len(a)
    pairs = Counter(zip(a, b, strict=True))
    ca, cb = Counter(a), Counter(b)
    mi = sum(nij / n * math.log(n * nij / (ca[x] * cb[y])) for (x, y), nij in pairs.items())
    ha = -sum(c / n * math.log(c / n) for c in ca.values())
    hb = -sum(c / n * math.log(c / n) for c in cb.values())
    emi = _expected_mi(list(ca.values()), list(cb.values()), n)
    denominator = (ha + hb) / 2 - emi
    return (mi - emi) / denominator if denominator > 1e-12 else 1.0


def _expected_mi(rows: list[int], columns: list[int], n: int) -> float:
    lg = math.lgamma
    total = 0.0
    for ai in rows:
        for bj in columns:
            for nij in range(max(1, ai + bj - n), min(ai, bj) + 1):
                log_p = (lg(ai + 1) + lg(bj + 1) + lg(n - ai + 1) + lg(n - bj + 1) - lg(n + 1) - lg(nij + 1)
                         - lg(ai - nij + 1) - lg(bj - nij + 1) - lg(n - ai - bj + nij + 1))
                total += nij / n * math.log(n * nij / (ai * bj)) * math.exp(log_p)
    return total
