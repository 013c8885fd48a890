"""Only functions defined in an allowed module run: with ``WFX_FUNCTION_MODULES=mymod`` and
``mymod`` doing ``from subprocess import getoutput``, ``mymod:getoutput`` is refused (a name
the module lists in ``__all__`` is its own choice and stays callable)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from workflow_executor.api import Executor
from workflow_executor.engine.functions import FunctionRegistry
from workflow_executor.errors import FunctionNotAllowed
from workflow_executor.models import ExecutionStatus
from workflow_executor.settings import Settings

MODULE = '''
from subprocess import getoutput
from json import dumps as listed

__all__ = ["own", "listed"]


def own(x=1):
    return x
'''


@pytest.fixture
def mymod(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    (tmp_path / "wfx_origin_mod.py").write_text(MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    return "wfx_origin_mod"


def test_an_imported_function_is_refused_and_an_own_one_runs(mymod: str) -> None:
    reg = FunctionRegistry([mymod])
    for ref in (f"{mymod}:getoutput", f"{mymod}.getoutput"):
        with pytest.raises(FunctionNotAllowed) as err:
            reg.resolve(ref)
        assert err.value.code == "function_not_allowed" and "subprocess" in err.value.message
    assert reg.resolve(f"{mymod}:own")(x=2) == 2
    assert reg.resolve(f"{mymod}:listed")([1]) == "[1]"


def test_a_workflow_cannot_run_a_shell_command_through_an_allowed_module(mymod: str, tmp_path: Path) -> None:
    settings = replace(Settings.from_env({"WFX_HOME": str(tmp_path / "home")}), function_modules=(mymod,))
    marker = tmp_path / "pwned"
    with Executor.local(settings=settings) as wfx:
        ex = wfx.run(workflow={"workflows": {"w": {"steps": [
            {"id": "sh", "function": f"{mymod}:getoutput", "args": {"cmd": f"touch {marker}"}}]}}})
        assert ex.status == ExecutionStatus.FAILED and ex.error is not None
        assert ex.error.code == "function_not_allowed"
    assert not marker.exists()
