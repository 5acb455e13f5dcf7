"""When a question goes to the stronger model (`settings.escalation`), and which answer is kept.

The first model's answer is escalated when its attempts all failed (no SQL, refused, an error when run), when it
ran and returned no rows (the question asked for something: an empty answer is most often a wrong filter or
join), or when the model was unsure of it: the mean log-probability of its tokens under
`escalate_below_logprob`, where the backend reports log-probabilities."""

from __future__ import annotations

from service.results import AskResult

# What an answer is, as opposed to how it was reached (attempts, tokens, timings accumulate over both models).
ANSWER_FIELDS = ("sql", "columns", "rows", "row_count", "truncated", "executed", "error", "error_kind", "model")


def escalation_reason(result: AskResult, min_logprob: float | None) -> str | None:
    """Why the first model's answer should go to the stronger model, or None to keep it."""
    if result.error_kind:
        return f"failed: {result.error_kind}"
    if result.executed and result.row_count == 0:
        return "empty_result"
    confidence = result.attempts[-1].logprob_mean if result.attempts else None
    if min_logprob is not None and confidence is not None and confidence < min_logprob:
        return f"low_confidence: {confidence:.3f}"
    return None


def answer_of(result: AskResult) -> dict[str, object]:
    return {name: getattr(result, name) for name in ANSWER_FIELDS}


def keep_better(result: AskResult, first: dict[str, object]) -> None:
    """After escalation: the stronger model's answer, unless it failed where the first model's had not (an empty
    or unsure answer beats none)."""
    if result.error_kind and not first["error_kind"]:
        for name, value in first.items():
            setattr(result, name, value)
