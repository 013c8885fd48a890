"""The Firestore client and what every Firestore adapter shares: error translation, call
options and document ids (a leaf: the adapters import it, it imports none of them). The client
library is imported inside functions only, so importing this module stays cheap.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote

from ..errors import InvalidArgument, StoreUnavailable


class AlreadyExists(Exception):
    """A create() met an existing document (internal to the Firestore adapters)."""


class PreconditionFailed(Exception):
    """A write's update-time precondition failed: someone else wrote first (internal)."""


def client(project: str | None, database: str = "(default)") -> Any:
    """A Firestore client for ``project``; FIRESTORE_EMULATOR_HOST points it at an emulator.
    Errors: InvalidArgument when no project is configured."""
    if not project:
        raise InvalidArgument("the Firestore store needs a project", fix="set WFX_GCP_PROJECT")
    from google.cloud import firestore

    return firestore.Client(project=project, database=database)


def rpc_options(timeout_s: float | None) -> dict[str, Any]:
    """The ``retry`` and ``timeout`` arguments of every Firestore call: none (the client's own
    deadlines: 60 s per call, retried for up to 60 s more) unless ``timeout_s`` (the setting
    WFX_FIRESTORE_TIMEOUT_S) bounds a call with its retries, so that a hung backend surfaces as
    StoreUnavailable within it and the runner's own outage handling takes over."""
    if not timeout_s:
        return {}
    from google.api_core import exceptions as gex
    from google.api_core.retry import Retry, if_exception_type

    retry = Retry(initial=0.1, maximum=min(1.0, timeout_s), multiplier=1.3, timeout=timeout_s,
                  predicate=if_exception_type(gex.ServiceUnavailable, gex.InternalServerError, gex.ResourceExhausted))
    return {"retry": retry, "timeout": timeout_s}


def doc_id(text: str) -> str:
    """A legal document id for any string: '/', '%' and the like are percent-encoded, and the
    reserved names ('.', '..', '__x__') are escaped. Plain ids ([A-Za-z0-9._-]) stay as they are,
    so the document order is the id order."""
    out = quote(text, safe="")
    if out in (".", "..") or (out.startswith("__") and out.endswith("__")) or not out:
        out = "%" + out
    return out


@contextmanager
def translated() -> Iterator[None]:
    """Map client errors onto the library's: create conflicts and failed preconditions to the
    internal markers above, a backend hiccup to StoreUnavailable (a Transient: the queue redelivers)."""
    from google.api_core import exceptions as gex

    try:
        yield
    except gex.AlreadyExists as exc:
        raise AlreadyExists(str(exc)) from exc
    except (gex.FailedPrecondition, gex.Aborted) as exc:
        raise PreconditionFailed(str(exc)) from exc
    except (gex.ServiceUnavailable, gex.DeadlineExceeded, gex.InternalServerError, gex.ResourceExhausted,
            gex.RetryError) as exc:
        raise StoreUnavailable(f"Firestore is unavailable: {exc}", fix="retry shortly") from exc
