"""Providers: the operator's endpoints, keys, default model and prices, read from the environment."""

from __future__ import annotations

import json

import pytest
from llm_server import LLMServer
from workflow_executor.agents import providers
from workflow_executor.errors import InvalidArgument, NoModelConfigured, NotFound
from workflow_executor.settings import Settings


def test_the_default_provider_sends_openai_api_key_to_openai_base_url() -> None:
    with LLMServer(api_key="sk-default") as llm:
        s = Settings.from_env({"OPENAI_API_KEY": "sk-default", "OPENAI_BASE_URL": llm.base_url, "WFX_MODEL": "m1"})
        assert providers.configured(s)
        client, model = providers.client_for(s, None)
        with client:
            r = client.chat.completions.create(model=model or "", messages=[{"role": "user", "content": "hi"}])
        assert model == "m1"
        assert r.choices[0].message.content == "reply to: hi"
        assert llm.request_headers[0]["authorization"] == "Bearer sk-default"
        assert "sk-default" not in repr(s)


def test_a_named_provider_reads_its_key_from_the_variable_it_names_and_has_its_own_model() -> None:
    with LLMServer(api_key="sk-local") as local, LLMServer() as other:
        env = {"OPENAI_BASE_URL": other.base_url, "LOCAL_KEY": "sk-local",
               "WFX_PROVIDERS": json.dumps({"local": {"base_url": local.base_url + "/", "api_key_env": "LOCAL_KEY",
                                                      "model": "llama3.1", "prices": {"llama3.1": {
                                                          "input": 1, "output": 2}}}})}
        s = Settings.from_env(env)
        client, model = providers.client_for(s, "local")
        with client:
            client.chat.completions.create(model=model or "", messages=[{"role": "user", "content": "x"}])
        assert model == "llama3.1"
        assert len(local.requests) == 1 and other.requests == []
        price = providers.price(s, "local", "llama3.1")
        assert price is not None and price.cost(1_000_000, 500_000) == pytest.approx(2.0)


def test_a_keyless_local_endpoint_works_without_any_key() -> None:
    with LLMServer() as llm:
        s = Settings(openai_base_url=llm.base_url)
        client, model = providers.client_for(s, None)
        with client:
            client.chat.completions.create(model="any", messages=[{"role": "user", "content": "x"}])
        assert model is None
        assert llm.request_headers[0]["authorization"] == "Bearer not-needed"


def test_unknown_or_missing_providers_say_what_to_configure() -> None:
    with pytest.raises(NoModelConfigured) as nothing:
        providers.client_for(Settings(), None)
    assert "OPENAI_API_KEY" in (nothing.value.fix or "")
    assert not providers.configured(Settings())
    s = Settings.from_env({"WFX_PROVIDERS": json.dumps({"a": {"base_url": "http://127.0.0.1:1/v1"},
                                                        "b": {"base_url": "http://127.0.0.1:2/v1"}})})
    with pytest.raises(NotFound) as unknown:
        providers.provider_settings(s, "c")
    assert "a, b" in (unknown.value.fix or "")
    with pytest.raises(NoModelConfigured):  # two named, no default: the agent must choose
        providers.provider_settings(s, None)
    one = Settings.from_env({"WFX_PROVIDERS": json.dumps({"a": {"base_url": "http://127.0.0.1:1/v1"}})})
    assert providers.provider_settings(one, None).name == "a"


@pytest.mark.parametrize("raw", [
    "not json", "[]", json.dumps({"a": {"base_url": "file:///etc"}}), json.dumps({"a": {"base_url": 3}}),
    json.dumps({"a": {"base_url": "http://h/v1", "api_key_env": "UNSET_VAR"}}),
    json.dumps({"a": {"base_url": "http://h/v1", "api_key": "sk-inline"}}),
    json.dumps({"default": {"base_url": "http://h/v1"}}),
    json.dumps({"a": {"base_url": "http://h/v1", "prices": {"m": {"input": "cheap"}}}}),
])
def test_bad_provider_settings_are_refused_naming_the_variable(raw: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        Settings.from_env({"WFX_PROVIDERS": raw})
    assert "WFX_PROVIDERS" in info.value.message
    assert info.value.fix


def test_prices_cover_common_models_dated_variants_and_operator_additions() -> None:
    s = Settings.from_env({"WFX_PRICES": json.dumps({"my-model": {"input": 3, "output": 4},
                                                     "gpt-4o": {"input": 1, "output": 1}}),
                           "OPENAI_API_KEY": "k"})
    mini = providers.price(s, None, "gpt-4o-mini-2024-07-18")
    assert mini is not None and mini.input_usd_per_mtok == 0.15  # longest prefix, not gpt-4o
    assert providers.price(s, None, "gpt-4o") == providers.price(s, None, "gpt-4o-2024-08-06")
    custom = providers.price(s, None, "my-model")
    assert custom is not None and custom.output_usd_per_mtok == 4
    assert providers.price(s, None, "unknown-model") is None
    with pytest.raises(InvalidArgument):
        Settings.from_env({"WFX_PRICES": "{"})
