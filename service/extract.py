"""Step 3b: the SQL out of a model's answer, whatever wrapping the model chose."""

from __future__ import annotations

import re

_FENCED = re.compile(r"```(?:sql|SQL|sqlite|postgresql|mysql)?\s*\n?(.*?)(?:```|$)", re.DOTALL)
_STATEMENT_START = re.compile(r"\b(WITH|SELECT)\b", re.IGNORECASE)


def extract_sql(answer: str) -> str | None:
    """The first SQL statement in `answer`: a fenced block, else from the first SELECT/WITH to the first
    semicolon or blank line. None when there is none."""
    text = answer.strip()
    fenced = [m.strip() for m in _FENCED.findall(text) if m.strip()]
    candidate = fenced[0] if fenced else text
    start = _STATEMENT_START.search(candidate)
    if not start:
        return None
    sql = candidate[start.start():]
    sql = re.split(r";|\n\s*\n", sql, maxsplit=1)[0]
    return sql.strip() or None
