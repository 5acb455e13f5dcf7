"""Schema linking: the question's words that name a table or column in other words ("vocalists" for `singer`,
"town" for `employee.City`), or a stored value ("puppy" for `PetType = 'dog'`, "French" for `'France'`), matched
by meaning before the model sees them. A small model reading the whole schema still misses such a word unless it
is told beside the question; words the schema itself uses, and values the question writes as stored (the value
linker's), need no link and are left out so that the hints stay few."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from indexer.lexical import STOP_WORDS
from indexer.models import TableInfo
from indexer.synonyms import Enricher, split_identifier
from service.catalog import SchemaCatalog
from service.values import linkable, normal_words, sql_literal

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
# a value link writes a filter: it must be closer than any name and clearly closer than any other value
_MIN_VALUE_SIMILARITY, _MIN_VALUE_MARGIN = 0.7, 0.2  # "animal": 'dog', then 'cat' 0.14 behind
_MAX_LINKS = 4


class SchemaLinker:
    """Links question words to the tables and columns of a schema; each table's names are embedded once (a big
    schema embeds only the tables that questions reach)."""

    def __init__(self, embed: Embed) -> None:
        self._embed = embed
        self._enricher = Enricher()
        # (database, table, its names and values) -> (labels, the value each stands for, unit vectors)
        self._names: dict[tuple[str, str, tuple[str, ...]], tuple[list[str], list[str | None], np.ndarray]] = {}
        self._lock = threading.Lock()

    def link(self, question: str, db_id: str, catalog: SchemaCatalog, tables: Iterable[str]) -> list[str]:
        """One line per question word (or two-word phrase) that means one of `tables`, their columns or their
        stored values without saying it: `"vocalists" means singer`, `"puppy" means Pets.PetType = 'dog'`."""
        infos = [catalog.tables[t] for t in dict.fromkeys(tables) if t in catalog.tables]
        schema_words = {_singular(w) for w in catalog.words}
        words = _WORD.findall(_QUOTED.sub(" ", question))
        spoken = {_singular(w.lower()) for w in words}
        squashed = "".join(_singular(w.lower()) for w in words)  # in question order: "high schoolers"
        phrases = _phrases(words, schema_words)
        if not phrases or not infos:
            return []
        labels, owners, stored, vectors = self._vectors(db_id, infos)
        is_value = np.array([v is not None for v in stored])
        scores = _normalised(self._embed([p for group in phrases for p in group.texts])) @ vectors.T
        links: dict[str, tuple[float, str]] = {}  # label -> (similarity, phrase)
        row = 0
        for group in phrases:
            block = scores[row:row + len(group.texts)]
            row += len(group.texts)
            found = _value_link(block, group, labels, stored, is_value, spoken)
            if found is None and group.names:
                found = _name_link(block[:len(group.names)], group, labels, owners, is_value, spoken, squashed)
            if found is not None and found[1] > links.get(found[0], (0.0, ""))[0]:
                links[found[0]] = (found[1], found[2])
        ranked = sorted(links.items(), key=lambda item: -item[1][0])[:_MAX_LINKS]
        return [f"\"{phrase}\" means {label}" for label, (_, phrase) in ranked]

    def _vectors(
        self, db_id: str, tables: list[TableInfo]
    ) -> tuple[list[str], np.ndarray, list[str | None], np.ndarray]:
        """Each entry's label (`table`, `table.column` or `table.column = 'value'`), the index of its table, the
        stored value it stands for (None for a name), and its unit vector."""
        labels: list[str] = []
        owners: list[int] = []
        stored: list[str | None] = []
        blocks = []
        for table in tables:
            shown = [(c.name, v) for c in table.columns for v in c.values if linkable(v)]
            key = (db_id, table.name, (*table.synonyms, "", *(c.name for c in table.columns), "", *map(str, shown)))
            with self._lock:
                known = self._names.get(key)
            if known is None:
                names = [table.name, *(f"{table.name}.{c.name}" for c in table.columns)]
                texts = [self._enricher.phrase(table.name), *table.synonyms,
                         *(self._enricher.phrase(c.name) for c in table.columns)]
                names[1:1] = [table.name] * len(table.synonyms)
                values: list[str | None] = [None] * len(names) + [value for _, value in shown]
                names += [f"{table.name}.{column} = {sql_literal(value)}" for column, value in shown]
                texts += [normal_words(value) for _, value in shown]
                known = (names, values, _normalised(self._embed(texts)))
                with self._lock:
                    self._names[key] = known
            labels += known[0]
            owners += [len(blocks)] * len(known[0])
            stored += known[1]
            blocks.append(known[2])
        return labels, np.array(owners), stored, np.vstack(blocks)


@dataclass
class _Phrases:
    """A question word's phrases: those matched to names (the word and the phrases it forms with a neighbour),
    then any only matched to values (its singular)."""
    names: list[str]
    texts: list[str]
    capitalised: bool  # written with a capital inside the question: a name ("French")


def _phrases(words: list[str], schema_words: set[str]) -> list[_Phrases]:
    """For each word the schema does not use, the word and the phrases it forms with a neighbour ("family
    name", "number of seats"); a word written with a capital inside the question is a value, matched to stored
    values only ("French"), and one of several such words is part of a name ("American Motor Company"), the
    value linker's to match as written."""
    capital = [i > 0 and w[0].isupper() for i, w in enumerate(words)]
    groups = []
    for i, word in enumerate(words):
        lowered = word.lower()
        if (len(lowered) < 3 or lowered in _QUESTION_WORDS or _singular(lowered) in schema_words
                or (capital[i] and any(capital[j] for j in (i - 1, i + 1) if 0 <= j < len(words)))):
            continue
        group = [lowered]
        for j in (i - 1, i + 1):
            if 0 <= j < len(words) and words[j].lower() not in _QUESTION_WORDS:
                group.append(" ".join(w.lower() for w in words[min(i, j):max(i, j) + 1]))
        if i > 1 and words[i - 1].lower() == "of":  # "number of seats"
            group.append(" ".join(w.lower() for w in words[i - 2:i + 1]))
        groups.append(_Phrases([] if capital[i] else group, [*group, *{_singular(lowered)} - {lowered}], capital[i]))
    return groups


def _name_link(block: np.ndarray, group: _Phrases, labels: list[str], owners: np.ndarray, is_value: np.ndarray,
               spoken: set[str], squashed: str) -> tuple[str, float, str] | None:
    """The table or column the group's phrases mean, when one is near enough and clearly nearer than any name
    of another table, and the question does not say its name."""
    names = np.where(is_value, -1.0, block)
    i, at = np.unravel_index(int(names.argmax()), names.shape)
    similarity = float(names[i, at])
    # a word nearly as close to another table's name ("airways": flights.Airline, airlines.Airline)
    # is ambiguous: a wrong link misleads more than none
    others = block[i][(owners != owners[at]) & ~is_value]
    clear = not others.size or similarity - float(others.max()) >= _MIN_MARGIN
    if similarity >= _MIN_SIMILARITY and clear and not _named(labels[at], spoken, squashed):
        return labels[at], similarity, group.names[i]
    return None


def _value_link(block: np.ndarray, group: _Phrases, labels: list[str], stored: list[str | None],
                is_value: np.ndarray, spoken: set[str]) -> tuple[str, float, str] | None:
    """The stored value the group's word means ("puppy": 'dog'), when it is nearer than every name and clearly
    nearer than every other value; a value the question writes as stored is left to the value linker, and a
    name (a value written with a capital) is meant only by a word written with one ("sells" is not 'Sale')."""
    if not is_value.any():
        return None
    values = np.where(is_value, block, -1.0)
    i, at = np.unravel_index(int(values.argmax()), values.shape)
    similarity = float(values[i, at])
    rest = np.delete(values[i], at)[np.delete(is_value, at)]
    value = stored[at]
    assert value is not None
    if (similarity < _MIN_VALUE_SIMILARITY or (rest.size and similarity - float(rest.max()) < _MIN_VALUE_MARGIN)
            or similarity <= float(np.where(is_value, -1.0, block).max())
            or {_singular(w) for w in normal_words(value).split()} <= spoken
            or (value[:1].isupper() and not group.capitalised)):
        return None
    return labels[at], similarity, group.texts[0]


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
