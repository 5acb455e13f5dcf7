"""A stand-in for the language model, named as such: for tests of the API's contract (status codes, auth,
validation, queueing, streaming shape), where what the model writes is not under test. It answers a question
with canned SQL, instantly; everything around it (retrieval, guard, database, index) is real."""

from __future__ import annotations

import time

from service.llm.base import LLM, Capabilities, Completion, TokenCallback

COUNT_SUBNETWORKS = "SELECT COUNT(*) FROM subnetwork"


class StandInLLM(LLM):
    name = "stand-in"
    # as the packaged model does (prefix reuse: the pipeline's warm-up runs), less its exact tokenizer
    capabilities = Capabilities(
        exact_token_count=False, prefill=True, prefix_reuse=True, saved_prefixes=False, speculative=False,
        parallel_candidates=False, reasoning_budget=False, context_window=6144, logprobs=False)

    def __init__(self, answers: dict[str, str] | None = None, seconds: float = 0.0) -> None:
        self.answers = answers or {}  # a word of the question -> the SQL answered for it
        self.seconds = seconds  # how long an answer takes, to hold the model's turn (queue tests)

    def count_tokens(self, text: str) -> int:
        return len(text) // 3 + 1  # over-counts, so a prompt never looks smaller than a real one

    def complete(
        self,
        system: str,
        user: str,
        prefill: str = "",
        stop: list[str] | None = None,
        max_tokens: int = 256,
        on_token: TokenCallback | None = None,
        temperature: float = 0.0,
    ) -> Completion:
        question = user.rsplit("Question:", 1)[-1]
        sql = next((s for word, s in self.answers.items() if word in question), COUNT_SUBNETWORKS)
        time.sleep(self.seconds)
        text = sql + "\n"
        for token in text.split(" "):
            if on_token:
                on_token(token)
        return Completion(text=text, prompt_tokens=self.count_tokens(system + user), cached_tokens=0,
                          generated_tokens=len(text.split()), seconds=self.seconds, model=self.name)


class Scripted(StandInLLM):
    """A stand-in model that answers each call with the next of the test's answers, and records the prompts."""

    def __init__(self, *answers: str | list[str]) -> None:
        super().__init__()
        self.script = list(answers)
        self.prompts: list[str] = []
        self.systems: list[str] = []

    def warm_up(self, system, user, prefill=""):
        return False  # not an answer: the script is for the questions

    def complete(self, system, user, prefill="", stop=None, max_tokens=256, on_token=None, temperature=0.0):
        return self.complete_many(system, user, 1)[0]

    def complete_many(self, system, user, n, prefill="", stop=None, max_tokens=256, temperature=0.7, on_token=None):
        self.prompts.append(user)
        self.systems.append(system)
        answer = self.script.pop(0)
        texts = answer if isinstance(answer, list) else [answer]
        assert len(texts) == n
        return [Completion(text=t, prompt_tokens=10, cached_tokens=0, generated_tokens=5, seconds=0.0,
                           model=self.name) for t in texts]
