"""LangChain integration: `ChatOSVI` (an OSVI agent as a chat model), the tools generated from every
OSVI operation (`OSVIToolkit`, `OSVITool`, `OSVISendMessageTool`) and, in `.middleware`, the
escalation gate for `langchain.agents.create_agent`."""

try:
    import langchain_core  # noqa: F401
except ImportError as _missing:  # pragma: no cover - exercised by a test that hides langchain_core
    raise ImportError(
        'osvi_integrations.langchain needs langchain-core: pip install "osvi-integrations[langchain]"'
    ) from _missing

from ._connection import AGENT_UUID_KEY, CUSTOMER_ID_KEY, SESSION_ID_KEY
from .chat_models import ChatOSVI
from .results import tool_result
from .tools import (
    TOOL_NAME_PREFIX,
    OSVISendMessageInput,
    OSVISendMessageTool,
    OSVITool,
    OSVIToolkit,
    args_schema_for,
    tool_name,
)

__all__ = [
    "AGENT_UUID_KEY",
    "CUSTOMER_ID_KEY",
    "SESSION_ID_KEY",
    "TOOL_NAME_PREFIX",
    "ChatOSVI",
    "OSVISendMessageInput",
    "OSVISendMessageTool",
    "OSVITool",
    "OSVIToolkit",
    "args_schema_for",
    "tool_name",
    "tool_result",
]
