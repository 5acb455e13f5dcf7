"""The ask pipeline: retrieve -> prompt -> generate -> validate -> execute, self-correcting on errors (and,
on a database's first question in a process, a warm-up that saves or loads its prompt prefix, where the model
reuses prefixes). A question the first model answers badly goes to the escalation model, when one is set."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import sqlglot
from sqlglot import exp

from service.candidates import AttemptFailed, Outcome, choose, doubt, unsure
from service.catalog import SchemaCatalog
from service.databases import QueryResult
from service.errors import BadRequest, QueryFailed, QueryTimeout, SQLRefused
from service.escalation import answer_of, escalation_reason, keep_better
from service.extract import extract_sql
from service.llm import LLM
from service.prompt import STOP, Prompt, PromptBuilder, Retry, relevant_terms
from service.repair import repaired
from service.results import AskResult, Attempt, RetrievedContext, Tokens
from service.retrieve import retrieve
from service.runtime import Runtime
from service.sql_guard import CheckedSQL
from service.values import link_values

EventCallback = Callable[[str, dict[str, Any]], None]  # ("stage" | "token", data)
Stage = Callable[[str], AbstractContextManager[None]]  # times a stage of the ask
CLOSING_FENCE = ["\n```"]  # the stop without a prefilled opening fence: the model writes the opening one


class AskPipeline:
    def __init__(self, runtime: Runtime) -> None:
        self.rt = runtime
        self.settings = runtime.settings
        s = self.settings
        # a prompt must fit both models' windows, counted with the first model's tokenizer (one family)
        window = min(m.capabilities.context_window for m in (runtime.llm, runtime.escalation) if m)
        self.prompts = PromptBuilder(runtime.llm.count_tokens, s.prompt_token_budget, window - s.max_new_tokens,
                                     s.group_prefixes, s.schema_format)
        # (model, database) and (model, database/group) prefixes this process evaluated or loaded
        self._warm: set[tuple[str, str]] = set()

    def ask(
        self,
        question: str,
        db_id: str,
        execute: bool = True,
        max_rows: int | None = None,
        on_event: EventCallback | None = None,
        whole_schema: bool | None = None,
        use_examples: bool = True,
        max_attempts: int | None = None,
    ) -> AskResult:
        s = self.settings
        self.check_question(question)
        emit = on_event or (lambda kind, data: None)
        result = AskResult(question=question, db=db_id)
        timings = result.timings

        @contextmanager
        def stage(name: str) -> Iterator[None]:
            emit("stage", {"stage": name})
            started = time.perf_counter()
            try:
                yield
            finally:
                timings[name] = round(timings.get(name, 0.0) + time.perf_counter() - started, 4)

        catalog = self.rt.catalog(db_id)
        with stage("retrieve"):
            result.context = self.context(question, db_id, use_examples)
        answer = (catalog, question, execute, max_rows or s.max_rows, whole_schema, max_attempts or s.max_attempts)
        self._answer(self.rt.llm, result, stage, emit, *answer)
        stronger = self.rt.escalation
        if stronger is not None:
            result.escalated = escalation_reason(result, s.escalate_below_logprob)
            if result.escalated:
                emit("stage", {"stage": "escalate", "reason": result.escalated, "model": stronger.name})
                first = answer_of(result)
                self._answer(stronger, result, stage, emit, *answer)
                keep_better(result, first)
        return result

    def context(self, question: str, db_id: str, use_examples: bool = True) -> RetrievedContext:
        """What the prompt carries beside the schema: the retrieved tables, columns and examples, and the
        glossary terms, schema names and stored values the question mentions."""
        s = self.settings
        catalog = self.rt.catalog(db_id)
        context = retrieve(self.rt.searcher, catalog, db_id, question, s.top_tables, s.top_columns,
                           s.top_examples if use_examples else 0, s.example_min_score)
        context.terms = [g["term"] for g in relevant_terms(catalog, context, question)]
        pool = self.rt.example_pool
        if pool is not None and use_examples:
            context.patterns = pool.similar(question, catalog.words, s.pool_examples)
        tables = [t.table for t in context.tables]
        if s.link_schema:
            context.links = self.rt.schema_linker.link(question, db_id, catalog, tables)
        if s.link_values:
            context.values = link_values(question, catalog, tables,
                                         lambda table, column: self.rt.sample_value(db_id, table, column))
        return context

    def _answer(
        self,
        llm: LLM,
        result: AskResult,
        stage: Stage,
        emit: EventCallback,
        catalog: SchemaCatalog,
        question: str,
        execute: bool,
        max_rows: int,
        whole_schema: bool | None,
        max_attempts: int,
    ) -> None:
        """`llm`'s attempts at the question, into `result`: the first that validates (and runs) ends them, unless
        its rows make it doubtful (`recheck_doubtful`): then one more attempt is told why, and the doubtful answer
        stands if that one does no better. The first attempt drafts `candidates` answers, voted by their rows."""
        s = self.settings
        db_id = result.db
        if (llm.name, db_id) not in self._warm:  # the first question on it: its prefix evaluated, saved or loaded
            with stage("warm_up"):
                self.warm_up(db_id, llm)
        retry: Retry | None = None
        doubtful: Outcome | None = None  # an answer that ran but looked wrong, kept in case the recheck fails
        for number in range(max_attempts):
            with stage("prompt"):
                prompt = self.prompts.build(catalog, result.context, question, whole_schema, retry)
            result.context.prompt_tables = prompt.tables
            group = (llm.name, f"{db_id}/{prompt.group}")
            if prompt.group and group not in self._warm:  # the group's first question: its prefix saved or loaded
                with stage("warm_up"):
                    self._evaluate_prefix(llm, prompt, question_free=True)
                self._warm.add(group)
            drafts = s.candidates if number == 0 and execute else 1  # voting needs rows
            gated = drafts > 1 and s.candidates_below_logprob is not None  # the greedy answer first, alone
            n = 1 if gated else drafts
            outcomes = [self._try(db_id, catalog, question, attempt, execute, max_rows, stage)
                        for attempt in self._generate(llm, prompt, n, result, stage, emit)]
            if gated and unsure(outcomes[0], s.candidates_below_logprob):
                n = drafts  # the greedy answer is drafted again among them: one batch, not a separate pass
                outcomes = [self._try(db_id, catalog, question, attempt, execute, max_rows, stage)
                            for attempt in self._generate(llm, prompt, n, result, stage, emit)]
            best, agreeing = choose(outcomes)
            result.attempts.append(best.attempt)
            result.model = best.attempt.model
            if n > 1:
                result.candidates_agreeing = agreeing
            if best.ok:
                # an answer from half of a sister pair that finds nothing is asked again with both
                reason = doubt(best, agreeing, n) if s.recheck_doubtful or prompt.narrowed else None
                if doubtful is not None:  # the recheck: its answer, unless it is no less doubtful
                    _settle(result, doubtful if reason else best)
                    return
                if reason is None or number + 1 == max_attempts:
                    _settle(result, best)
                    return
                best.attempt.doubt = reason
                doubtful, retry = best, Retry(best.attempt.sql, reason)
                continue
            if doubtful is not None:  # the recheck failed: the doubtful answer stands
                _settle(result, doubtful)
                return
            failure = best.failure
            assert failure is not None
            result.error, result.error_kind = str(failure), failure.kind
            if failure.kind == "timeout":  # another slow query would only time out again
                return
            retry = Retry(best.attempt.sql, _correction_hint(failure, best.attempt.sql, catalog))

    def _generate(self, llm: LLM, prompt: Prompt, n: int, result: AskResult, stage: Stage,
                  emit: EventCallback) -> list[Attempt]:
        """`n` answers to the prompt as attempts (the greedy one first, streamed), their tokens counted."""
        s = self.settings
        # the opening fence prefilled where the backend continues an answer; else the model writes it
        prefill = prompt.prefill if llm.capabilities.prefill else ""
        stop = STOP if prefill else CLOSING_FENCE
        stream = lambda t: emit("token", {"text": t})  # noqa: E731
        with stage("generate"):
            if n > 1:
                completions = llm.complete_many(prompt.system, prompt.user, n, prefill, stop, s.max_new_tokens,
                                                s.candidate_temperature, on_token=stream)
            else:
                completions = [llm.complete(prompt.system, prompt.user, prefill, stop, s.max_new_tokens,
                                            on_token=stream)]
        counts = {"prompt": "prompt_tokens", "cached": "cached_tokens", "generated": "generated_tokens",
                  "drafted": "drafted", "accepted": "accepted"}
        result.tokens = Tokens(**{kind: getattr(result.tokens, kind) + sum(getattr(c, field) for c in completions)
                                  for kind, field in counts.items()})
        return [Attempt(sql=extract_sql(prefill + c.text), raw=c.text, model=c.model or llm.name,
                        logprob_mean=c.logprob_mean) for c in completions]

    def _try(self, db_id: str, catalog: SchemaCatalog, question: str, attempt: Attempt, execute: bool,
             max_rows: int, stage: Stage) -> Outcome:
        """Validate an attempt and (where asked) run it; a failure is recorded on the attempt."""
        outcome = Outcome(attempt)
        try:
            with stage("validate"):
                outcome.checked = self._validate(db_id, catalog, question, attempt, max_rows)
            if execute:
                with stage("execute"):
                    outcome.rows = self._execute(db_id, outcome.checked, max_rows)
        except AttemptFailed as failure:
            outcome.failure = failure
            attempt.error, attempt.error_kind, attempt.rule = str(failure), failure.kind, failure.rule
        return outcome

    def check_question(self, question: str) -> None:
        """Refuse a question longer than the configured limit, before any work is done for it."""
        limit = self.settings.max_question_chars
        if len(question) > limit:
            raise BadRequest(f"question: is longer than {limit} characters")

    def warm_up(self, db_id: str, llm: LLM | None = None) -> bool:
        """Evaluate the stable prompt prefix of a database once (on the first model unless `llm` is given), so
        its first question is answered warm, where the model reuses prefixes. True when the model loaded that
        evaluation from disk instead."""
        llm = llm or self.rt.llm
        loaded = False
        if _reuses_prefixes(llm):
            catalog = self.rt.catalog(db_id)
            prompt = self.prompts.build(catalog, retrieve(self.rt.searcher, catalog, db_id, "warm-up", 1, 1, 0), "")
            # a schema too large for one prompt has no one prefix: its groups are warmed by their first questions
            if prompt.tables == list(catalog.tables):
                loaded = self._evaluate_prefix(llm, prompt)
        self._warm.add((llm.name, db_id))
        return loaded

    @staticmethod
    def _evaluate_prefix(llm: LLM, prompt: Prompt, question_free: bool = False) -> bool:
        """`llm.warm_up` on the prompt, where the backend reuses prefixes; `question_free`: without its user
        message, so that the state saved for a group is found again whichever question comes first."""
        if not _reuses_prefixes(llm):
            return False
        prefill = prompt.prefill if llm.capabilities.prefill else ""
        return llm.warm_up(prompt.system, "" if question_free else prompt.user, prefill)

    def _validate(self, db_id: str, catalog: SchemaCatalog, question: str, attempt: Attempt,
                  max_rows: int) -> CheckedSQL:
        sql = attempt.sql
        if not sql:
            raise AttemptFailed("no_sql", "the answer contained no SQL statement")
        try:
            sql, checked = repaired(sql, catalog, question, lambda sql: self.rt.check_sql(db_id, sql, max_rows))
        except SQLRefused as refused:
            kind = {"parse": "parse", "unknown_table": "unknown_identifier",
                    "unknown_column": "unknown_identifier"}.get(refused.rule, "refused")
            raise AttemptFailed(kind, refused.reason, refused.identifier, refused.rule) from None
        if sql != attempt.sql:
            attempt.repaired_sql = sql
        return checked

    def _execute(self, db_id: str, checked: CheckedSQL, max_rows: int) -> QueryResult:
        try:
            return self.rt.execute(db_id, checked, max_rows)
        except QueryTimeout as exc:
            raise AttemptFailed("timeout", str(exc)) from None
        except QueryFailed as exc:
            raise AttemptFailed("runtime", str(exc)) from None


def _reuses_prefixes(llm: LLM) -> bool:
    return llm.capabilities.prefix_reuse or llm.capabilities.saved_prefixes


def _settle(result: AskResult, outcome: Outcome) -> None:
    """The answer is `outcome`'s: its SQL and rows into `result`, and any earlier attempt's error cleared."""
    assert outcome.checked is not None
    result.sql = outcome.checked.sql
    result.model = outcome.attempt.model
    if outcome.rows is not None:
        rows = outcome.rows
        result.columns, result.rows = rows.columns, rows.rows
        result.row_count, result.truncated, result.executed = rows.row_count, rows.truncated, True
    result.error = result.error_kind = None


def _correction_hint(failure: AttemptFailed, sql: str | None, catalog: SchemaCatalog) -> str:
    """The error, which tables really own a mistaken column, and the real columns of the tables the failed
    query touched: what a small model most often gets wrong is a column's table (measured on Spider: 9 of 22
    misses), and told only the error it tends to repeat the same query."""
    error = str(failure)
    if failure.column:
        owners = [t.name for t in catalog.tables.values() if t.column(failure.column)]
        if owners:
            error += f". Column '{failure.column}' belongs to: {', '.join(owners)}; join that table if needed"
    names: list[str] = []
    if sql:
        try:
            names = [t.name for t in sqlglot.parse_one(sql, read=catalog.dialect).find_all(exp.Table)]
        except sqlglot.errors.SqlglotError:
            names = []
    tables = [catalog.tables[n] for n in dict.fromkeys(filter(None, map(catalog.find, names)))]
    if not tables:
        return error
    listing = "; ".join(f"{t.name}({', '.join(c.name for c in t.columns)})" for t in tables)
    return f"{error}. Valid columns: {listing}"
