"""Benchmark sets as the harness reads them: Dr.Spider's abbreviated schemas are measured with the glossary a
team would write (from column_renames.json), the other sets with no docs."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
import yaml

from eval.config import load_config
from eval.runner import build_settings
from eval.sets import load_set
from indexer.introspect import introspect
from indexer.schema_docs import load_schema_docs
from tests.conftest import DATA, require_data


def test_abbreviated_schemas_are_measured_with_their_glossary(tmp_path: Path) -> None:
    require_data()
    bench = load_set(DATA, "dr-spider-abbreviation")
    docs = bench.docs("car_1_0", tmp_path)
    glossary = yaml.safe_load(docs[0].read_text())["glossary"]
    assert {"term": "hp", "meaning": "horsepower", "synonyms": ["Horsepower"], "refs": ["cars_data.hp"]} in glossary
    settings = build_settings(bench, ["car_1_0"], load_config([], None))
    config = settings.databases["car_1_0"]
    schema = introspect(sa.create_engine(config.url), "sqlite")
    loaded = load_schema_docs(config.docs, schema)  # every abbreviation names a real column
    assert any(term.term == "hp" for term in loaded.glossary)
    assert load_set(DATA, "spider").docs("car_1", tmp_path) == []
