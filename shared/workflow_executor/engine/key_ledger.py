"""A principal's running LLM total over a UTC calendar day, kept in the execution store so that it
holds across runs, processes and restarts. Reservations and settlements are compare-and-set
updates of one record per (principal, day): parallel calls in many processes cannot overshoot."""

from __future__ import annotations

import math
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from ..errors import BudgetExceeded, Transient
from ..models import Budget, KeyHold, KeyUsage, Usage

if TYPE_CHECKING:
    from ..ports import ExecutionStore
    from ..settings_llm import ModelPrice

MAX_CAS_ATTEMPTS = 100
FIX = ("wait for tomorrow (UTC), or ask the operator to raise WFX_KEY_DAILY_MAX_TOKENS / "
       "WFX_KEY_DAILY_MAX_COST_USD")


def utc_day(epoch_s: float) -> str:
    """The UTC calendar day of ``epoch_s`` (YYYY-MM-DD): the window of a daily limit."""
    return datetime.fromtimestamp(epoch_s, UTC).strftime("%Y-%m-%d")


def describe(limit: Budget) -> str:
    """A budget's limits as words: "100 tokens and $0.5"."""
    return " and ".join(x for x in (f"{limit.max_tokens} tokens" if limit.max_tokens is not None else "",
                                    f"${limit.max_cost_usd:g}" if limit.max_cost_usd is not None else "") if x)


@dataclass(frozen=True)
class KeyGrant:
    """What the daily ledger allowed one call: its completion cap and the hold to settle."""

    max_tokens: int | None
    day: str
    hold_id: str


@dataclass(frozen=True)
class KeyBusy:
    """The call does not fit now; ``waiting``: other calls hold reservations that may free room."""

    waiting: bool
    error: BudgetExceeded


class KeyLedger:
    """The daily ledger of one principal against ``limit`` (its tokens and USD a day)."""

    def __init__(self, store: ExecutionStore, principal: str, limit: Budget) -> None:
        self.store = store
        self.principal = principal
        self.limit = limit

    def reserve(self, prompt_tokens: int, cap: int | None, need: int, price: ModelPrice | None,
                hold_s: float) -> KeyGrant | KeyBusy:
        """Reserve ``prompt_tokens`` + a completion cap of at most ``cap`` (None: no cap of its
        own) when at least ``need`` completion tokens fit into what is left today. The hold lapses
        after ``hold_s`` (a runner that died gives it back that way).
        Errors: BudgetExceeded when a cost limit applies and ``price`` is None; Transient."""
        hold_id = uuid.uuid4().hex
        for _ in range(MAX_CAS_ATTEMPTS):
            now = time.time()
            day = utc_day(now)
            cur = self.store.key_usage(self.principal, day) or KeyUsage(principal=self.principal, day=day)
            live = {k: h for k, h in cur.holds.items() if h.expires_at_s > now}
            held_tokens = sum(h.tokens for h in live.values())
            held_cost = sum(h.cost_usd for h in live.values())
            granted = self._cap(cur, held_tokens, held_cost, prompt_tokens, cap, price)
            if granted is not None and granted < need:
                return KeyBusy(bool(live), self._refusal(cur, prompt_tokens, need))
            hold = KeyHold(tokens=prompt_tokens + (granted or 0),
                           cost_usd=price.cost(prompt_tokens, granted or 0) if price else 0.0,
                           expires_at_s=now + hold_s)
            new = cur.model_copy(update={"holds": {**live, hold_id: hold}, "version": cur.version + 1})
            if self.store.put_key_usage(new, cur.version):
                return KeyGrant(granted, day, hold_id)
        raise Transient(f"the daily usage of '{self.principal}' is changing too often to reserve", fix="retry")

    def settle(self, grant: KeyGrant, spent: Usage) -> None:
        """Give the hold of ``grant`` back and add ``spent`` to the day it was reserved in.
        Errors: Transient when the record keeps changing under it."""
        for _ in range(MAX_CAS_ATTEMPTS):
            now = time.time()
            cur = self.store.key_usage(self.principal, grant.day) or KeyUsage(principal=self.principal,
                                                                               day=grant.day)
            holds = {k: h for k, h in cur.holds.items() if k != grant.hold_id and h.expires_at_s > now}
            new = cur.model_copy(update={
                "tokens": cur.tokens + spent.prompt_tokens + spent.completion_tokens,
                "cost_usd": cur.cost_usd + spent.cost_usd, "holds": holds, "version": cur.version + 1})
            if self.store.put_key_usage(new, cur.version):
                return
        raise Transient(f"the daily usage of '{self.principal}' is changing too often to settle", fix="retry")

    def _cap(self, cur: KeyUsage, held_tokens: int, held_cost: float, prompt_tokens: int, cap: int | None,
             price: ModelPrice | None) -> int | None:
        if self.limit.max_tokens is not None:
            left = self.limit.max_tokens - cur.tokens - held_tokens - prompt_tokens
            cap = left if cap is None else min(cap, left)
        if self.limit.max_cost_usd is not None:
            if price is None:
                raise BudgetExceeded(f"the model of this agent has no price, so the daily cost limit of "
                                     f"'{self.principal}' cannot be enforced",
                                     fix="the operator adds the model to WFX_PRICES (or the provider's prices)")
            left_usd = self.limit.max_cost_usd - cur.cost_usd - held_cost - price.cost(prompt_tokens, 0)
            per = price.output_usd_per_mtok / 1e6
            if left_usd < 0:
                cap = -1
            elif per > 0:
                by_cost = math.floor(left_usd / per)
                cap = by_cost if cap is None else min(cap, by_cost)
        return cap

    def _refusal(self, cur: KeyUsage, prompt_tokens: int, need: int) -> BudgetExceeded:
        return BudgetExceeded(f"'{self.principal}' has used {cur.tokens} tokens (${cur.cost_usd:.4f}) today "
                              f"(UTC {cur.day}) of its daily {describe(self.limit)}; the next model call needs up to "
                              f"{prompt_tokens} prompt tokens and at least {need} for the reply", fix=FIX,
                              tokens=cur.tokens, cost_usd=cur.cost_usd, day=cur.day, window="day")
