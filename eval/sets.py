"""Benchmark sets in the layout of shared/data/README.md: `<set>/dev.json` and `<set>/database/X/X.sqlite`."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
# Beside the checkout, wherever it is (CI checks the repo out elsewhere with shared/ next to it).
DEFAULT_DATA = REPO.parent / "shared" / "data"
# Sets that ask new questions of Spider's own databases carry no database folder of their own.
FALLBACK_DATABASES = "spider"
HARDNESS_SOURCE = "spider"  # the set whose hardness labels other sets borrow for the same questions
HARDNESS_LEVELS = ("easy", "medium", "hard", "extra")
UNKNOWN_HARDNESS = "unknown"
RENAMES = "column_renames.json"  # Dr.Spider's abbreviations: what a team's glossary would say about them


@dataclass(frozen=True)
class Question:
    id: str
    position: int  # in the set's file: the order of the official prediction format
    db_id: str
    question: str
    gold: str
    hardness: str


@dataclass(frozen=True)
class BenchmarkSet:
    name: str
    data: Path
    questions: list[Question]
    database_folder: Path

    def database_path(self, db_id: str) -> Path:
        return self.database_folder / db_id / f"{db_id}.sqlite"

    def docs(self, db_id: str, folder: Path) -> list[Path]:
        """The schema docs a team would have written for a database: for a set with abbreviated columns
        (`column_renames.json`), a glossary of what each abbreviation stands for, written into `folder`."""
        renames_file = self.data / self.name / RENAMES
        if not renames_file.is_file():
            return []
        renames = json.loads(renames_file.read_text()).get(db_id, {})
        return [abbreviation_docs(renames, folder / db_id)] if renames else []

    def select(self, db_ids: list[str] | None = None, limit: int | None = None) -> list[Question]:
        """The questions of `db_ids` (all when empty); `limit` of them spread evenly over the set (every
        database and hardness level represented, unlike its first N), grouped by database so the model's
        prompt-prefix cache is reused."""
        chosen = [q for q in self.questions if not db_ids or q.db_id in db_ids]
        unknown = sorted(set(db_ids or []) - {q.db_id for q in self.questions})
        if unknown:
            raise ValueError(f"set '{self.name}' has no questions on: {', '.join(unknown)}")
        if limit is not None and limit < len(chosen):
            chosen = [chosen[i * len(chosen) // limit] for i in range(limit)]
        databases = list(dict.fromkeys(q.db_id for q in chosen))
        return sorted(chosen, key=lambda q: (databases.index(q.db_id), q.position))


def abbreviation_docs(renames: dict[str, str], folder: Path) -> Path:
    """A glossary for abbreviated columns (`table.Column` -> `abbr`): each abbreviation, the words it stands
    for, the original name as a synonym."""
    glossary = []
    for original, abbreviation in renames.items():
        table, column = original.split(".")
        words = " ".join(re.findall(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+", column)).lower() or column
        glossary.append({"term": abbreviation, "meaning": words, "synonyms": [column],
                         "refs": [f"{table}.{abbreviation}"]})
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "docs.yaml"
    path.write_text(yaml.safe_dump({"glossary": glossary}))
    return path


def load_set(data: Path, name: str) -> BenchmarkSet:
    folder = data / name
    path = folder / "dev.json"
    if not path.is_file():
        known = sorted(p.name for p in data.iterdir() if (p / "dev.json").is_file()) if data.is_dir() else []
        raise FileNotFoundError(f"no set '{name}' in {data} ({path} missing); sets there: {', '.join(known) or 'none'}")
    records = json.loads(path.read_text())
    borrowed = _hardness_labels(data) if any("hardness" not in r for r in records) else _HardnessLabels({}, {})
    questions = [
        Question(
            id=str(r.get("id", f"{name}-{i}")), position=i, db_id=r["db_id"], question=r["question"],
            gold=r["query"], hardness=r.get("hardness") or borrowed.find(r) or UNKNOWN_HARDNESS,
        )
        for i, r in enumerate(records)
    ]
    own = folder / "database"
    return BenchmarkSet(name, data, questions, own if own.is_dir() else data / FALLBACK_DATABASES / "database")


@dataclass
class _HardnessLabels:
    by_query: dict[tuple[str, str], str]
    by_question: dict[str, str]

    def find(self, record: dict[str, str]) -> str | None:
        # the same gold query on the same database (Spider-Syn, Spider-Realistic), else the same question
        # text (Dr.Spider keeps Spider's questions on renamed databases)
        by_query = self.by_query.get((record["db_id"], _normalise(record["query"])))
        question = record.get("original_question") or record["question"]
        return by_query or self.by_question.get(question)


def _hardness_labels(data: Path) -> _HardnessLabels:
    path = data / HARDNESS_SOURCE / "dev.json"
    if not path.is_file():
        return _HardnessLabels({}, {})
    records = [r for r in json.loads(path.read_text()) if r.get("hardness")]
    texts: dict[str, set[str]] = {}
    for r in records:
        texts.setdefault(r["question"], set()).add(r["hardness"])
    return _HardnessLabels(
        {(r["db_id"], _normalise(r["query"])): r["hardness"] for r in records},
        {text: labels.pop() for text, labels in texts.items() if len(labels) == 1},  # ambiguous texts: no label
    )


def _normalise(sql: str) -> str:
    return re.sub(r"\s+", " ", sql.strip().rstrip(";")).lower()
