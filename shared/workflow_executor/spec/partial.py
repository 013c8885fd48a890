"""Every problem at once: a document with shape errors (a bad ``retry``, a ``timeout`` of -1) is
still checked for the rest (unknown routes, functions, references), so that a step with two
problems shows both, not the first and then the second after the first is fixed."""

from __future__ import annotations

import re
from collections.abc import Callable

from ..errors import Issue, SpecError
from .model import WorkflowDocument
from .validate import Report

# A field dropped for its shape that other checks lean on: their findings on that step would be
# explained by the dropping (a loop var unknown once the loop is gone), so they are left out.
_LEANED_ON = frozenset({"loop", "output", "depends_on", "fan_key", "is_fan_in", "agent", "function", "tool",
                        "invoke_workflow", "workflow", "id"})
_STEP = re.compile(r"^(workflows\.[^.\[]+\.steps\[\d+\])(?:\.([A-Za-z_]+))?")


def with_the_rest(err: SpecError, check: Callable[[WorkflowDocument], Report]) -> SpecError:
    """``err`` (from loading) with the errors ``check`` finds in its partial document added;
    ``err`` itself when there is no partial document or nothing more to say."""
    if not isinstance(err.partial, WorkflowDocument):
        return err
    try:
        more = check(err.partial).errors
    except SpecError as inner:  # a checker that raises says the same things
        more = inner.issues
    shaky = set()
    for issue in err.issues:
        m = _STEP.match(issue.path)
        if m is None:  # a problem outside any step: the rest is not reliable enough to add
            return err
        if m.group(2) in _LEANED_ON or m.group(2) is None:
            shaky.add(m.group(1))
    seen = {(i.path, i.message) for i in err.issues}
    added: list[Issue] = []
    for issue in more:
        m = _STEP.match(issue.path)
        if (issue.path, issue.message) in seen or (m is not None and m.group(1) in shaky):
            continue
        added.append(issue if issue.file else Issue(issue.path, issue.message, err.issues[0].file,
                                                     issue.severity, issue.fix))
    if not added:
        return err
    return SpecError(err.issues + added, warnings=err.warnings)
