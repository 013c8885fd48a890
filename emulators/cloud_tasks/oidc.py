"""Fake identity tokens for HTTP tasks with oidc_token/oauth_token.

The OIDC token is an UNSIGNED JWT (header `alg: none`, empty signature): it has the claims the real
service puts in its Google-signed token, but nothing can verify it. Targets under test must decode it
without verification (or skip auth) when they talk to the emulator.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

ISSUER = "https://accounts.google.com"
TOKEN_LIFETIME_S = 3600


def _b64url(data: dict[str, Any]) -> str:
    raw = json.dumps(data, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _subject(email: str) -> str:
    # Real tokens carry the service account's stable numeric id; derive a stable stand-in from the email.
    return str(int.from_bytes(hashlib.sha256(email.encode()).digest()[:8], "big"))


def oidc_token(*, service_account_email: str, audience: str, now: float) -> str:
    """Unsigned `header.payload.` JWT with aud/email/iss/iat/exp like a Google-issued ID token."""
    issued = int(now)
    header = {"alg": "none", "typ": "JWT"}
    payload = {
        "aud": audience,
        "azp": _subject(service_account_email),
        "email": service_account_email,
        "email_verified": True,
        "exp": issued + TOKEN_LIFETIME_S,
        "iat": issued,
        "iss": ISSUER,
        "sub": _subject(service_account_email),
    }
    return f"{_b64url(header)}.{_b64url(payload)}."


def oauth_token(*, service_account_email: str, scope: str) -> str:
    """Opaque stand-in for an OAuth access token; it only names the account and scope it represents."""
    return "emulator-oauth." + _b64url({"email": service_account_email, "scope": scope})
