"""CLI for execution profiles: ``wfx profiles`` lists the operator's profiles (WFX_PROFILES),
and ``wfx keys create --profiles a,b`` limits a key to some of them (access.check_profile)."""

from __future__ import annotations

import argparse
import json
from typing import Any


def names(a: argparse.Namespace) -> list[str] | None:
    """The ``--profiles`` list of ``wfx keys create`` (None: not given, any profile)."""
    raw = getattr(a, "profiles", None)
    return None if raw is None else [p.strip() for p in raw.split(",") if p.strip()]


def cmd_profiles(a: argparse.Namespace) -> int:
    """Print each profile as one JSON line (its limits, place and fallback), the default marked."""
    from ..settings import Settings

    settings = Settings.from_env()
    if not settings.profiles:
        print("no execution profiles: set WFX_PROFILES (see README, Execution profiles)")
    for name, profile in sorted(settings.profiles.items()):
        print(json.dumps({**profile.summary(), **({"default": True} if name == settings.default_profile else {})}))
    return 0


def register(sub: Any, keys_create: argparse.ArgumentParser) -> None:
    """Add ``wfx profiles`` and the ``--profiles`` option of ``wfx keys create``."""
    keys_create.add_argument("--profiles", help="comma-separated execution profiles the key's runs may pick "
                                                "(target_instance); default: any")
    p = sub.add_parser("profiles", help="list the execution profiles (target_instance) of this server")
    p.set_defaults(fn=cmd_profiles)
