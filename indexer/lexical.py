"""Lexical matching as BM25-style sparse vectors, so exact identifiers and codes are found where the
dense embedding fails. Term-frequency saturation is computed here; IDF comes from the store
(Qdrant's IDF modifier)."""

from __future__ import annotations

import re
import zlib
from collections import Counter
from dataclasses import dataclass
from itertools import pairwise

from indexer.synonyms import split_identifier

_K1, _B, _AVG_LEN = 1.2, 0.75, 40.0
VERSION = 2  # of `encode_document`; part of a document's content hash, so a change re-indexes stored documents
_WORD = re.compile(r"[A-Za-z0-9_]+")
STOP_WORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "does",
        "did",
        "do",
        "each",
        "for",
        "from",
        "give",
        "has",
        "have",
        "how",
        "i",
        "in",
        "is",
        "it",
        "its",
        "list",
        "me",
        "of",
        "on",
        "or",
        "show",
        "tell",
        "than",
        "that",
        "the",
        "their",
        "them",
        "there",
        "these",
        "this",
        "those",
        "to",
        "was",
        "were",
        "what",
        "which",
        "who",
        "whose",
        "with",
        "all",
        "many",
        "much",
        "number",
        "find",
        "return",
    ]
)


@dataclass(frozen=True)
class SparseVector:
    indices: list[int]
    values: list[float]


def terms(text: str) -> list[str]:
    """Whole identifiers as written (lower-cased) plus their pieces and adjacent pieces joined (`first_name` ->
    firstname, as `FirstName` reads whole), lightly stemmed, stop words dropped."""
    out = []
    for word in _WORD.findall(text):
        lowered = word.lower()
        pieces = split_identifier(word)
        for term in dict.fromkeys([lowered, *pieces, *_joined(pieces)]):
            if term not in STOP_WORDS:
                out.append(_stem(term))
    return out


def _stem(term: str) -> str:
    if len(term) > 3 and term.endswith("s") and not term.endswith("ss"):
        return term[:-3] + "y" if term.endswith("ies") else term[:-1]
    return term


def _index(term: str) -> int:
    return zlib.crc32(term.encode()) & 0x7FFFFFFF


def encode_document(text: str) -> SparseVector:
    counts = Counter(_index(t) for t in terms(text))
    length = sum(counts.values()) or 1
    norm = _K1 * (1 - _B + _B * length / _AVG_LEN)
    items = sorted(counts.items())
    return SparseVector([i for i, _ in items], [tf * (_K1 + 1) / (tf + norm) for _, tf in items])


def compounds(text: str) -> list[str]:
    """Adjacent words written as one, as schemas write them: "high schoolers" -> highschooler, "zip code"."""
    return [_stem(j) for j in _joined([w.lower() for w in _WORD.findall(text)])]


def _joined(words: list[str]) -> list[str]:
    return [a + b for a, b in pairwise(words)
            if a.isalpha() and b.isalpha() and a not in STOP_WORDS and b not in STOP_WORDS]


def encode_query(text: str) -> SparseVector:
    indices = sorted({_index(t) for t in [*terms(text), *compounds(text)]})
    return SparseVector(indices, [1.0] * len(indices))
