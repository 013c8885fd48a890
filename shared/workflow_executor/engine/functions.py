"""Which callables ``function`` steps may run: the built-ins plus operator-allowed modules.

References are ``pkg.mod.func`` or ``pkg.mod:func``. A module is imported only after its
dotted name passed the allow-list check, so a workflow can never make us import arbitrary
code; there is no way to pass inline code.
"""

from __future__ import annotations

import functools
import importlib
import inspect
from collections.abc import Callable, Iterable
from typing import Any

from .. import builtins as builtin_functions
from .. import langswarm_functions
from ..errors import FunctionNotAllowed

BUILTIN_PREFIX = "builtins"


class FunctionRegistry:
    """Resolves function references. ``modules`` are dotted prefixes (``mypkg`` allows
    ``mypkg.tasks.clean`` but not ``mypkgx.evil``)."""

    def __init__(self, modules: Iterable[str] = ()) -> None:
        self.modules = tuple(m.strip().rstrip(".") for m in modules if m.strip())
        self._cache: dict[str, Callable[..., Any]] = {}

    @staticmethod
    def split(ref: str) -> tuple[str, str]:
        if ":" in ref:
            mod, _, name = ref.partition(":")
        else:
            mod, _, name = ref.rpartition(".")
        return mod, name

    def check(self, ref: str) -> str | None:
        """None when ``ref`` may run, else a message that says why not and what to do."""
        mod, name = self.split(ref)
        if not name or name.startswith("_"):
            return f"'{ref}' is not a function reference; write module.function or module:function"
        if mod in langswarm_functions.MODULES:
            if name in langswarm_functions.REGISTRY:
                return None
            return (f"LangSwarm's workflow function '{name}' has no counterpart here (it would run code or "
                    "reach hosts outside the operator's control); the counterparts are: "
                    + ", ".join(sorted(langswarm_functions.REGISTRY)))
        if mod in ("", BUILTIN_PREFIX):
            if name in builtin_functions.REGISTRY or name in langswarm_functions.REGISTRY:
                return None
            return (f"'{ref}' is not a built-in function; built-ins are: "
                    + ", ".join(sorted(builtin_functions.REGISTRY)))
        if not any(mod == p or mod.startswith(p + ".") for p in self.modules):
            allowed = ", ".join(self.modules) or "none"
            return (f"function '{ref}' is outside the allowed modules ({allowed}); the operator can "
                    "allow its module with WFX_FUNCTION_MODULES")
        return None

    def _defined_in_allowed(self, fn: Any) -> bool:
        home = getattr(fn, "__module__", None)
        return isinstance(home, str) and any(home == p or home.startswith(p + ".") for p in self.modules)

    def resolve(self, ref: str) -> Callable[..., Any]:
        """The callable for ``ref``. Errors: FunctionNotAllowed (not allowed, missing, not callable)."""
        if ref in self._cache:
            return self._cache[ref]
        problem = self.check(ref)
        if problem:
            raise FunctionNotAllowed(problem, function=ref)
        mod, name = self.split(ref)
        if mod in langswarm_functions.MODULES:
            fn = langswarm_functions.REGISTRY[name]
        elif mod in ("", BUILTIN_PREFIX):
            # LangSwarm files also name its workflow functions bare (function: mcp_call)
            fn = builtin_functions.REGISTRY.get(name) or langswarm_functions.REGISTRY[name]
        else:
            try:
                module = importlib.import_module(mod)
            except ImportError as exc:
                raise FunctionNotAllowed(f"module '{mod}' of function '{ref}' cannot be imported: {exc}",
                                         fix="install the module or correct the reference") from None
            found = getattr(module, name, None)
            if not callable(found):
                raise FunctionNotAllowed(f"'{ref}' is not a callable in module '{mod}'")
            if not self._defined_in_allowed(found) and name not in getattr(module, "__all__", ()):
                # ``from subprocess import getoutput`` in an allowed module must not make it callable
                raise FunctionNotAllowed(
                    f"'{ref}' is defined in module '{getattr(found, '__module__', None)}', not in an allowed module; "
                    "only functions defined in the allowed modules (or listed in their __all__) may run",
                    fix="define a wrapper function in the allowed module", function=ref)
            fn = found
        self._cache[ref] = fn
        return fn


@functools.lru_cache(maxsize=1024)
def accepts_context(fn: Callable[..., Any]) -> bool:
    """True when ``fn`` names a ``context`` parameter (LangSwarm passes ``context=`` to such
    functions; here they get a read-only view of the run's context)."""
    try:
        return "context" in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False


def wants_run(fn: Callable[..., Any]) -> bool:
    """True for our own functions that need the running engine (``mcp_call``)."""
    return bool(getattr(fn, langswarm_functions.RUN_ATTR, False))
