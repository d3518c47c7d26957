"""The built-in offline model: a deterministic tool router behind LangChain's interface."""

from agent.offline.chat import OfflineChatModel

__all__ = ["OfflineChatModel"]
