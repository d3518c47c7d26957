"""Which chat model the agent talks to: a real one when configured, else the offline one."""

from __future__ import annotations

from langchain_core.language_models import BaseChatModel

from tools.context import Settings


def chat_model(settings: Settings) -> BaseChatModel:
    """``ChatOpenAI`` when OPENAI_API_KEY or OPENAI_BASE_URL is set (any OpenAI-compatible
    server: vLLM, Ollama, ...), with the model CONNECTUS_MODEL names; otherwise the
    built-in offline model, so the agent works with no key and no network."""
    if settings.openai_api_key or settings.openai_base_url:
        from langchain_openai import ChatOpenAI
        from pydantic import SecretStr

        # a local server needs no key, but the client insists on one
        key = SecretStr(settings.openai_api_key or "not-needed")
        model = settings.model if settings.model != "offline" else "gpt-4o-mini"
        return ChatOpenAI(model=model, api_key=key, base_url=settings.openai_base_url,
                          temperature=0)
    from agent.offline import OfflineChatModel

    return OfflineChatModel()
