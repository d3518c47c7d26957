"""The model factory: the real model when configured, the offline one otherwise."""

from __future__ import annotations

from langchain_openai import ChatOpenAI

from agent.model import chat_model
from agent.offline import OfflineChatModel
from store.settings import Settings


def test_no_key_and_no_url_is_the_offline_model() -> None:
    assert isinstance(chat_model(Settings.from_env({})), OfflineChatModel)


def test_a_key_is_chat_openai_with_connectus_model() -> None:
    model = chat_model(Settings.from_env({"OPENAI_API_KEY": "sk-test",
                                          "CONNECTUS_MODEL": "gpt-4.1-mini"}))
    assert isinstance(model, ChatOpenAI)
    assert model.model_name == "gpt-4.1-mini"
    assert model.openai_api_key is not None
    assert model.openai_api_key.get_secret_value() == "sk-test"


def test_a_local_server_needs_no_key() -> None:
    model = chat_model(Settings.from_env({"OPENAI_BASE_URL": "http://127.0.0.1:8161/v1",
                                          "CONNECTUS_MODEL": "qwen2.5"}))
    assert isinstance(model, ChatOpenAI)
    assert model.openai_api_base == "http://127.0.0.1:8161/v1"
    assert model.model_name == "qwen2.5"
