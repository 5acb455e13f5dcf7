"""Prompt-lookup decoding (service/llm/lookup_decoding.py) against llama-cpp-python's own greedy generation, on
the same prompts with the same model in one process: tokens/s, draft acceptance, and whether the SQL agrees.

    .venv/bin/python bench/lookup_bench.py [--db concert_singer] [--questions 10] [--draft 4] [--min-ngram 2]

The prompts are the service's own (whole schema, question last), for Spider dev questions of one database; each
prompt's prefix is evaluated once before timing, so both decoders are timed warm, as in the running service.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from service.llm.lookup_decoding import DecodeStats, greedy_lookup
from service.llm.model_files import packaged_model_file
from service.prompt import PREFILL, PromptBuilder
from service.results import RetrievedContext
from service.settings import Settings

REPO = Path(__file__).resolve().parent.parent
SPIDER = REPO.parent / "shared" / "data" / "spider"
FENCE_END = "```"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", default="concert_singer")
    parser.add_argument("--questions", type=int, default=10)
    parser.add_argument("--draft", type=int, default=4)
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--min-ngram", type=int, default=2)
    parser.add_argument("--threads", type=int, default=os.cpu_count(), help="decode threads (the service's: all)")
    args = parser.parse_args()

    import sqlalchemy as sa
    from llama_cpp import Llama
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    from indexer.introspect import introspect
    from service.catalog import SchemaCatalog

    settings = Settings()
    path = packaged_model_file(settings.llm.model, settings.llm.model_cache)
    llm = Llama(model_path=str(path), n_ctx=4096, n_batch=512, n_threads=args.threads, verbose=False)
    vocab = llm._model
    chat = Jinja2ChatFormatter(llm.metadata["tokenizer.chat_template"], eos_token=vocab.token_get_text(llm.token_eos()),
                               bos_token=vocab.token_get_text(llm.token_bos()))
    database = SPIDER / "database" / args.db / f"{args.db}.sqlite"
    schema = introspect(sa.create_engine(f"sqlite:///{database}"), "sqlite")
    catalog = SchemaCatalog("sqlite", "", [], {t.name: t for t in schema.tables})
    builder = PromptBuilder(lambda text: len(llm.tokenize(text.encode(), add_bos=False)), 3400, 4096)
    asked = [q["question"] for q in json.loads((SPIDER / "dev.json").read_text()) if q["db_id"] == args.db]
    totals = {"greedy": [0, 0.0], "lookup": [0, 0.0]}
    stats, agree = DecodeStats(), 0
    for question in asked[: args.questions]:
        prompt = builder.build(catalog, RetrievedContext(), question, whole_schema=True)
        text = chat(messages=[{"role": "system", "content": prompt.system},
                              {"role": "user", "content": prompt.user}]).prompt + PREFILL
        tokens = llm.tokenize(text.encode(), add_bos=False, special=True)
        llm.create_completion(tokens, max_tokens=1, temperature=0.0)  # the prompt evaluated: both timed warm

        started = time.perf_counter()
        plain = [c["choices"][0]["text"] for c in llm.create_completion(
            tokens, max_tokens=args.max_tokens, temperature=0.0, stop=[FENCE_END], stream=True)]
        totals["greedy"][0] += len(plain)
        totals["greedy"][1] += time.perf_counter() - started

        started = time.perf_counter()
        out: list[int] = []
        for token in greedy_lookup(llm, tokens, args.max_tokens,
                                   lambda done: FENCE_END in llm.detokenize(done).decode(errors="ignore"),
                                   args.draft, stats, args.min_ngram):
            out.append(token)
        totals["lookup"][0] += len(out)
        totals["lookup"][1] += time.perf_counter() - started
        looked = llm.detokenize(out).decode(errors="ignore").split(FENCE_END)[0]
        agree += looked.strip() == "".join(plain).strip()
    for name, (count, seconds) in totals.items():
        print(f"{name:7s} {count} tokens in {seconds:.2f} s: {count / seconds:.1f} tokens/s, "
              f"{1000 * seconds / max(count, 1):.0f} ms/token")
    # cost model from this machine's measurement: a pass of k tokens costs about 1 + (k - 1) / 6 one-token passes
    modelled = totals["lookup"][0] / (stats.passes + (stats.batch_tokens - stats.passes) / 6 + args.questions)
    print(f"lookup: {stats.drafted} drafted, {stats.accepted} accepted ({stats.accepted / max(stats.drafted, 1):.0%}), "
          f"{stats.passes} passes for {totals['lookup'][0]} tokens (modelled speed-up {modelled:.2f}x); "
          f"same SQL as greedy for {agree}/{args.questions} questions")


if __name__ == "__main__":
    main()
