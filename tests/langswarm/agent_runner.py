"""A minimal ``AgentRunner`` over the real ``openai`` client, for the LangSwarm corpus until the
product's agent runner is wired in services: one chat completion per agent step (system prompt,
then the rendered input). A reply that is a JSON object becomes that object (so conditions can
read its fields, as in LangSwarm workflows whose agents answer JSON)."""

from __future__ import annotations

import json
from typing import Any

import openai
from workflow_executor.models import Usage
from workflow_executor.ports import AgentReply


class ChatRunner:
    def __init__(self, base_url: str) -> None:
        self.client = openai.OpenAI(base_url=base_url, api_key="test-key", max_retries=0)

    def run(self, agent: Any, prompt: Any, *, timeout_s: float | None = None) -> AgentReply:
        text = prompt if isinstance(prompt, str) else json.dumps(prompt)
        messages: list[Any] = [{"role": "user", "content": text}]
        if agent.system_prompt:
            messages.insert(0, {"role": "system", "content": agent.system_prompt})
        reply = self.client.chat.completions.create(model=agent.model or "test-model", messages=messages,
                                                    timeout=timeout_s or 30.0)
        content = reply.choices[0].message.content or ""
        try:
            parsed = json.loads(content)
        except ValueError:
            parsed = None
        u = reply.usage
        usage = Usage(prompt_tokens=u.prompt_tokens, completion_tokens=u.completion_tokens) if u else Usage()
        return AgentReply(parsed if isinstance(parsed, dict) else content, usage)
