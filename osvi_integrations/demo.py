"""End-to-end demo: one customer's conversation handed to an OSVI agent with its context, escalated,
taken over by a human operator, handed back and closed, all through the public client API.

Runs against the embedded sandbox (no account needed), or against a real account when
`OSVI_API_TOKEN` and `OSVI_AGENT_UUID` are set (the multi-state and error tours use sandbox agents
and are skipped there).

    osvi-demo            # or: python -m osvi_integrations.demo
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import uuid
from typing import TextIO

from . import AsyncOSVIClient, OSVIClient, OSVIError, SendMessageResult, SupportCommandRejectedError
from .conversation import Conversation
from .sandbox import ARCHIVED_AGENT, FAULTY_AGENT, ORDERS_AGENT, Target, open_target
from .types import SupportCommandResult


class Transcript:
    def __init__(self, out: TextIO) -> None:
        self.out = out

    def heading(self, text: str) -> None:
        print(f"\n== {text}", file=self.out)

    def customer(self, text: str) -> None:
        print(f"  customer > {text}", file=self.out)

    def agent(self, result: SendMessageResult) -> None:
        reply = result.reply if result.reply is not None else "(no reply: a human operator has the conversation)"
        print(f"  agent    < {reply}", file=self.out)
        flags = f"mode={result.mode} state={result.state} help_requested={str(result.help_requested).lower()}"
        print(f"             [{flags}]", file=self.out)

    def operator(self, action: str, result: SupportCommandResult) -> None:
        extra = f" -> agent replies: {result.reply}" if result.reply else ""
        who = f" ({result.active_human})" if result.active_human else ""
        print(f"  operator ! {action}{who}{extra}", file=self.out)

    def note(self, text: str) -> None:
        print(f"  ({text})", file=self.out)


def _say(conversation: Conversation, transcript: Transcript, text: str) -> SendMessageResult:
    transcript.customer(text)
    result = conversation.send(text)
    transcript.agent(result)
    return result


def _handoff(client: OSVIClient, target: Target, customer_id: str, transcript: Transcript) -> None:
    transcript.heading("Find the agent, start the session with what it should know")
    agents = client.agents.list_active()
    transcript.note("active agents: " + ", ".join(f"{a.agent_id} ({a.name})" for a in agents))
    conversation = client.conversation(target.agent_uuid, customer_id)
    session = conversation.start(
        input_fields={"first_name": "Alex", "plan": "gold"},
        context=["Called yesterday about a late delivery; promised a follow-up by chat."],
    )
    transcript.note(f"session {session.id} started with context: {session.metadata.context}")
    _say(conversation, transcript, "Hello!")
    added = conversation.inject_context("Voice call just now: customer is upset, order 48213 is a gift.")
    transcript.note(f"context added, the session now holds {len(added.context)} entries")
    _say(conversation, transcript, "I have a question about my order.")

    transcript.heading("Escalation and a human takeover")
    escalated = _say(conversation, transcript, "This isn't working, can I talk to a human please?")
    if escalated.help_requested:
        transcript.note("help_requested is true: route this conversation to your support queue")
    support = client.support
    session_id = escalated.session_id
    transcript.operator("takeover", support.takeover(session_id, "Hi Alex, this is Ana from support."))
    taken_over = _say(conversation, transcript, "Hello? Is anyone there?")
    if taken_over.human_has_taken_over:
        transcript.note("reply is null and mode is 'support': a person answers, your bot must stay quiet")
    transcript.operator("message", support.send_message(session_id, "I see the delay. I've upgraded your shipping."))
    try:
        support.tell(session_id, "Apologise for the delay.")
    except SupportCommandRejectedError as error:
        transcript.note(f"tell refused while a human has the session ({error.reason}); it was not applied")
    transcript.operator("whisper", support.whisper(session_id, "offer a 10% voucher"))
    transcript.operator("end (hand back)", support.hand_back(session_id))
    state = conversation.refresh()
    transcript.note(f"active session read back: mode={state.mode if state else None}")
    _say(conversation, transcript, "Thanks, that's all!")

    transcript.heading("Closing, and the thread carries on in a new session")
    transcript.operator("close", support.close(session_id))
    after = _say(conversation, transcript, "Oh, one more thing!")
    transcript.note(
        f"continued in new session {after.session_id}: the closed session refused the message (nothing "
        "delivered), so it went again without session_id and was delivered once"
    )


async def _orders_conversation(target: Target, customer_id: str, transcript: Transcript) -> None:
    transcript.heading(f"A multi-state agent walks its states ({ORDERS_AGENT}, async client)")
    async with AsyncOSVIClient(target.api_token, base_url=target.base_url) as client:
        conversation = client.conversation(ORDERS_AGENT, customer_id)
        for text in ("Hi there", "Where is my order?", "It's order 48213", "Great, thanks!"):
            transcript.customer(text)
            transcript.agent(await conversation.send(text))


def _error_tour(client: OSVIClient, target: Target, customer_id: str, transcript: Transcript) -> None:
    transcript.heading("Errors are typed, and say whether the call may have taken effect")
    for agent, text in ((ARCHIVED_AGENT, "Hello?"), (FAULTY_AGENT, "Hello?"), (target.agent_uuid, "   ")):
        try:
            client.send_message(agent, customer_id, text)
        except OSVIError as error:
            effect = "may have taken effect" if error.may_have_taken_effect else "had no effect"
            transcript.note(f"{type(error).__name__}: {error} (the message {effect})")


def run(out: TextIO = sys.stdout, customer_id: str | None = None) -> None:
    customer_id = customer_id or f"+1555{uuid.uuid4().int % 10**7:07d}"
    transcript = Transcript(out)
    with open_target() as target:
        where = "the embedded sandbox" if target.sandbox else "your OSVI account"
        print(f"OSVI demo against {where} at {target.base_url}, customer {customer_id}", file=out)
        with OSVIClient(target.api_token, base_url=target.base_url) as client:
            _handoff(client, target, customer_id, transcript)
            if target.sandbox is not None:
                asyncio.run(_orders_conversation(target, customer_id, transcript))
                _error_tour(client, target, customer_id, transcript)
    print("\nDone.", file=out)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="osvi-demo", description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--customer-id", help="the customer's id (default: a random phone number)")
    args = parser.parse_args(argv)
    try:
        run(customer_id=args.customer_id)
    except OSVIError as error:
        raise SystemExit(f"osvi-demo: {type(error).__name__}: {error}") from None


if __name__ == "__main__":
    main()
