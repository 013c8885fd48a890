"""The LLM budget ledger of a run: before each model call a reservation of the most the call can
cost (its prompt estimate + the completion cap it is sent with) against the run, every ancestor
and the principal's daily total; after the call, settlement with exactly what the server reported.

One ledger per Run; a child's ledger links to its parent's and shares its lock, so a reservation
is checked and taken on the whole chain at once and parallel branches and children cannot
overshoot. A ledger's totals (its run's and its descendants' calls, checkpointed ones included)
are what the execution stores as its token and cost usage."""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..errors import BudgetExceeded, Cancelled, WfxError
from ..models import Budget, Usage
from .key_ledger import KeyGrant, KeyLedger, describe

if TYPE_CHECKING:
    from ..settings_llm import ModelPrice

log = logging.getLogger(__name__)

MIN_COMPLETION_TOKENS = 16  # a call that cannot get this many reply tokens is refused, not made
WAKE_S = 0.1                 # how often a waiting reservation looks at the cancel flag
KEY_POLL_S = (0.05, 0.5)     # first and longest pause between looks at another process's holds
FIX = "raise max_tokens / max_cost_usd (workflow, request or API key), or make the agents' tasks smaller"


@dataclass
class Hold:
    """One call's reservation (``ports.Reservation``): ``max_tokens`` is the completion cap to send."""

    tokens: int
    cost_usd: float
    max_tokens: int | None
    chain: tuple[Ledger, ...]
    key: KeyGrant | None = None
    open: bool = field(default=True)


class Ledger:
    """The budget ledger of one run (``name``: its execution id). ``spent``: what the execution
    already checkpointed (it counts for the ancestors as well). ``completion_cap``: the cap sent
    when a budget applies and the agent sets none (a completion cap must be sent to bound a call)."""

    def __init__(self, name: str, budget: Budget | None, spent: Usage, parent: Ledger | None = None, *,
                 key: KeyLedger | None = None, completion_cap: int = 4096) -> None:
        self.name = name
        self.budget = budget
        self.cond: threading.Condition = parent.cond if parent is not None else threading.Condition()
        self.chain: tuple[Ledger, ...] = (self, *parent.chain) if parent is not None else (self,)
        self.key: KeyLedger | None = key if key is not None else parent.key if parent is not None else None
        self.completion_cap = completion_cap
        self.prompt_tokens = 0
        self.completion_tokens = 0
        self.cost_usd = 0.0
        self.held_tokens = 0
        self.held_cost = 0.0
        self.holds = 0
        self.closed = False
        self.add(spent)

    # -- totals ------------------------------------------------------------------------------

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def spent(self) -> Usage:
        """Tokens and cost of every call of this run and its descendants (settled ones)."""
        with self.cond:
            return Usage(prompt_tokens=self.prompt_tokens, completion_tokens=self.completion_tokens,
                         cost_usd=self.cost_usd)

    def add(self, spent: Usage) -> None:
        """Count spending that needs no reservation (a replayed turn, a child finished elsewhere)."""
        with self.cond:
            for led in self.chain:
                led.prompt_tokens += spent.prompt_tokens
                led.completion_tokens += spent.completion_tokens
                led.cost_usd += spent.cost_usd
            self.cond.notify_all()

    # -- reserve and settle ------------------------------------------------------------------

    def reserve(self, prompt_tokens: int, max_tokens: int | None, price: ModelPrice | None, *,
                wait_s: float, cancelled: Callable[[], bool]) -> Hold:
        """Reserve ``prompt_tokens`` + a completion cap on the chain and the daily ledger (see
        ``ports.AgentContext.reserve``). While it does not fit and other calls hold reservations,
        wait for them (at most ``wait_s``). Errors: BudgetExceeded, Cancelled."""
        need = min(MIN_COMPLETION_TOKENS, max_tokens) if max_tokens is not None else MIN_COMPLETION_TOKENS
        deadline = time.monotonic() + wait_s
        pause = KEY_POLL_S[0]
        while True:
            if cancelled():
                raise Cancelled("execution was cancelled while an agent waited for budget")
            with self.cond:
                hold, refusal, busy = self._take(prompt_tokens, max_tokens, need, price)
                if hold is None and busy and time.monotonic() < deadline:
                    self.cond.wait(min(WAKE_S, max(deadline - time.monotonic(), 0.0)))
                    continue
            if hold is None:
                assert refusal is not None
                raise refusal
            if self.key is None:
                return hold
            try:
                got = self.key.reserve(prompt_tokens, hold.max_tokens, need, price, hold_s=wait_s + 60.0)
            except BaseException:
                self.settle(hold, Usage())
                raise
            if isinstance(got, KeyGrant):
                self._shrink(hold, got, price, prompt_tokens)
                return hold
            self.settle(hold, Usage())
            left = deadline - time.monotonic()
            if not got.waiting or left <= 0:
                raise got.error
            # another process holds part of the day's total: look again a little later
            with self.cond:
                self.cond.wait(min(pause, left))
            pause = min(pause * 2, KEY_POLL_S[1])

    def settle(self, hold: Hold, spent: Usage) -> None:
        """Give ``hold`` back and count ``spent`` on the chain and the daily ledger (once)."""
        with self.cond:
            if not hold.open:
                return
            hold.open = False
            for led in hold.chain:
                led.held_tokens -= hold.tokens
                led.held_cost -= hold.cost_usd
                led.holds -= 1
                led.prompt_tokens += spent.prompt_tokens
                led.completion_tokens += spent.completion_tokens
                led.cost_usd += spent.cost_usd
            self.cond.notify_all()
        if hold.key is not None and self.key is not None:
            try:
                self.key.settle(hold.key, spent)
            except WfxError:
                # The call was made and its reply must still be journaled: the day's total misses
                # it and its hold lapses on its own (a store outage; the run's own usage is exact).
                log.warning("the daily usage of %s was not updated after a model call", self.key.principal,
                            exc_info=True)

    def close(self, wait_s: float) -> Usage:
        """The run ends: refuse new reservations under it, wait up to ``wait_s`` for the calls in
        flight under it to settle, and return its totals (what the execution stores)."""
        end = time.monotonic() + wait_s
        with self.cond:
            self.closed = True
            while self.holds > 0 and (left := end - time.monotonic()) > 0:
                self.cond.wait(left)
        return self.spent()

    # -- inside the lock ---------------------------------------------------------------------

    def _take(self, prompt_tokens: int, max_tokens: int | None, need: int,
              price: ModelPrice | None) -> tuple[Hold | None, BudgetExceeded | None, bool]:
        """(hold, None, _) when the call fits; else (None, why not, whether others hold room)."""
        if any(led.closed for led in self.chain):
            raise Cancelled("the execution ended while this agent step still ran")
        budgeted = self.key is not None or any(led.budget is not None for led in self.chain)
        cap = max_tokens if max_tokens is not None else self.completion_cap if budgeted else None
        binding: Ledger | None = None
        for led in self.chain:
            left = led._left(prompt_tokens, price, self)
            if left is not None and (cap is None or left < cap):
                cap, binding = left, led
        if cap is not None and cap < need:
            busy = any(led.held_tokens > 0 or led.held_cost > 0 for led in self.chain)
            assert binding is not None
            return None, binding._refusal(self, prompt_tokens, need), busy
        tokens = prompt_tokens + cap if cap is not None else 0
        cost = price.cost(prompt_tokens, cap) if price is not None and cap is not None else 0.0
        hold = Hold(tokens, cost, cap, self.chain)
        for led in self.chain:
            led.held_tokens += tokens
            led.held_cost += cost
            led.holds += 1
        return hold, None, False

    def _left(self, prompt_tokens: int, price: ModelPrice | None, asking: Ledger) -> int | None:
        """The completion tokens this ledger's budget leaves a call (None: no limit)."""
        b = self.budget
        if b is None:
            return None
        out: int | None = None
        if b.max_tokens is not None:
            out = b.max_tokens - self.tokens - self.held_tokens - prompt_tokens
        if b.max_cost_usd is not None:
            if price is None:
                raise BudgetExceeded(f"the model of this agent has no price, so the cost budget of "
                                     f"{self._whose(asking)} cannot be enforced",
                                     fix="the operator adds the model to WFX_PRICES (or the provider's prices), "
                                     "or use max_tokens instead of max_cost_usd", execution=self.name)
            left_usd = b.max_cost_usd - self.cost_usd - self.held_cost - price.cost(prompt_tokens, 0)
            per = price.output_usd_per_mtok / 1e6
            by_cost = -1 if left_usd < 0 else math.floor(left_usd / per) if per > 0 else None
            if by_cost is not None:
                out = by_cost if out is None else min(out, by_cost)
        return out

    def _whose(self, asking: Ledger) -> str:
        return "this execution" if self is asking else f"parent execution {self.name}"

    def _refusal(self, asking: Ledger, prompt_tokens: int, need: int) -> BudgetExceeded:
        return BudgetExceeded(f"{self._whose(asking)} has used {self.tokens} tokens (${self.cost_usd:.4f}) of its "
                              f"{describe(self.budget or Budget())}; the next model call needs up to "
                              f"{prompt_tokens} prompt tokens and at least {need} for the reply", fix=FIX,
                              execution=self.name, tokens=self.tokens, cost_usd=self.cost_usd)

    def _shrink(self, hold: Hold, grant: KeyGrant, price: ModelPrice | None, prompt_tokens: int) -> None:
        """The daily ledger granted a smaller cap than the chain: hold only that much."""
        with self.cond:
            hold.key = grant
            if grant.max_tokens is None or (hold.max_tokens is not None and grant.max_tokens >= hold.max_tokens):
                return
            tokens = prompt_tokens + grant.max_tokens
            cost = price.cost(prompt_tokens, grant.max_tokens) if price is not None else 0.0
            for led in hold.chain:
                led.held_tokens += tokens - hold.tokens
                led.held_cost += cost - hold.cost_usd
            hold.tokens, hold.cost_usd, hold.max_tokens = tokens, cost, grant.max_tokens
            self.cond.notify_all()
