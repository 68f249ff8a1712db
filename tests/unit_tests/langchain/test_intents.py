"""The send records' rules, sans I/O: what a call sends given its turns' records, and how the API's
evidence (the session's `updated_at`) is read for an attempt that never reported back."""

from __future__ import annotations

import time
from dataclasses import replace

from osvi_integrations.errors import PossiblyDeliveredError
from osvi_integrations.langchain.ledger import plan_turns, possibly_delivered
from osvi_integrations.protocol.intents import CLOCK_SKEW, SendIntent, changed_since, may_have_been_delivered

STARTED = SendIntent.begin("turn:a", "send_message", content="hi", agent="agent_a", customer="c")


def test_only_turns_never_sent_are_sent() -> None:
    plan = plan_turns([replace(STARTED, status="in_flight"), None])
    assert plan.send == (1,) and plan.skipped == (0,) and plan.check == () and plan.replay is None


def test_a_rerun_replays_a_delivered_turn() -> None:
    done = STARTED.outcome("delivered", {"result": {}})
    assert plan_turns([done]).replay == done and plan_turns([done]).send == ()


def test_a_rerun_checks_an_unfinished_attempt_and_resends_a_refused_one() -> None:
    plan = plan_turns([STARTED])
    assert plan.send == (0,) and plan.check == (STARTED,)
    refused = plan_turns([STARTED.outcome("not_delivered")])
    assert refused.send == (0,) and refused.check == ()


def test_the_evidence() -> None:
    now = time.time()
    attempt = replace(STARTED, started_at=now)
    assert changed_since("2000-01-01T00:00:00Z", now) is False
    later = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now + 1))
    assert changed_since(later, now) is True
    within_skew = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - CLOCK_SKEW / 2))
    assert changed_since(within_skew, now) is True  # clocks disagree: err towards "may"
    assert changed_since(None, now) is True and changed_since("not a time", now) is True
    assert may_have_been_delivered(attempt, None, session_found=False) is False  # it would have opened one
    assert may_have_been_delivered(replace(attempt, session="s-1"), None, session_found=False) is True


def test_the_error_names_the_earliest_attempt() -> None:
    error = possibly_delivered((replace(STARTED, started_at=2.0e9), replace(STARTED, started_at=1.9e9)))
    assert isinstance(error, PossiblyDeliveredError) and error.may_have_taken_effect
    assert error.started_at.startswith("2030-")


def test_the_evidence_is_the_named_session_else_the_agents() -> None:
    from types import SimpleNamespace

    from osvi_integrations.langchain.ledger import UNKNOWN, evidence_in

    sessions = {
        "agent_a": SimpleNamespace(id="s-1", updated_at="T1"),
        "agent_b": SimpleNamespace(id="s-2", updated_at="T2"),
    }
    assert evidence_in(STARTED, sessions) == (True, "T1")  # no session named: the agent's
    assert evidence_in(replace(STARTED, session="s-2"), sessions) == (True, "T2")
    assert evidence_in(replace(STARTED, session="gone"), sessions) == (False, None)
    assert evidence_in(replace(STARTED, agent=None), sessions) == UNKNOWN
