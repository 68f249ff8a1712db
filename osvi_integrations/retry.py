"""When a failed call may be tried again, after how long, and within which time budget.

Sans-I/O: the clients ask `CallBudget` how long an attempt may take and how long to wait after a
failure; they do the sleeping and the sending.

A write (a customer message, an operator command) is not idempotent: repeating it after it reached
the engine would duplicate it. So a write is retried only when it provably had no effect: no
connection was made, or the server said so (429 / 503, honouring `Retry-After`). Anything after
which it may have taken effect (a read timeout, a dropped connection, 500/502/504) is raised,
unless the caller opts in with `retry_uncertain_delivery=True`. Read-only calls have no effect,
so they are also retried after timeouts, dropped connections and 5xx.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from .errors import (
    APIConnectionError,
    ConfigurationError,
    NotDeliveredError,
    OSVIError,
    RetryableError,
    ServerError,
)

logger: logging.Logger = logging.getLogger("osvi_integrations")


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 2
    initial_backoff: float = 0.5
    max_backoff: float = 8.0
    #: A `Retry-After` longer than this is not waited out: the error is raised instead.
    max_retry_after: float = 60.0
    #: Also retry writes that may already have taken effect (risk: duplicates).
    retry_uncertain_delivery: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.max_retries, bool) or not isinstance(self.max_retries, int) or self.max_retries < 0:
            raise ConfigurationError(f"max_retries: must be a whole number >= 0, got {self.max_retries!r}.")
        if self.initial_backoff < 0 or self.max_backoff < 0 or self.max_retry_after < 0:
            raise ConfigurationError("retry_policy: backoff and max_retry_after must be >= 0.")

    def is_retryable(self, error: OSVIError, *, read_only: bool = False) -> bool:
        if isinstance(error, RetryableError):
            return True
        if isinstance(error, NotDeliveredError):  # a definite refusal: the same request fails the same way
            return False
        if isinstance(error, (APIConnectionError, ServerError)):
            return read_only or self.retry_uncertain_delivery
        return False

    def backoff(self, retries_done: int, uniform: Callable[[float, float], float] = random.uniform) -> float:
        """Capped exponential backoff with jitter (half fixed, half random) so clients do not retry in lockstep."""
        ceiling = min(self.max_backoff, self.initial_backoff * (2**retries_done))
        return uniform(ceiling / 2, ceiling)

    def delay_before_retry(self, error: OSVIError, retries_done: int, *, read_only: bool = False) -> float | None:
        """Seconds to wait before the next attempt, or None when `error` must be raised."""
        if retries_done >= self.max_retries or not self.is_retryable(error, read_only=read_only):
            return None
        retry_after: float | None = getattr(error, "retry_after", None)
        if retry_after is not None:
            return None if retry_after > self.max_retry_after else retry_after
        return self.backoff(retries_done)


class CallBudget:
    """One call's attempts against its time budget (`timeout` covers every attempt, wait and retry)."""

    def __init__(
        self,
        policy: RetryPolicy,
        timeout: float,
        *,
        read_only: bool,
        clock: Callable[[], float] = time.monotonic,
        started: float | None = None,
    ) -> None:
        """`started`: when the call began, on `clock` (default: now). A client creates the budget only
        after a first failure, so the happy path costs nothing."""
        self._policy = policy
        self._read_only = read_only
        self._clock = clock
        self.timeout = timeout
        self.deadline: float = (clock() if started is None else started) + timeout
        self.retries_done: int = 0

    def remaining(self) -> float:
        """Seconds the next attempt may take."""
        return max(0.0, self.deadline - self._clock())

    def after_failure(self, error: OSVIError) -> float:
        """The wait before the next attempt, or raises `error` (a read never reports an effect)."""
        if self._read_only:
            error.may_have_taken_effect = False
        delay = self._policy.delay_before_retry(error, self.retries_done, read_only=self._read_only)
        if delay is None:
            raise error
        if delay >= self.remaining():
            # The wait alone would use up the budget: report the failure now rather than time out later.
            raise error
        self.retries_done += 1
        logger.info("OSVI request failed (%s); retry %d in %.2fs", error, self.retries_done, delay)
        return delay
