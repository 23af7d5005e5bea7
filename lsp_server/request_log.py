"""What each answered request cost, for the log, editor plugins, benchmarks and tests.

Every answer is recorded with where it came from (the model, typing through the last
suggestion, or the result cache), its latency and the engine's figures (tokens reused,
moved, evaluated, generated; prefill and decode time). Figures only: never source text.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass

from engines.completion_engine import GenerationStats

logger = logging.getLogger("fimble.requests")

MODEL = "model"
TYPING_THROUGH = "typing_through"
RESULT_CACHE = "result_cache"
SPECULATION = "speculation"  # answered with the next line computed ahead
SPECULATED = "speculated"  # counted in the totals only: a next line computed ahead
# counted in the totals only: a speculation past its run fill, asking the model
SPECULATION_ASKING = "speculation_asking"
# counted in the totals only: a request that found its place being speculated and waited
SPECULATION_AWAITED = "speculation_awaited"
DOCUMENT_RUNS = "document_runs"  # counted in the totals only: a document's runs all ready
BACKGROUND_STOPPED = "background_stopped"  # counted in the totals only: stopped by a request
IDLE_PREFILL = "idle_prefill"  # counted in the totals only: it answers no request
CANCELLED = "cancelled"  # superseded by a newer request, or $/cancelRequest


@dataclass(frozen=True)
class RequestRecord:
    source: str
    latency_ms: float
    stats: GenerationStats

    def as_dict(self) -> dict[str, object]:
        return {
            "source": self.source,
            "latency_ms": self.latency_ms,
            **dataclasses.asdict(self.stats),
        }


class RequestLog:
    """The most recent records and running totals per source."""

    def __init__(self, keep: int = 200) -> None:
        self._recent: deque[RequestRecord] = deque(maxlen=keep)
        self._totals: Counter[str] = Counter()
        self._lock = threading.Lock()  # cancelled requests are recorded on the worker thread

    def record(self, source: str, stats: GenerationStats | None, *, started: float) -> None:
        """Record an answer to a request that arrived at `started` (perf_counter)."""
        latency_ms = (time.perf_counter() - started) * 1000
        entry = RequestRecord(source, round(latency_ms, 2), stats or GenerationStats())
        with self._lock:
            self._recent.append(entry)
            self._totals[source] += 1
        figures = entry.stats
        logger.info(
            "answered from %s in %.0f ms: prompt %d tokens, reused %d (moved %d), "
            "evaluated %d, generated %d over %d pass(es), prefill %.0f ms, decode %.0f ms, "
            "stop %s",
            source,
            latency_ms,
            figures.prompt_tokens,
            figures.reused_tokens,
            figures.moved_tokens,
            figures.evaluated_tokens,
            figures.generated_tokens,
            figures.passes,
            figures.prefill_seconds * 1000,
            figures.decode_seconds * 1000,
            figures.stop_reason or "-",
        )

    def count(self, event: str) -> None:
        """Count work that answered no request (an idle prefill, say)."""
        with self._lock:
            self._totals[event] += 1

    def summary(self) -> dict[str, object]:
        """The last record's figures at the top level, then the recent ones and totals."""
        with self._lock:
            recent = [entry.as_dict() for entry in self._recent]
            totals = dict(self._totals)
        return {**(recent[-1] if recent else {}), "recent": recent, "totals": totals}
