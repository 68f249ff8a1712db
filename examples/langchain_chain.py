"""A LangChain pipeline in front of an OSVI agent: prompt | ChatOSVI | a step that reads the metadata.

Runs against the local sandbox (no account needed); set OSVI_API_TOKEN and OSVI_AGENT_UUID
to talk to your own agent instead.

    python examples/langchain_chain.py
"""

from __future__ import annotations

import uuid

from langchain_core.messages import AIMessage
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import Runnable, RunnableLambda
from pydantic import SecretStr

from osvi_integrations.langchain import ChatOSVI
from osvi_integrations.sandbox import Target, open_target


def describe(reply: AIMessage) -> str:
    """What an application needs from each turn: the text, who is answering, and whether to bring in a person."""
    meta = reply.response_metadata
    silent = "(no automatic reply: a human operator has taken over)"
    text = silent if meta["mode"] == "support" else reply.text
    flag = "  << escalation requested" if meta["help_requested"] else ""
    return f"agent [{meta['mode']}, state={meta['state']}]: {text}{flag}"


def build_chain(target: Target, customer_id: str) -> tuple[ChatOSVI, Runnable[dict[str, str], str]]:
    model = ChatOSVI(
        agent_uuid=target.agent_uuid,
        customer_id=customer_id,
        api_key=SecretStr(target.api_token),
        base_url=target.base_url,
    )
    # Templates shape what the customer's message looks like; the agent's own prompt lives in OSVI.
    prompt = ChatPromptTemplate.from_messages([("human", "{message}")])
    return model, prompt | model | RunnableLambda(describe)


def run_demo(target: Target) -> list[str]:
    customer_id = f"example-{uuid.uuid4().hex[:8]}"  # a fresh customer, so a real account starts a new session
    model, chain = build_chain(target, customer_id)
    transcript: list[str] = []
    try:
        for message in ("Hello!", "Where is my order?", "Can I talk to a human, please?"):
            transcript.append(f"customer: {message}")
            transcript.append(chain.invoke({"message": message}))
    finally:
        model.close()
    return transcript


def main() -> None:
    with open_target() as target:
        print(f"Talking to {target!r}")
        for line in run_demo(target):
            print(line)


if __name__ == "__main__":
    main()
