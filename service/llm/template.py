"""The Qwen chat template, rendered locally from a GGUF's own metadata: llama.cpp in-process renders its prompts
with it, and so does the Ollama backend where it sends raw prompts (a prefill needs the template applied by
ragsql, not by the server). A GGUF's vocabulary alone also counts tokens for servers without a tokenizer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from service.errors import LLMUnavailable


class ChatTemplate:
    def __init__(self, llama: Any) -> None:
        """`llama`: a llama_cpp.Llama, with weights or vocabulary only (`vocabulary()`)."""
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        self.llama = llama
        template = llama.metadata.get("tokenizer.chat_template")
        if not template:
            raise LLMUnavailable("the model file carries no chat template")
        self.source = template
        vocab = llama._model
        self._format = Jinja2ChatFormatter(
            template,
            eos_token=vocab.token_get_text(llama.token_eos()),
            bos_token=vocab.token_get_text(llama.token_bos()),
        )

    def render(self, system: str, user: str, prefill: str = "") -> str:
        messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
        return self._format(messages=messages).prompt + prefill

    def tokens(self, text: str) -> list[int]:
        return self.llama.tokenize(text.encode(), add_bos=False, special=True)


def vocabulary(gguf: Path) -> ChatTemplate:
    """A GGUF's tokenizer and chat template without its weights (tens of MB, a fraction of a second)."""
    from llama_cpp import Llama

    if not gguf.is_file():
        raise LLMUnavailable(f"tokenizer file not found: {gguf}")
    return ChatTemplate(Llama(model_path=str(gguf), vocab_only=True, verbose=False))
