"""The retry policy and the call budget: a write is repeated only when it provably had no effect."""

from __future__ import annotations

import logging

import pytest

from osvi_integrations import RetryPolicy, errors
from osvi_integrations.retry import CallBudget


def _api(cls: type[errors.APIError], status: int, **kw: object) -> errors.APIError:
    return cls("x", status_code=status, **kw)  # type: ignore[arg-type]


NOT_SENT = errors.ConnectError("refused; nothing was sent")
MAYBE_SENT = errors.APITimeoutError("read timeout")


@pytest.mark.parametrize(
    ("error", "write", "write_opted_in", "read"),
    [
        (NOT_SENT, True, True, True),
        (errors.ConnectTimeoutError("slow connect"), True, True, True),
        (MAYBE_SENT, False, True, True),
        (errors.APIConnectionError("reset"), False, True, True),
        (_api(errors.RateLimitError, 429), True, True, True),
        (_api(errors.ServiceUnavailableError, 503), True, True, True),
        (_api(errors.EngineError, 502), False, True, True),
        (_api(errors.ServerError, 500), False, True, True),
        (errors.SupportCommandRejectedError("no", reason="x", status_code=502), False, False, False),
        (_api(errors.AuthenticationError, 401), False, False, False),
        (_api(errors.AgentNotFoundError, 404), False, False, False),
        (_api(errors.AgentArchivedError, 422), False, False, False),
        (_api(errors.BadRequestError, 400), False, False, False),
        (_api(errors.MalformedResponseError, 200), False, False, False),
        (errors.InvalidRequestError("content", "blank"), False, False, False),
        (errors.ClientClosedError("closed"), False, False, False),
    ],
)
def test_what_is_retried(error: errors.OSVIError, write: bool, write_opted_in: bool, read: bool) -> None:
    assert RetryPolicy().is_retryable(error) is write
    assert RetryPolicy(retry_uncertain_delivery=True).is_retryable(error) is write_opted_in
    assert RetryPolicy().is_retryable(error, read_only=True) is read


def test_error_classes_say_whether_anything_may_have_happened() -> None:
    assert MAYBE_SENT.may_have_taken_effect
    assert not NOT_SENT.may_have_taken_effect and isinstance(NOT_SENT, errors.RetryableError)
    assert isinstance(errors.ConnectTimeoutError("x"), errors.APITimeoutError)
    assert not errors.ConnectTimeoutError("x").may_have_taken_effect
    assert _api(errors.ServerError, 500).may_have_taken_effect
    assert not _api(errors.ServiceUnavailableError, 503).may_have_taken_effect
    assert not isinstance(_api(errors.ServerError, 500), errors.NotDeliveredError)
    for cls in (errors.RateLimitError, errors.ServiceUnavailableError):
        assert issubclass(cls, errors.RetryableError)
    for cls in (errors.APITimeoutError, errors.ServerError, errors.EngineError, errors.MalformedResponseError):
        assert not issubclass(cls, errors.NotDeliveredError)


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


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_budget_counts_retries_and_reraises(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "osvi_integrations")
    budget = CallBudget(RetryPolicy(max_retries=1, initial_backoff=0), 10, read_only=False)
    assert budget.after_failure(NOT_SENT) == 0
    with pytest.raises(errors.ConnectError):
        budget.after_failure(NOT_SENT)
    assert budget.retries_done == 1 and "retry 1" in caplog.text


def test_budget_covers_every_attempt_and_wait() -> None:
    clock = FakeClock()
    budget = CallBudget(RetryPolicy(max_retries=5), 10, read_only=False, clock=clock)
    assert budget.remaining() == 10
    clock.now += 4  # the first attempt took 4 s
    assert budget.remaining() == 6
    limited = _api(errors.RateLimitError, 429, retry_after=5.0)
    assert budget.after_failure(limited) == 5.0  # fits: 5 < 6
    clock.now += 5
    with pytest.raises(errors.RateLimitError):
        budget.after_failure(_api(errors.RateLimitError, 429, retry_after=2.0))  # 2 s wait > 1 s left
    clock.now += 10
    assert budget.remaining() == 0


def test_a_read_never_reports_an_effect_and_is_retried_after_ambiguous_failures() -> None:
    budget = CallBudget(RetryPolicy(max_retries=1, initial_backoff=0), 10, read_only=True)
    timeout = errors.APITimeoutError("slow")
    assert budget.after_failure(timeout) == 0 and not timeout.may_have_taken_effect
    with pytest.raises(errors.ServerError) as info:
        budget.after_failure(_api(errors.ServerError, 500))
    assert not info.value.may_have_taken_effect


@pytest.mark.parametrize("bad", [-1, 1.5, True, "2"])
def test_invalid_max_retries(bad: object) -> None:
    with pytest.raises(errors.ConfigurationError, match="max_retries"):
        RetryPolicy(max_retries=bad)  # type: ignore[arg-type]
