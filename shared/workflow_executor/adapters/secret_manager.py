"""Secret Manager: read the hashed API keys (JSON) once per instance."""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)


def read_secret(name: str) -> str | None:
    """The latest version of secret ``name`` (``projects/P/secrets/S``), or None when it has no
    version yet (then no key is configured and every call is refused)."""
    from google.api_core import exceptions
    from google.cloud import secretmanager

    client = secretmanager.SecretManagerServiceClient()
    try:
        resp = client.access_secret_version(name=f"{name}/versions/latest")
    except (exceptions.NotFound, exceptions.FailedPrecondition):
        log.warning("secret %s has no enabled version: no API keys are configured", name)
        return None
    data: bytes = resp.payload.data
    return data.decode("utf-8")
