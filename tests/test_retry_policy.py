"""The retry policy: only provably-undelivered failures are retried unless the caller opts in."""

from __future__ import annotations

import pytest

from osvi_integrations import RetryPolicy, errors


def _api(cls: type[errors.APIError], status: int, **kw: object) -> errors.APIError:
    return cls("x", status_code=status, **kw)  # type: ignore[arg-type]


NOT_SENT = errors.APIConnectionError("refused", may_have_been_delivered=False)
MAYBE_SENT = errors.APITimeoutError("read timeout", may_have_been_delivered=True)


@pytest.mark.parametrize(
    ("error", "safe", "opted_in"),
    [
        (NOT_SENT, True, True),
        (MAYBE_SENT, False, True),
        (_api(errors.RateLimitError, 429), True, True),
        (_api(errors.ServiceUnavailableError, 503), True, True),
        (_api(errors.EngineError, 502), False, True),
        (_api(errors.ServerError, 500), False, True),
        (_api(errors.AuthenticationError, 401), False, False),
        (_api(errors.AgentNotFoundError, 404), False, False),
        (_api(errors.AgentArchivedError, 422), False, False),
        (_api(errors.BadRequestError, 400), False, False),
        (_api(errors.MalformedResponseError, 200), False, False),
        (errors.InvalidRequestError("content", "blank"), False, False),
    ],
)
def test_what_is_retried(error: errors.OSVIError, safe: bool, opted_in: bool) -> None:
    assert RetryPolicy().is_retryable(error) is safe
    assert RetryPolicy(retry_uncertain_delivery=True).is_retryable(error) is opted_in


def test_backoff_is_capped_exponential_with_jitter() -> None:
    policy = RetryPolicy(initial_backoff=0.5, max_backoff=4.0)
    for retries_done, ceiling in [(0, 0.5), (1, 1.0), (2, 2.0), (3, 4.0), (10, 4.0)]:
        delays = {policy.backoff(retries_done) for _ in range(50)}
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(delays) > 1  # jittered, not lockstep
    assert policy.backoff(2, uniform=lambda lo, hi: hi) == 2.0


def test_retry_after_is_honoured_and_capped() -> None:
    policy = RetryPolicy(max_retries=3, max_retry_after=10)
    assert policy.delay_before_retry(_api(errors.RateLimitError, 429, retry_after=2.5), 0) == 2.5
    assert policy.delay_before_retry(_api(errors.RateLimitError, 429, retry_after=11), 0) is None
    assert policy.delay_before_retry(_api(errors.RateLimitError, 429, retry_after=2.5), 3) is None


def test_tracker_counts_and_reraises() -> None:
    tracker = RetryPolicy(max_retries=1, initial_backoff=0).attempts()
    assert tracker.after_failure(NOT_SENT) == 0
    with pytest.raises(errors.APIConnectionError):
        tracker.after_failure(NOT_SENT)
    assert tracker.retries_done == 1


@pytest.mark.parametrize("bad", [-1, 1.5, True, "2"])
def test_invalid_max_retries(bad: object) -> None:
    with pytest.raises(errors.ConfigurationError, match="max_retries"):
        RetryPolicy(max_retries=bad)  # type: ignore[arg-type]
