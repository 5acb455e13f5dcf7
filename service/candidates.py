"""Choosing among a question's candidate answers by what they return (self-consistency voted by execution), and
the signals that make an answer doubtful enough to earn one more attempt.

Candidates that fail validation or execution drop out; the largest group returning the same rows wins, and a tie
goes to the group holding the earliest candidate (the greedy one comes first)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from service.databases import QueryResult
from service.results import Attempt
from service.sql_guard import CheckedSQL


class AttemptFailed(Exception):
    def __init__(self, kind: str, message: str, column: str | None = None, rule: str | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.column = column  # an unknown column's name
        self.rule = rule  # the guard's rule, when it refused the SQL


@dataclass
class Outcome:
    attempt: Attempt
    checked: CheckedSQL | None = None
    rows: QueryResult | None = None  # None when it failed or was not run
    failure: AttemptFailed | None = None

    @property
    def ok(self) -> bool:
        return self.failure is None


def choose(outcomes: list[Outcome]) -> tuple[Outcome, int]:
    """The winning outcome and how many candidates agree with it (0 when all failed: the first is returned)."""
    groups: dict[Any, list[int]] = {}
    for i, outcome in enumerate(outcomes):
        if outcome.ok:
            groups.setdefault(_rows_key(outcome.rows), []).append(i)
    if not groups:
        return outcomes[0], 0
    largest = max(groups.values(), key=lambda members: (len(members), -members[0]))
    return outcomes[largest[0]], len(largest)


def doubt(outcome: Outcome, agreeing: int, candidates: int) -> str | None:
    """Why an answer that ran may still be wrong, phrased for the model's next attempt; None when nothing says so.
    A question asks for something: no rows most often means a wrong filter value or join."""
    rows = outcome.rows
    if rows is None:
        return None
    if rows.row_count == 0:
        return ("it ran but returned no rows. Check the values it filters on against the values shown, "
                "and its joins")
    if all(value is None for row in rows.rows for value in row):
        return "it ran but returned only NULL values. Check the columns it selects and its joins"
    if candidates > 1 and agreeing * 2 <= candidates:
        return "other plausible queries for this question return different rows. Check it against the question"
    return None


def unsure(outcome: Outcome, below_logprob: float | None) -> bool:
    """Whether a greedy answer is worth drafting candidates for: it failed, returned nothing, or the model was
    unsure of it (mean token log-probability under `below_logprob`, where the backend reports one)."""
    if not outcome.ok or (outcome.rows is not None and outcome.rows.row_count == 0):
        return True
    confidence = outcome.attempt.logprob_mean
    return below_logprob is not None and confidence is not None and confidence < below_logprob


def _rows_key(rows: QueryResult | None) -> Any:
    """Rows compared as a multiset (order ignored), numbers within rounding: how Spider's evaluator compares."""
    if rows is None:
        return None
    normal = (tuple(round(v, 6) if isinstance(v, float) else v for v in row) for row in rows.rows)
    return len(rows.columns), tuple(sorted(map(repr, normal)))
