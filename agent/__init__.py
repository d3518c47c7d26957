"""The agent: LangGraph over the tool registry, threads in PostgreSQL, writes confirmed by
a person. The doors call ``ask``, ``confirm``, ``cancel`` (or ``stream``)."""

from agent.ask import Answer, Event, ask, cancel, confirm, stream

__all__ = ["Answer", "Event", "ask", "cancel", "confirm", "stream"]
