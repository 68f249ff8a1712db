"""Parameters the standard suites (unit and integration) share: what an LLM would pass each generated
tool (the application's agent and customer are not arguments; integration suites swap `SESSION` for a
live session), and the chat-model feature flags of an OSVI agent."""

from __future__ import annotations

from typing import Any

from osvi_integrations.sandbox import ORDERS_AGENT

SESSION = "4718a326-417b-4dda-90d0-21fd65a11cb8"

TOOL_EXAMPLES: dict[str, dict[str, Any]] = {
    "send_message": {"content": "Where is my order?"},
    "create_session": {"input_fields": {"first_name": "Alex"}, "context": ["Called yesterday about a late parcel."]},
    "get_active_session": {},
    "list_active_sessions": {},
    "inject_context": {"session_id": SESSION, "context": "Earlier call: wants a refund."},
    "list_active_agents": {},
    "takeover_session": {"session_id": SESSION, "message": "Hi, this is Ana from support."},
    "tell_agent": {"session_id": SESSION, "message": "Offer express shipping."},
    "whisper_to_agent": {"session_id": SESSION, "message": "The customer is a VIP."},
    "hand_back_to_agent": {"session_id": SESSION},
    "close_session": {"session_id": SESSION},
    "send_operator_message": {"session_id": SESSION, "message": "Your parcel leaves today."},
}


class NoToolsFlags:
    """What an OSVI agent does not do: it takes text and answers text, configured in OSVI."""

    @property
    def has_tool_calling(self) -> bool:
        return False

    @property
    def has_tool_choice(self) -> bool:
        return False

    @property
    def has_structured_output(self) -> bool:
        return False

    @property
    def supports_json_mode(self) -> bool:
        return False

    @property
    def supports_image_inputs(self) -> bool:
        return False

    @property
    def supports_image_urls(self) -> bool:
        return False

    @property
    def supports_pdf_inputs(self) -> bool:
        return False

    @property
    def supports_audio_inputs(self) -> bool:
        return False

    @property
    def supports_video_inputs(self) -> bool:
        return False

    @property
    def returns_usage_metadata(self) -> bool:
        return False  # the API reports no token usage

    @property
    def supports_model_override(self) -> bool:
        return True  # `model=` per call selects another agent

    @property
    def model_override_value(self) -> str | None:
        return ORDERS_AGENT


def camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))
