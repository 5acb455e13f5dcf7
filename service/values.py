"""Value linking: the question's words and literals matched to the database's values before the model sees
them. A small model filters on the words it read ("locked" -> `operationalstate = 'DISABLED'`) and compares a
timestamp with a bare date unless it is told, beside the question, which column holds that value and what the
stored values look like."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable

from indexer.models import ColumnInfo
from service.catalog import SchemaCatalog

Sampler = Callable[[str, str], str | None]  # (table, column) -> one stored value, as text

_WORD = re.compile(r"[\w'-]+")
_ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
_MAX_PHRASE_WORDS = 4
_MAX_HINTS = 6


def link_values(question: str, catalog: SchemaCatalog, tables: Iterable[str], sample: Sampler) -> list[str]:
    """One line per value the question mentions, among `tables`: the column that holds it and how to write
    it; for a date, how the date/time columns store theirs."""
    infos = [catalog.tables[t] for t in dict.fromkeys(tables) if t in catalog.tables]
    phrases = _phrases(question)
    held: dict[tuple[str, str, str], list[str]] = {}  # (phrase, column, value) -> tables
    for table in infos:
        for column in table.columns:
            for value in column.values:
                phrase = _mentioned(value, phrases)
                if phrase:
                    held.setdefault((phrase, column.name, value), []).append(table.name)
    hints = [f'"{phrase}": {column} = {sql_literal(value)} (in {", ".join(owners)})'
             for (phrase, column, value), owners in held.items()]
    for match in _ISO_DATE.finditer(question):
        hints += _date_hints(match.group(0), infos, sample)
    return hints[:_MAX_HINTS]


def _phrases(question: str) -> dict[str, str]:
    """Normalised word sequences of the question (1 to 4 words, singular too) -> as written."""
    words = _WORD.findall(question)
    found: dict[str, str] = {}
    for size in range(1, _MAX_PHRASE_WORDS + 1):
        for i in range(len(words) - size + 1):
            written = " ".join(words[i : i + size])
            found.setdefault(normal_words(written), written)
            found.setdefault(_singular(normal_words(written)), written)
    return found


def _mentioned(value: str, phrases: dict[str, str]) -> str | None:
    if not linkable(value):
        return None
    normal = normal_words(value)
    return phrases.get(normal) or phrases.get(_singular(normal))


def linkable(value: str) -> bool:
    """A value a question's words can mean: not a code of one letter or a number, which match too many words."""
    normal = normal_words(value)
    return len(normal) >= 2 and not normal.replace(".", "").isdigit()


def normal_words(text: str) -> str:
    """Lower case, words parted by single spaces (underscores and hyphens too)."""
    return " ".join(re.split(r"[\s_-]+", text.lower())).strip()


def _singular(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def sql_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _date_hints(day: str, tables: list, sample: Sampler) -> list[str]:
    try:
        following = (dt.date.fromisoformat(day) + dt.timedelta(days=1)).isoformat()
    except ValueError:
        return []
    hints = []
    for table in tables:
        for column in filter(_dated, table.columns):
            stored = sample(table.name, column.name)
            if not stored or stored == day:
                continue
            name = f"{table.name}.{column.name}"
            if stored[:10] == stored[:10].strip() and _ISO_DATE.fullmatch(stored[:10]) and len(stored) > 10:
                hints.append(f"'{day}': {name} holds timestamps like '{stored}': for that day use "
                             f"{column.name} >= '{day}' AND {column.name} < '{following}'")
            else:
                hints.append(f"'{day}': {name} values look like '{stored}'")
    return hints


def _dated(column: ColumnInfo) -> bool:
    kind, name = column.type.upper(), column.name.lower()
    return any(t in kind for t in ("DATE", "TIME")) or name.endswith(("time", "date", "_at", "day"))
