"""Every question the README asks answers correctly: asked through the real model on the demo database, its
rows compared with those of the right SQL. A question added to the README without its right SQL here fails."""

from __future__ import annotations

import json
import re
import sqlite3
from collections import Counter

import pytest

from tests.conftest import DEMO, REPO

pytestmark = pytest.mark.slow

RIGHT_SQL = {
    "How many NR cells are locked?": "SELECT COUNT(*) FROM nrcelldu WHERE administrativestate = 'LOCKED'",
    "What is the RRC setup success rate per NR cell on 2024-05-13?":
        "SELECT 100.0 * SUM(pmrrcconnestabsucc) / SUM(pmrrcconnestabatt) FROM pmnrcelldu "
        "WHERE ropstarttime >= '2024-05-13' AND ropstarttime < '2024-05-14' GROUP BY nrcelldu_id",
    "How many critical alarms are there?": "SELECT COUNT(*) FROM alarmlog WHERE perceivedseverity = 'CRITICAL'",
}


def readme_questions() -> list[str]:
    bodies = re.findall(r"-d '(\{.*?\})'", (REPO / "README.md").read_text())
    return [body["question"] for body in map(json.loads, bodies) if "question" in body and "sql" not in body]


def numbers(rows: list) -> Counter:
    """The rows' numbers, rounded: a right answer may name its cells by label or not at all (the right SQL
    leaves them out), in any column order; a cell without attempts has no rate (NULL) either way."""
    return Counter(tuple(sorted(round(v, 2) for v in row if isinstance(v, int | float))) for row in rows)


def test_the_readme_asks_only_questions_checked_here() -> None:
    assert set(readme_questions()) == set(RIGHT_SQL)


@pytest.mark.parametrize("question", list(RIGHT_SQL))
def test_readme_question_answers_with_the_right_rows(demo_pipeline, question: str) -> None:
    with sqlite3.connect(DEMO / "telecom.sqlite") as conn:
        expected = conn.execute(RIGHT_SQL[question]).fetchall()
    result = demo_pipeline.ask(question, "demo")
    assert result.executed and result.error is None, (result.sql, result.error)
    assert len(result.rows) == len(expected) and numbers(result.rows) == numbers(expected), result.sql
