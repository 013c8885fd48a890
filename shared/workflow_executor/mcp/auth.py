"""API keys for the MCP endpoint: create, store hashed, authenticate, and the caller's scopes.

A key is ``wfx_<id>_<secret>`` with a 256-bit random secret. Only ``sha256(salt || key)`` is
stored (a per-key 128-bit salt; a slow KDF adds nothing for a 256-bit random key and would
cost every request), compared with ``hmac.compare_digest``.
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import ipaddress
import json
import logging
import os
import re
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..access import LOCAL_PRINCIPAL, OPEN_CALLER, SCOPES, Caller
from ..errors import InvalidArgument
from ..models import Budget
from ..profiles import known
from ..settings import Settings

KEY_HELP = "send 'Authorization: Bearer <key>' (or 'X-API-Key: <key>'); create a key with `wfx keys create`"
log = logging.getLogger(__name__)
_NAME_RE = re.compile(r"^[A-Za-z0-9_.@:-]{1,64}$")
_KEY_RE = re.compile(r"^wfx_([0-9a-f]{12})_([A-Za-z0-9_-]{20,100})$")


@dataclass(frozen=True)
class KeyRecord:
    """One stored key: its id, the principal name, the salted hash, scopes and allow-list."""

    id: str
    name: str
    salt: str
    hash: str
    scopes: frozenset[str]
    workflows: frozenset[str] | None
    budget: Budget | None = None
    profiles: frozenset[str] | None = None  # the execution profiles it may pick (None: any)

    def caller(self) -> Caller:
        """The Caller this key authenticates as."""
        return Caller(self.name, self.scopes, self.workflows, self.budget, self.profiles)


def _digest(salt_hex: str, key: str) -> str:
    return hashlib.sha256(bytes.fromhex(salt_hex) + key.encode("utf-8")).hexdigest()


def _records(data: Any) -> dict[str, KeyRecord]:
    items = data.get("keys", []) if isinstance(data, Mapping) else data
    out: dict[str, KeyRecord] = {}
    for item in items if isinstance(items, list) else []:
        try:
            wf, pf = item.get("workflows"), item.get("profiles")
            rec = KeyRecord(id=str(item["id"]), name=str(item.get("name") or item["id"]),
                            salt=str(item["salt"]), hash=str(item["hash"]),
                            scopes=frozenset(s for s in item.get("scopes", []) if s in SCOPES),
                            workflows=frozenset(map(str, wf)) if isinstance(wf, list) else None,
                            budget=_budget(item),
                            # a damaged list allows no profile: it must not lift the limit
                            profiles=None if pf is None else frozenset(map(str, pf)) if isinstance(pf, list)
                            else frozenset())
            bytes.fromhex(rec.salt)
        except (KeyError, TypeError, ValueError, AttributeError):
            continue  # a malformed entry grants nothing
        out[rec.id] = rec
    return out


def _budget(item: Mapping[str, Any]) -> Budget | None:
    if item.get("max_tokens") is None and item.get("max_cost_usd") is None:
        return None
    # a limit that cannot be read limits everything: a damaged entry must not lift a budget
    try:
        return Budget(max_tokens=item.get("max_tokens"), max_cost_usd=item.get("max_cost_usd"))
    except ValueError:
        return Budget(max_tokens=1, max_cost_usd=1e-9)


class KeyRing:
    """The configured keys: ``settings.api_keys_json`` (fixed), ``settings.api_keys_file``
    (re-read when it changes, so ``wfx keys create`` works on a running server) and, in the
    cloud, ``fetch`` (the Secret Manager secret, re-read every ``ttl_s`` so that a revoked key
    stops working on warm instances too)."""

    def __init__(self, settings: Settings, fetch: Callable[[], str | None] | None = None,
                 ttl_s: float = 60.0) -> None:
        self._fixed = _records(_json(settings.api_keys_json)) if settings.api_keys_json else {}
        self._file = settings.api_keys_file
        self._lock = threading.Lock()
        self._stamp: tuple[int, int, int] | None = None
        self._from_file: dict[str, KeyRecord] = {}
        self._fetch, self._ttl_s = fetch, ttl_s
        self._fetched: dict[str, KeyRecord] = {}
        self._fetched_at = -float("inf")
        # A key source that exists means keyed even while it is empty, truncated, unreadable or
        # all malformed (a secret, WFX_API_KEYS, or a keys file): deny, never open.
        self._keyed = (fetch is not None or bool(settings.api_keys_json) or self._file_exists()
                       or self._current() != {})

    def _file_exists(self) -> bool:
        return self._file is not None and (self._file.exists() or self._file.is_symlink())

    def problem(self) -> str | None:
        """Why a configured key source grants no key at all (a server should not start like
        that), or None."""
        if not self.configured or self._current():
            return None
        where = (f"the keys file {self._file}" if self._file_exists()
                 else "the keys secret" if self._fetch is not None else "WFX_API_KEYS")
        return (f"{where} exists but holds no valid key (empty, truncated, unreadable or malformed), "
                "so nobody could call this server")

    def _current(self) -> dict[str, KeyRecord]:
        merged = dict(self._from_source())
        merged.update(self._from_file_now())
        merged.update(self._fixed)
        return merged

    def _from_source(self) -> dict[str, KeyRecord]:
        if self._fetch is None:
            return {}
        with self._lock:
            if time.monotonic() - self._fetched_at >= self._ttl_s:
                try:
                    self._fetched = _records(_json(self._fetch()))
                except Exception:  # keep the last good keys; a backend hiccup must not open or lock out
                    log.warning("API keys could not be re-read; keeping the previous ones", exc_info=True)
                self._fetched_at = time.monotonic()
            return self._fetched

    def _from_file_now(self) -> dict[str, KeyRecord]:
        if self._file is None:
            return {}
        try:
            st = self._file.stat()
            stamp: tuple[int, int, int] | None = (st.st_mtime_ns, st.st_size, st.st_ino)
        except OSError:
            stamp = None
        with self._lock:
            if stamp != self._stamp:
                self._stamp = stamp
                self._from_file = _records(_json(_read(self._file))) if stamp else {}
            return self._from_file

    @property
    def configured(self) -> bool:
        """True when at least one key is configured (file or environment) now, or was when the
        server started: a keys file that later turns empty, unreadable or malformed then denies
        everyone instead of opening the server."""
        if self._keyed:
            return True
        self._keyed = self._file_exists() or bool(self._current())
        return self._keyed

    def caller_for(self, principal: str | None) -> Caller | None:
        """The rights a run started by ``principal`` holds when it calls our tools itself
        (``mcp_call`` to ``local://workflow_executor``): the least of that principal's keys
        (the scopes and allow-list every one of them has), never more. Without configured keys
        the server is open, so is the run; with keys, a principal without one gets None."""
        if not self.configured:
            return OPEN_CALLER if principal in (None, LOCAL_PRINCIPAL) else Caller(principal, OPEN_CALLER.scopes)
        recs = [r for r in self._current().values() if r.name == principal]
        if not recs:
            return None
        # an admin key holds every scope: count it as all of them (admin itself only if all are admin)
        scopes = frozenset.intersection(*(r.scopes | (frozenset(SCOPES) if "admin" in r.scopes else frozenset())
                                          for r in recs))
        lists = [r.workflows for r in recs if r.workflows is not None]
        allowed = frozenset.intersection(*lists) if lists else None
        profile_lists = [r.profiles for r in recs if r.profiles is not None]
        profiles = frozenset.intersection(*profile_lists) if profile_lists else None
        return Caller(str(principal), scopes, allowed, profiles=profiles)

    def authenticate(self, headers: Mapping[str, str]) -> Caller | None:
        """The caller for the key in ``headers`` (lower-case names), or None when there is no
        valid key. Without configured keys, None too: the transport decides about open mode."""
        key = presented_key(headers)
        records = self._current()
        m = _KEY_RE.match(key or "")
        rec = records.get(m.group(1)) if m else None
        # Hash and compare even for an unknown id, so timing does not reveal which ids exist.
        salt, want = (rec.salt, rec.hash) if rec else ("00" * 16, "0" * 64)
        ok = hmac.compare_digest(_digest(salt, key or ""), want)
        return rec.caller() if rec is not None and ok else None


def presented_key(headers: Mapping[str, str]) -> str | None:
    """The key from ``X-API-Key: <key>`` or ``Authorization: Bearer <key>``. X-API-Key wins:
    behind Cloud Run IAM, ``Authorization`` may carry the caller's Google identity token."""
    key = headers.get("x-api-key", "").strip()
    if key:
        return key
    auth = headers.get("authorization", "").strip()
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip() or None
    return None


def is_loopback_host(host_header: str | None) -> bool:
    """True when the Host header names a loopback address (with or without a port): a literal
    loopback IP or ``localhost`` - never a name that merely starts with ``127.`` (DNS rebinding)."""
    host = (host_header or "").strip().lower()
    if host.startswith("["):
        host = host[1:].partition("]")[0]
    elif host.count(":") == 1:
        host = host.partition(":")[0]
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_loopback_origin(origin: str | None) -> bool:
    """True when there is no Origin (not a browser) or it is a loopback page; a cross-site page
    must never reach an open server."""
    if origin is None:
        return True
    parts = urlsplit(origin.strip())
    return parts.scheme in ("http", "https") and is_loopback_host(parts.netloc)


def create_key(settings: Settings, scopes: list[str], workflows: list[str] | None,
               name: str | None, budget: Budget | None = None, profiles: list[str] | None = None) -> str:
    """Create a key, store its salted hash in ``settings.api_keys_file`` and return the plain
    key (shown once, never stored); ``profiles``: the execution profiles its runs may pick (None:
    any). Errors: InvalidArgument for unknown scopes or profiles, or a bad name."""
    wanted = [s.strip() for s in scopes if s.strip()]
    unknown = [s for s in wanted if s not in SCOPES]
    if not wanted or unknown:
        raise InvalidArgument(f"unknown or missing scopes: {', '.join(unknown) or 'none given'}",
                              fix="use some of: " + ", ".join(SCOPES), field="scopes")
    if name is not None and not _NAME_RE.match(name):
        raise InvalidArgument(f"key name '{name[:80]}' is not valid",
                              fix="use 1-64 letters, digits or _ . @ : -", field="name")
    if settings.api_keys_file is None:
        raise InvalidArgument("no keys file is configured", fix="set WFX_HOME or WFX_API_KEYS_FILE")
    picked = sorted({p.strip() for p in profiles or () if p.strip()}) if profiles is not None else None
    strange = [p for p in picked or () if p not in settings.profiles]
    if strange:
        raise InvalidArgument(f"unknown profiles: {', '.join(strange)} (known: {known(settings.profiles)})",
                              fix="name profiles of WFX_PROFILES", field="profiles")
    key_id = secrets.token_hex(6)
    key = f"wfx_{key_id}_{secrets.token_urlsafe(32)}"
    salt = secrets.token_hex(16)
    entry = {"id": key_id, "name": name or f"key-{key_id}", "salt": salt, "hash": _digest(salt, key),
             "scopes": sorted(set(wanted)), "created_at_s": time.time(),
             "workflows": sorted({w.strip() for w in workflows if w.strip()}) if workflows else None,
             **(budget.model_dump(exclude_none=True) if budget else {}),
             **({"profiles": picked} if picked is not None else {})}
    path = settings.api_keys_file
    if path.parent == settings.home:
        settings.ensure_home()  # a clear error when WFX_HOME is a file
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
    # One writer at a time (two `wfx keys create` at once must not lose a key).
    with open(path.with_name(f".{path.name}.lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        current = _json(_read(path)) if path.exists() else {"keys": []}
        if not isinstance(current, dict) or not isinstance(current.get("keys", []), list):
            # never overwrite keys we cannot read: that would revoke every one of them
            raise InvalidArgument(f"the keys file {path} is not valid JSON of the form {{\"keys\": [...]}}",
                                  fix="repair or move the file, then create the key again")
        keys = [*current.get("keys", []), entry]
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump({"keys": keys}, fh, indent=2)
        os.replace(tmp, path)
    return key


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def _json(text: str | None) -> Any:
    try:
        return json.loads(text) if text else None
    except ValueError:
        return None
