"""The eval harness: benchmark sets through the service's own pipeline, scored by execution match.

`execution_match(pred_sql, gold_sql, db)` is the public scoring function (1 or 0), also usable as the
verifiable reward of RL fine-tuning.
"""

from eval.match import execution_match

__all__ = ["execution_match"]
