"""A pool of question/SQL pairs from other databases (Spider train for benchmarks; a team's other projects),
searched DAIL-style: by the similarity of the questions with their schema words and values masked, so that
"How many singers are older than 30?" finds "How many heads of departments are older than 56?" and teaches
its SQL pattern, whatever the tables are called.

A pool file is a JSON list of objects with `question` and `query` (or `sql`). Its masked questions are embedded
once and kept beside the settings' home, keyed by the file's content and the embedding model.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import numpy as np

from indexer.embedding import Embedder
from indexer.search import ScoredExample

MASK = "_"
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9]*|\d+(?:\.\d+)?|[^\sA-Za-z0-9]")
_SQL_WORDS = frozenset(re.findall(r"\w+", """select from where group by order having limit join on as and or not in is
null like between distinct count sum avg min max asc desc union intersect except inner left right outer cross case when
then else end exists all any cast t1 t2 t3 t4 t5 t6"""))


def masked(question: str, schema_words: set[str]) -> str:
    """The question with its schema words (and plurals of them) and numbers replaced by a mask."""
    out = []
    for word in _WORD.findall(question):
        lower = word.lower()
        hidden = lower in schema_words or lower.rstrip("s") in schema_words or lower[:1].isdigit()
        out.append(MASK if hidden else word)
    return " ".join(out)


def words_of_names(names: list[str]) -> set[str]:
    """The words of identifiers: `student_course_id` and `StudentCourse` give student, course (and id)."""
    words: set[str] = set()
    for name in names:
        for part in re.split(r"[_\W]+|(?<=[a-z])(?=[A-Z])", name):
            if len(part) > 1:
                words.add(part.lower())
    return words


def sql_words(sql: str) -> set[str]:
    """The schema words and literal values a query uses: what its question's masked form hides."""
    literals = re.findall(r"'([^']*)'|\"([^\"]*)\"", sql)
    values = {w.lower() for pair in literals for text in pair for w in re.findall(r"\w+", text)}
    identifiers = re.findall(r"[A-Za-z_][A-Za-z0-9_]*", re.sub(r"'[^']*'|\"[^\"]*\"", " ", sql))
    return (words_of_names(identifiers) - _SQL_WORDS) | values


def skeleton(sql: str) -> str:
    """The query's shape: SQL words kept, names and values masked (two queries of one pattern share it)."""
    tokens = _WORD.findall(re.sub(r"'[^']*'|\"[^\"]*\"", MASK, sql.lower()))
    return " ".join(t if t in _SQL_WORDS or not t[0].isalnum() else MASK for t in tokens)


class ExamplePool:
    def __init__(self, path: Path, embedder: Embedder, cache_dir: Path) -> None:
        raw = path.read_bytes()
        pairs = json.loads(raw)
        self.examples = [(p["question"], p.get("query") or p["sql"]) for p in pairs]
        key = hashlib.sha256(raw + getattr(embedder, "name", "").encode()).hexdigest()[:16]
        cached = cache_dir / f"example-pool-{key}.npy"
        self._embedder = embedder
        if cached.is_file():
            self._vectors = np.load(cached, allow_pickle=False)
        else:
            self._vectors = embedder.embed([masked(q, sql_words(s)) for q, s in self.examples])
            cache_dir.mkdir(parents=True, exist_ok=True)
            np.save(cached, self._vectors)

    def similar(self, question: str, schema_words: set[str], k: int) -> list[ScoredExample]:
        """The `k` pairs whose masked questions are closest to the masked `question` (one per SQL pattern)."""
        query = self._embedder.embed([masked(question, schema_words)])[0]
        scores = self._vectors @ query
        chosen: list[ScoredExample] = []
        patterns: set[str] = set()
        for i in np.argsort(-scores):
            question_i, sql = self.examples[int(i)]
            pattern = skeleton(sql)
            if pattern in patterns:
                continue
            patterns.add(pattern)
            chosen.append(ScoredExample(question=question_i, sql=sql, score=float(scores[i]), source="pool"))
            if len(chosen) == k:
                break
        return chosen
