"""End-to-end demo: one customer's conversation handed to an OSVI agent, start to finish.

Runs against the embedded sandbox (no account needed), or against a real account when
`OSVI_API_TOKEN` and `OSVI_AGENT_UUID` are set; the operator steps (takeover, handback) and the
multi-state and error tours need the sandbox's operator console and are skipped on a real account.

    osvi-demo            # or: python -m osvi_integrations.demo
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import uuid
from typing import TextIO

from . import AsyncOSVIClient, OSVIClient, OSVIError, SendMessageResult
from .sandbox import ARCHIVED_AGENT, FAULTY_AGENT, ORDERS_AGENT, SandboxServer, Target, open_target


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

    def note(self, text: str) -> None:
        print(f"  ({text})", file=self.out)


def _operator(sandbox: SandboxServer, session_id: str, command: str, transcript: Transcript) -> None:
    reply = sandbox.engine.support(sandbox.api_token, session_id, {"command": command, "operator": "ana@example.com"})
    if reply.status != 200:
        raise RuntimeError(f"operator command {command!r} failed: {reply.body}")
    transcript.note(f"operator console: {command} -> mode is now {sandbox.engine.sessions[session_id].mode}")


def _support_conversation(target: Target, customer_id: str, transcript: Transcript) -> SendMessageResult:
    transcript.heading(f"A customer talks to agent {target.agent_uuid} (sync client, Conversation helper)")
    with OSVIClient(target.api_token, base_url=target.base_url) as client:
        conversation = client.conversation(target.agent_uuid, customer_id)

        def say(text: str) -> SendMessageResult:
            transcript.customer(text)
            result = conversation.send(text)
            transcript.agent(result)
            return result

        say("Hello!")
        say("I have a question about my order.")
        escalated = say("This isn't working, can I talk to a human please?")
        if escalated.help_requested:
            transcript.note("help_requested is true: route this conversation to your support queue")
        if target.sandbox is None:
            transcript.note("real account: the operator steps need the OSVI dashboard and are skipped")
            return escalated
        assert conversation.session_id is not None
        _operator(target.sandbox, conversation.session_id, "takeover", transcript)
        taken_over = say("Hello? Is anyone there?")
        if taken_over.human_has_taken_over:
            transcript.note("reply is null and mode is 'support': a person answers, your bot must stay quiet")
        _operator(target.sandbox, conversation.session_id, "end", transcript)
        return say("Thanks, that's all!")


async def _orders_conversation(target: Target, customer_id: str, transcript: Transcript) -> SendMessageResult:
    transcript.heading(f"A multi-state agent walks its states ({ORDERS_AGENT}, async client)")
    async with AsyncOSVIClient(target.api_token, base_url=target.base_url) as client:
        conversation = client.conversation(ORDERS_AGENT, customer_id)
        result: SendMessageResult | None = None
        for text in ("Hi there", "Where is my order?", "It's order 48213", "Great, thanks!"):
            transcript.customer(text)
            result = await conversation.send(text)
            transcript.agent(result)
        assert result is not None
        return result


def _error_tour(target: Target, customer_id: str, transcript: Transcript) -> None:
    transcript.heading("Errors are typed, and say whether the message may have been delivered")
    with OSVIClient(target.api_token, base_url=target.base_url) as client:
        for agent, text in ((ARCHIVED_AGENT, "Hello?"), (FAULTY_AGENT, "Hello?"), (target.agent_uuid, "   ")):
            try:
                client.send_message(agent, customer_id, text)
            except OSVIError as error:
                delivered = "may have been delivered" if error.may_have_been_delivered else "was not delivered"
                transcript.note(f"{type(error).__name__}: {error} (message {delivered})")


def run(out: TextIO = sys.stdout, customer_id: str | None = None) -> None:
    customer_id = customer_id or f"+1555{uuid.uuid4().int % 10**7:07d}"
    transcript = Transcript(out)
    with open_target() as target:
        where = "the embedded sandbox" if target.sandbox else "your OSVI account"
        print(f"OSVI demo against {where} at {target.base_url}, customer {customer_id}", file=out)
        _support_conversation(target, customer_id, transcript)
        if target.sandbox is not None:
            asyncio.run(_orders_conversation(target, customer_id, transcript))
            _error_tour(target, customer_id, transcript)
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
