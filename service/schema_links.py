"""Schema linking: the question's words that name a table or column in other words ("vocalists" for `singer`,
"town" for `employee.City`), matched by meaning before the model sees them. A small model reading the whole
schema still misses such a word unless it is told beside the question; words the schema itself uses need no
link, and are left out so that the hints stay few."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable, Sequence

import numpy as np

from indexer.lexical import STOP_WORDS
from indexer.models import TableInfo
from indexer.synonyms import Enricher, split_identifier
from service.catalog import SchemaCatalog

Embed = Callable[[Sequence[str]], np.ndarray]

# Words of how a question is asked, not of what it asks about (superlatives, order, counting).
_QUESTION_WORDS = STOP_WORDS | frozenset([
    "about", "above", "after", "along", "also", "alphabetical", "amount", "among", "any", "ascending", "average",
    "before", "below", "being", "best", "between", "both", "but", "can", "could", "count", "descending", "different",
    "distinct", "during", "earlier", "earliest", "every", "fewer", "get", "greater", "greatest", "had", "having",
    "higher", "highest", "id", "ids", "if", "into", "largest", "least", "less", "lowest", "max", "maximum", "min",
    "minimum", "more", "most", "name", "named", "names", "not", "old", "older", "oldest", "only", "order", "other",
    "our", "over", "per", "please", "same", "should", "smallest", "sort", "sorted", "such", "top", "total", "under",
    "when", "where", "why", "will", "within", "without", "would", "you", "young", "younger", "youngest",
])
_WORD = re.compile(r"[A-Za-z]+")
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")
_MIN_SIMILARITY = 0.55
_MIN_MARGIN = 0.06  # over the closest name of another table
_MAX_LINKS = 4


class SchemaLinker:
    """Links question words to the tables and columns of a schema; each table's names are embedded once (a big
    schema embeds only the tables that questions reach)."""

    def __init__(self, embed: Embed) -> None:
        self._embed = embed
        self._enricher = Enricher()
        self._names: dict[tuple[str, str, tuple[str, ...]], tuple[list[str], np.ndarray]] = {}
        self._lock = threading.Lock()

    def link(self, question: str, db_id: str, catalog: SchemaCatalog, tables: Iterable[str]) -> list[str]:
        """One line per question word (or two-word phrase) that means one of `tables` or their columns without
        saying its name: `"vocalists" means singer`."""
        infos = [catalog.tables[t] for t in dict.fromkeys(tables) if t in catalog.tables]
        schema_words = {_singular(w) for w in catalog.words}
        words = _WORD.findall(_QUOTED.sub(" ", question))
        spoken = {_singular(w.lower()) for w in words}
        squashed = "".join(_singular(w.lower()) for w in words)  # in question order: "high schoolers"
        phrases = _phrases(words, schema_words)
        if not phrases or not infos:
            return []
        labels, owners, vectors = self._vectors(db_id, infos)
        scores = _normalised(self._embed([p for group in phrases for p in group])) @ vectors.T
        links: dict[str, tuple[float, str]] = {}  # label -> (similarity, phrase)
        row = 0
        for group in phrases:
            similarity, at, i = max((float(scores[row + i].max()), int(scores[row + i].argmax()), i)
                                    for i in range(len(group)))
            others = scores[row + i][owners != owners[at]]
            row += len(group)
            label, phrase = labels[at], group[i]
            # a word nearly as close to another table's name ("airways": flights.Airline, airlines.Airline)
            # is ambiguous: a wrong link misleads more than none
            clear = not others.size or similarity - float(others.max()) >= _MIN_MARGIN
            if (similarity >= _MIN_SIMILARITY and clear and not _named(label, spoken, squashed)
                    and similarity > links.get(label, (0.0, ""))[0]):
                links[label] = (similarity, phrase)
        ranked = sorted(links.items(), key=lambda item: -item[1][0])[:_MAX_LINKS]
        return [f"\"{phrase}\" means {label}" for label, (_, phrase) in ranked]

    def _vectors(self, db_id: str, tables: list[TableInfo]) -> tuple[list[str], np.ndarray, np.ndarray]:
        """Each name's label (`table` or `table.column`), the index of its table, and its unit vector."""
        labels: list[str] = []
        owners: list[int] = []
        blocks = []
        for table in tables:
            key = (db_id, table.name, (*table.synonyms, "", *(c.name for c in table.columns)))
            with self._lock:
                known = self._names.get(key)
            if known is None:
                names = [table.name, *(f"{table.name}.{c.name}" for c in table.columns)]
                texts = [self._enricher.phrase(table.name), *table.synonyms,
                         *(self._enricher.phrase(c.name) for c in table.columns)]
                names[1:1] = [table.name] * len(table.synonyms)
                known = (names, _normalised(self._embed(texts)))
                with self._lock:
                    self._names[key] = known
            labels += known[0]
            owners += [len(blocks)] * len(known[0])
            blocks.append(known[1])
        return labels, np.array(owners), np.vstack(blocks)


def _phrases(words: list[str], schema_words: set[str]) -> list[list[str]]:
    """For each word the schema does not use, the word and the phrases it forms with a neighbour ("family
    name", "number of seats"); names written with a capital inside the question are values, not schema words."""
    groups = []
    for i, word in enumerate(words):
        lowered = word.lower()
        if (len(lowered) < 3 or lowered in _QUESTION_WORDS or _singular(lowered) in schema_words
                or (i > 0 and word[0].isupper())):
            continue
        group = [lowered]
        for j in (i - 1, i + 1):
            if 0 <= j < len(words) and words[j].lower() not in _QUESTION_WORDS:
                group.append(" ".join(w.lower() for w in words[min(i, j):max(i, j) + 1]))
        if i > 1 and words[i - 1].lower() == "of":  # "number of seats"
            group.append(" ".join(w.lower() for w in words[i - 2:i + 1]))
        groups.append(group)
    return groups


def _named(label: str, spoken: set[str], squashed: str) -> bool:
    """Does the question say the table's or column's own name (`horsepower`; "high schoolers" for
    `Highschooler`)?"""
    name = label.rsplit(".", 1)[-1]
    words = {_singular(w) for w in split_identifier(name)}
    return words <= spoken or re.sub(r"[\W_]+", "", name.lower()) in squashed


def _normalised(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


def _singular(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word
