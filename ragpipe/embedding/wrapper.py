"""What every Embedder that stands in front of another one forwards unchanged."""

from __future__ import annotations

from collections.abc import Sequence

from ragpipe.protocols import Embedder


class EmbedderWrapper:
    """Forwards the model's identity, dimension and length limit to ``inner``; subclasses embed."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner

    @property
    def model_id(self) -> str:
        return self.inner.model_id

    @property
    def dimension(self) -> int:
        return self.inner.dimension

    @property
    def max_input_tokens(self) -> int | None:
        return self.inner.max_input_tokens

    def input_lengths(self, texts: Sequence[str]) -> list[int]:
        return self.inner.input_lengths(texts)

    def token_spans(self, text: str) -> list[tuple[int, int]]:
        return self.inner.token_spans(text)
