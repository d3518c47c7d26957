"""The hook for the chat's custom elements (h5: Dashboard, Provider browser, Field
mapping, Workflow builder under public/elements/).

``maybe_show`` is called by app.py with each message before the agent answers: when the
text asks for an element ("show my dashboard"), send it and return True, and the agent
is not asked. ``STARTERS`` extends the starter questions app.py offers.
"""

from __future__ import annotations

from tools.context import Caller

# (label, message, icon URL or "") shown after the core starters
STARTERS: list[tuple[str, str, str]] = []


async def maybe_show(text: str, caller: Caller) -> bool:
    """True when an element answered ``text`` in place of the agent."""
    return False
