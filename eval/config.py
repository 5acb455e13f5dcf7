"""An eval configuration: Settings fields plus the ask options, from named presets and a TOML file.

The presets make the issue's comparisons a flag away (whole schema vs retrieval, examples, self-correction,
model, escalation); a TOML file may set any Settings field (`top_tables = 8`, `[llm] model_path = "o.gguf"`) and the ask
options `whole_schema` (true/false; absent: whole schema when it fits the context window, the service's
default) and `use_examples`.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from eval.sets import DEFAULT_DATA
from service.settings import Settings

PRESETS: dict[str, dict[str, Any]] = {
    "default": {},
    "whole-schema": {"whole_schema": True},  # every table in the prompt, no retrieval: the baseline
    "retrieval": {"whole_schema": False},  # only the retrieved tables, even when the whole schema would fit
    "no-examples": {"use_examples": False},
    "no-self-correction": {"max_attempts": 1},
    "no-value-links": {"link_values": False},
    "no-schema-links": {"link_schema": False},
    "no-groups": {"group_prefixes": False},  # a large schema's retrieved tables, not the question's group
    "m-schema": {"schema_format": "m_schema"},  # M-Schema's column listing instead of CREATE TABLE (lever 7)
    "candidates-5": {"candidates": 5},  # the greedy answer and 4 sampled ones, voted by their rows
    # the same, only for answers the model was unsure of (or that failed or returned nothing): most are not
    "candidates-5-unsure": {"candidates": 5, "candidates_below_logprob": -0.12},
    "recheck": {"recheck_doubtful": True},  # one more attempt for an empty, all-NULL or disputed answer
    # DAIL-style examples: Spider train's most similar questions (other databases, never dev questions)
    "train-examples": {"example_pool": str(DEFAULT_DATA / "spider" / "train.json")},
    # greedy answers drafted by prompt lookup and verified in one batched pass (service/llm/lookup_decoding.py)
    "lookup-decoding": {"llm": {"speculative_decoding": True}},
    "0.5b": {"llm": {"model": "qwen2.5-coder-0.5b"}},
    # the 0.5B model first, the 1.5B one for what it gets wrong (service/escalation.py)
    "escalate-0.5b-1.5b": {"llm": {"model": "qwen2.5-coder-0.5b"}, "escalation": {"model": "qwen2.5-coder-1.5b"}},
}
# Fields an eval sets itself: which databases exist is the benchmark's business.
_RESERVED = {"databases", "default_db"}


class AskOptions(BaseModel):
    whole_schema: bool | None = None
    use_examples: bool = True


class EvalConfig(BaseModel):
    name: str = "default"
    ask: AskOptions = AskOptions()
    settings: dict[str, Any] = Field(default_factory=dict, description="Settings fields that differ")


def load_config(presets: list[str], config_file: Path | None) -> EvalConfig:
    """Presets applied in order, then the file's values on top."""
    values: dict[str, Any] = {}
    for preset in presets:
        if preset not in PRESETS:
            raise ValueError(f"unknown preset '{preset}'; known: {', '.join(PRESETS)}")
        values.update(PRESETS[preset])
    labels = list(presets)
    if config_file is not None:
        with config_file.open("rb") as f:
            values.update(tomllib.load(f))
        labels.append(config_file.stem)
    name = str(values.pop("name", None) or "+".join(labels) or "default")
    ask = {k: values.pop(k) for k in list(values) if k in AskOptions.model_fields}
    unknown = sorted(set(values) - set(Settings.model_fields)) + sorted(set(values) & _RESERVED)
    if unknown:
        raise ValueError(f"not settable in an eval config: {', '.join(unknown)} (Settings fields and "
                         f"{', '.join(AskOptions.model_fields)} are)")
    return EvalConfig(name=name, ask=AskOptions(**ask), settings=values)
