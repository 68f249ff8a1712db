"""ChatOSVI and every tool survive `copy.deepcopy` and pickling (LangChain and LangGraph copy and
serialize models and tools): settings travel, connections and locks are rebuilt, the token stays masked."""

from __future__ import annotations

import copy
import pickle
import subprocess
import sys
from typing import Any

import pytest

from osvi_integrations.langchain import ChatOSVI, OSVIToolkit

TOKEN = "tok-copy-0123456789"


def objects() -> list[Any]:
    model = ChatOSVI(agent_uuid="agent_a", customer_id="c-1", api_key=TOKEN, base_url="https://osvi.test", timeout=9)
    model._client_config()  # resolved settings, a lock and a cache in place
    tools = OSVIToolkit(agent_uuid="agent_a", api_key=TOKEN, include_operator_tools=True).get_tools()
    return [model, *tools]


@pytest.mark.parametrize("obj", objects(), ids=lambda o: getattr(o, "name", type(o).__name__))
def test_deepcopy_and_pickle_keep_the_settings(obj: Any) -> None:
    for clone in (copy.deepcopy(obj), pickle.loads(pickle.dumps(obj))):
        assert type(clone) is type(obj)
        dumped, original = clone.model_dump(), obj.model_dump()
        for name in ("handle_validation_error",):  # a partial: equal in what it calls, not by identity
            mine, theirs = dumped.pop(name, None), original.pop(name, None)
            assert getattr(mine, "func", mine) is getattr(theirs, "func", theirs)
            assert getattr(mine, "args", None) == getattr(theirs, "args", None)
        assert dumped == original
        assert clone.api_key.get_secret_value() == TOKEN and TOKEN not in repr(clone)
        assert clone._client_config() == obj._client_config()
        assert clone._own_lock is not obj._own_lock


def test_a_tool_unpickles_in_a_new_process() -> None:
    payload = pickle.dumps(objects()[1:])
    code = (
        "import pickle, sys; tools = pickle.loads(sys.stdin.buffer.read()); "
        "print(','.join(t.name + ':' + t.args_schema.__name__ for t in tools))"
    )
    out = subprocess.run([sys.executable, "-c", code], input=payload, capture_output=True, check=True).stdout
    assert b"osvi_send_message:SendMessageArguments" in out and b"osvi_close_session" in out
