"""Execution match, as the official Spider evaluator decides it: does the predicted SQL return the gold rows?

Rules (test-suite-sql-eval's `result_eq`, plus a float tolerance):
- rows are compared as multisets; their order counts only when the gold query has ORDER BY;
- the predicted columns may come in any order (matched under permutation), but there must be as many;
- numbers are equal within a relative tolerance (1e-6), so 3 == 3.0 and AVG rounding noise is forgiven;
- NULL equals NULL; text and numbers never equal each other ('3' != 3);
- two empty results are equal, whatever their columns.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterator, Sequence
from functools import lru_cache
from itertools import product
from typing import Any

from service.databases import Database, QueryResult, open_database
from service.errors import DatabaseError

REL_TOLERANCE = 1e-6
MAX_COMPARED_ROWS = 100_000  # beyond this a result is cut; a cut result only matches another cut one
DEFAULT_TIMEOUT_S = 10.0
_SIGNIFICANT_DIGITS = 6  # the rounding that groups numbers equal within REL_TOLERANCE, for sorting
_ORDER_BY = re.compile(r"\border\s+by\b", re.IGNORECASE)

Row = Sequence[Any]


def order_matters(gold_sql: str) -> bool:
    """The official evaluator's rule: row order counts when the gold query says ORDER BY anywhere."""
    return bool(_ORDER_BY.search(gold_sql))


def same_value(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is b
    if _is_number(a) and _is_number(b):
        return math.isclose(a, b, rel_tol=REL_TOLERANCE, abs_tol=1e-9)
    if _is_number(a) or _is_number(b):
        return False
    return a == b


def results_match(gold: QueryResult, predicted: QueryResult, ordered: bool) -> bool:
    """The official comparison of two results (see the module's rules)."""
    if predicted.truncated != gold.truncated:
        return False
    if not gold.rows and not predicted.rows:
        return True
    if len(gold.rows) != len(predicted.rows):
        return False
    width = len(gold.rows[0])
    if any(len(row) != width for row in predicted.rows):
        return False
    for permutation in _column_permutations(gold.rows, predicted.rows, width):
        permuted = [[row[i] for i in permutation] for row in predicted.rows]
        if _rows_equal(gold.rows, permuted, ordered):
            return True
    return False


def execution_match(
    pred_sql: str | None, gold_sql: str, db: Database | str | os.PathLike[str], timeout_s: float = DEFAULT_TIMEOUT_S
) -> int:
    """1 when `pred_sql` returns the same rows as `gold_sql` on `db`, else 0 (also when the prediction is
    missing, fails or times out). `db` is a ragsql `Database` or the path of a SQLite file, opened read-only.

    Deterministic and side-effect free, so usable as the verifiable reward of RL fine-tuning, e.g. in TRL's
    GRPOTrainer: `reward = [execution_match(extract_sql(c), gold, path) for c, gold, path in ...]`.
    A gold query that fails raises `DatabaseError`: that is a broken benchmark record, not a wrong answer.
    """
    database = db if isinstance(db, Database) else _sqlite(os.fspath(db))
    gold = database.execute(gold_sql, MAX_COMPARED_ROWS, timeout_s)
    if not pred_sql or not pred_sql.strip():
        return 0
    try:
        predicted = database.execute(pred_sql, MAX_COMPARED_ROWS, timeout_s)
    except DatabaseError:
        return 0
    return int(results_match(gold, predicted, order_matters(gold_sql)))


@lru_cache(maxsize=64)
def _sqlite(path: str) -> Database:
    # one read-only Database per file: the service's own SQLite layer (text read with bad bytes replaced,
    # a progress-handler timeout, writes refused)
    return open_database(os.path.basename(path), f"sqlite:///{os.path.abspath(path)}")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _sort_key(value: Any) -> tuple[int, Any]:
    # NULLs, then numbers (rounded, so numbers equal within the tolerance sort together), then the rest
    if value is None:
        return 0, 0
    if _is_number(value):
        return 1, float(f"{value:.{_SIGNIFICANT_DIGITS}g}") if math.isfinite(value) else value
    return 2, str(value)


def _rows_equal(gold: list[Row], predicted: list[Row], ordered: bool) -> bool:
    if not ordered:
        # multisets: sort both the same way, then compare row by row
        gold = sorted(gold, key=lambda row: [_sort_key(v) for v in row])
        predicted = sorted(predicted, key=lambda row: [_sort_key(v) for v in row])
    return all(same_value(a, b) for g, p in zip(gold, predicted, strict=True) for a, b in zip(g, p, strict=True))


def _column_permutations(gold: list[Row], predicted: list[Row], width: int) -> Iterator[tuple[int, ...]]:
    """Orders of the predicted columns worth trying: predicted column j can stand for gold column i only
    when both hold the same multiset of values (which prunes the width! orders to one or a few)."""
    gold_columns = [_column_signature(gold, i) for i in range(width)]
    predicted_columns = [_column_signature(predicted, j) for j in range(width)]
    candidates = [
        [j for j in range(width) if _signatures_equal(gold_columns[i], predicted_columns[j])] for i in range(width)
    ]
    for permutation in product(*candidates):
        if len(set(permutation)) == width:
            yield permutation


def _column_signature(rows: list[Row], index: int) -> list[Any]:
    return sorted((row[index] for row in rows), key=_sort_key)


def _signatures_equal(a: list[Any], b: list[Any]) -> bool:
    return all(same_value(x, y) for x, y in zip(a, b, strict=True))

