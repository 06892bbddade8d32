"""ragas' LLM-judged metrics over an OpenAI-compatible endpoint, used only when one is configured.

Nothing here runs unless ``RAGPIPE_LLM_BASE_URL`` is set (``RuntimeSettings.llm_base_url``): ragpipe
never calls an LLM or a paid API on its own. Metrics (ragas 0.4 ``metrics.collections``):

- ``ragas_faithfulness``: share of the answer's statements supported by the answer's context chunks;
- ``ragas_llm_context_recall``: share of the gold answer's statements attributable to those chunks;
- ``ragas_llm_context_precision``: ranking-aware share of those chunks useful for the gold answer.
"""

from __future__ import annotations

import asyncio
import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

from ragpipe.errors import RagpipeError
from ragpipe.evaluation.names import LLM_METRIC_NAMES
from ragpipe.offline import offline_environment


class LLMJudgeError(RagpipeError):
    """The configured LLM endpoint could not be used for judging."""


@dataclass
class JudgeScores:
    scores: dict[str, float] = field(default_factory=dict)
    undefined: dict[str, str] = field(default_factory=dict)


class LLMJudge:
    """Scores one answer with ragas' LLM metrics; the model defaults to the endpoint's first listed model."""

    def __init__(self, base_url: str, api_key: str | None = None, model: str | None = None) -> None:
        self.base_url = base_url
        self.api_key = api_key
        self.model = model
        self._lock = threading.Lock()

    def resolved_model(self) -> str:
        """The model to ask: the configured one, else the first the endpoint lists (asked once)."""
        with self._lock:
            if self.model is None:
                from openai import OpenAI, OpenAIError

                try:
                    with OpenAI(base_url=self.base_url, api_key=self._key(), max_retries=1, timeout=30) as client:
                        listed = [m.id for m in client.models.list()]
                except OpenAIError as exc:
                    raise LLMJudgeError(f"LLM endpoint {self.base_url} cannot list its models: {exc}") from None
                if not listed:
                    raise LLMJudgeError(f"LLM endpoint {self.base_url} lists no model; name one with --llm-model")
                self.model = listed[0]
            return self.model

    def _key(self) -> str:
        return self.api_key or "not-needed"  # local OpenAI-compatible servers accept any key

    def score(self, question: str, answer: str, gold: str, contexts: Sequence[str]) -> JudgeScores:
        """The three metrics of one question. A metric that cannot be defined (no answer, NaN, an
        unparseable judgment) is reported in ``undefined``; an unreachable endpoint raises LLMJudgeError."""
        result = JudgeScores()
        if not contexts:
            result.undefined = dict.fromkeys(LLM_METRIC_NAMES, "no retrieved context to judge")
            return result
        model = self.resolved_model()
        try:
            outcomes = asyncio.run(self._score_all(model, question, answer, gold, list(contexts)))
        except RuntimeError as exc:  # called from a thread that already runs an event loop
            raise LLMJudgeError(f"LLM metrics must run outside an event loop: {exc}") from None
        for name, outcome in outcomes.items():
            if isinstance(outcome, str):
                result.undefined[name] = outcome
            elif math.isnan(outcome):
                result.undefined[name] = "ragas returned NaN (e.g. no statement could be extracted)"
            else:
                result.scores[name] = outcome
        return result

    async def _score_all(
        self, model: str, question: str, answer: str, gold: str, contexts: list[str]
    ) -> dict[str, float | str]:
        """Metric -> value, or -> the reason it is undefined."""
        offline_environment()
        from openai import AsyncOpenAI, OpenAIError
        from ragas.llms import llm_factory
        from ragas.metrics.collections import ContextPrecision, ContextRecall, Faithfulness

        async with AsyncOpenAI(base_url=self.base_url, api_key=self._key(), max_retries=1, timeout=120) as client:
            llm = llm_factory(model, client=client)
            calls = {
                "ragas_llm_context_recall": ContextRecall(llm=llm).ascore(
                    user_input=question, retrieved_contexts=contexts, reference=gold
                ),
                "ragas_llm_context_precision": ContextPrecision(llm=llm).ascore(
                    user_input=question, reference=gold, retrieved_contexts=contexts
                ),
            }
            if answer.strip():
                calls["ragas_faithfulness"] = Faithfulness(llm=llm).ascore(
                    user_input=question, response=answer, retrieved_contexts=contexts
                )
            results = await asyncio.gather(*calls.values(), return_exceptions=True)
        outcomes: dict[str, float | str] = {} if answer.strip() else {"ragas_faithfulness": "empty answer"}
        for name, value in zip(calls, results, strict=True):
            api_error = _api_error(value, OpenAIError) if isinstance(value, BaseException) else None
            if api_error is not None:
                raise LLMJudgeError(f"LLM endpoint {self.base_url} (model {model!r}) failed: {api_error}")
            if isinstance(value, BaseException):
                outcomes[name] = f"judgment failed: {type(value).__name__}: {str(value)[:200]}"
            else:
                outcomes[name] = float(value.value)
        return outcomes


def _api_error(exc: BaseException, api_type: type[BaseException]) -> BaseException | None:
    """The endpoint error (connection, status) behind ``exc``, looking through instructor's retry wrapper;
    None when the failure is a judgment ragas could not parse."""
    seen: set[int] = set()
    pending = [exc]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, api_type):
            return current
        pending += [e for e in (current.__cause__, current.__context__) if e is not None]
        pending += [a.exception for a in getattr(current, "failed_attempts", None) or () if a.exception is not None]
    return None
