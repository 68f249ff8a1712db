"""When a failed send may be retried, and after how long.

Sending a customer message is not idempotent: a resend after the engine got the
message would show the customer's words to the agent twice. So by default we retry
only when the message provably did not arrive: the connection was never established,
or the server said so (429 / 503, honouring `Retry-After`). Anything after which the
message may have arrived (read timeout, dropped connection, 500/502/504) is raised,
unless the caller opts in with `retry_uncertain_delivery=True`.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass

from .errors import (
    APIConnectionError,
    ConfigurationError,
    OSVIError,
    RateLimitError,
    ServerError,
    ServiceUnavailableError,
)

logger = logging.getLogger("osvi_integrations")


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 2
    initial_backoff: float = 0.5
    max_backoff: float = 8.0
    #: A `Retry-After` longer than this is not waited out: the error is raised instead.
    max_retry_after: float = 60.0
    #: Also retry when the message may already have reached the engine (risk: duplicates).
    retry_uncertain_delivery: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.max_retries, bool) or not isinstance(self.max_retries, int) or self.max_retries < 0:
            raise ConfigurationError(f"max_retries: must be a whole number >= 0, got {self.max_retries!r}.")
        if self.initial_backoff < 0 or self.max_backoff < 0 or self.max_retry_after < 0:
            raise ConfigurationError("retry_policy: backoff and max_retry_after must be >= 0.")

    def is_retryable(self, error: OSVIError) -> bool:
        if isinstance(error, (RateLimitError, ServiceUnavailableError)):
            return True
        if isinstance(error, APIConnectionError):
            return self.retry_uncertain_delivery or not error.may_have_been_delivered
        if isinstance(error, ServerError):
            return self.retry_uncertain_delivery
        return False

    def backoff(self, retries_done: int, uniform: Callable[[float, float], float] = random.uniform) -> float:
        """Capped exponential backoff with jitter (half fixed, half random) so clients do not retry in lockstep."""
        ceiling = min(self.max_backoff, self.initial_backoff * (2**retries_done))
        return uniform(ceiling / 2, ceiling)

    def delay_before_retry(self, error: OSVIError, retries_done: int) -> float | None:
        """Seconds to wait before the next attempt, or None when `error` must be raised."""
        if retries_done >= self.max_retries or not self.is_retryable(error):
            return None
        retry_after: float | None = getattr(error, "retry_after", None)
        if retry_after is not None:
            if retry_after > self.max_retry_after:
                return None
            return retry_after
        return self.backoff(retries_done)

    def attempts(self) -> RetryTracker:
        return RetryTracker(self)


class RetryTracker:
    """Counts the retries of one call. `after_failure` returns the wait, or re-raises."""

    def __init__(self, policy: RetryPolicy) -> None:
        self._policy = policy
        self.retries_done = 0

    def after_failure(self, error: OSVIError) -> float:
        delay = self._policy.delay_before_retry(error, self.retries_done)
        if delay is None:
            raise error
        self.retries_done += 1
        logger.info("OSVI request failed (%s); retry %d in %.2fs", error, self.retries_done, delay)
        return delay
