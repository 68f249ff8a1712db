"""LangChain integration: `ChatOSVI` (an OSVI agent as a chat model) and `OSVISendMessageTool`."""

try:
    import langchain_core  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised by a test that hides langchain_core
    raise ImportError(
        'osvi_integrations.langchain needs langchain-core: pip install "osvi-integrations[langchain]"'
    ) from exc

from .chat_models import ChatOSVI
from .tools import OSVISendMessageInput, OSVISendMessageTool

__all__ = ["ChatOSVI", "OSVISendMessageInput", "OSVISendMessageTool"]
