"""`OSVISendMessageTool`: lets an LLM agent pass a customer's message to an OSVI agent.

The LLM chooses only what to say. Which agent and which customer come from the
application: the tool's fields, or `config["configurable"]` per run, never the LLM.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from langchain_core.callbacks import AsyncCallbackManagerForToolRun, CallbackManagerForToolRun
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import ArgsSchema, BaseTool, ToolException
from langchain_core.tools.base import ToolExceptionHandlerOutput
from pydantic import BaseModel, Field

from ..errors import ConfigurationError, OSVIError
from ..protocol import describe_error as describe_for_agent
from ..types import SendMessageResult
from ._connection import OSVIConnection

#: `config["configurable"]` keys the tool reads; they take precedence over the tool's own fields.
CUSTOMER_ID_KEY = "osvi_customer_id"
AGENT_UUID_KEY = "osvi_agent_uuid"


class OSVISendMessageInput(BaseModel):
    """What the LLM provides: the message, and at most a session id it was given earlier."""

    content: str = Field(description="The customer's message to pass to the OSVI agent, as the customer wrote it.")
    session_id: str | None = Field(
        default=None,
        description=(
            "Only a session_id returned by an earlier call of this tool; omit it to continue "
            "the customer's current conversation."
        ),
    )


class OSVISendMessageTool(OSVIConnection, BaseTool):
    """Sends one customer message to an OSVI agent and returns its reply.

    Content (for the LLM) is the reply plus, stated plainly, whether a human operator has
    taken over or the agent asked for one; the artifact is the `SendMessageResult`.
    `agent_uuid` / `customer_id` come from the fields or, per run, from
    `config["configurable"]["osvi_agent_uuid"]` / `["osvi_customer_id"]` (which win).
    OSVI errors become a readable tool error message the LLM sees (`handle_tool_error=True`).
    """

    name: str = "send_message_to_osvi_agent"
    description: str = (
        "Send the customer's message to the customer-service AI agent and get its reply. "
        "The result also says whether a human operator has taken over or was requested."
    )
    args_schema: ArgsSchema | None = OSVISendMessageInput
    response_format: Literal["content", "content_and_artifact"] = "content_and_artifact"
    handle_tool_error: bool | str | Callable[[ToolException], ToolExceptionHandlerOutput] | None = True

    agent_uuid: str | None = None
    """UUID of the OSVI agent; or per run `config["configurable"]["osvi_agent_uuid"]`."""

    customer_id: str | None = None
    """The customer whose message this is; or per run `config["configurable"]["osvi_customer_id"]`."""

    def _run(
        self,
        content: str,
        session_id: str | None = None,
        *,
        config: RunnableConfig,
        run_manager: CallbackManagerForToolRun | None = None,
    ) -> tuple[str, SendMessageResult]:
        agent, customer = self._target(config)
        try:
            result = self._get_client().send_message(agent, customer, content, session_id=session_id)
        except ConfigurationError:
            raise  # the application's mistake, not something the LLM can fix
        except OSVIError as error:
            raise ToolException(describe_for_agent(error)) from error
        return result.summary(), result

    async def _arun(
        self,
        content: str,
        session_id: str | None = None,
        *,
        config: RunnableConfig,
        run_manager: AsyncCallbackManagerForToolRun | None = None,
    ) -> tuple[str, SendMessageResult]:
        agent, customer = self._target(config)
        try:
            result = await self._get_async_client().send_message(agent, customer, content, session_id=session_id)
        except ConfigurationError:
            raise
        except OSVIError as error:
            raise ToolException(describe_for_agent(error)) from error
        return result.summary(), result

    def _target(self, config: RunnableConfig) -> tuple[str, str]:
        configurable = config.get("configurable") or {}
        agent = configurable.get(AGENT_UUID_KEY) or self.agent_uuid
        customer = configurable.get(CUSTOMER_ID_KEY) or self.customer_id
        if not agent or not customer:
            # A programming error, raised as such: the LLM could not fix it and must not guess.
            raise ValueError(
                f"{self.name} needs agent_uuid and customer_id: set them on the tool or pass "
                f"config={{'configurable': {{{AGENT_UUID_KEY!r}: ..., {CUSTOMER_ID_KEY!r}: ...}}}}."
            )
        return str(agent), str(customer)
