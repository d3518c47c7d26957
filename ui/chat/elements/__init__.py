"""The brief's dashboard inside the chat: Chainlit custom elements (JSX under
ui/chat/public/elements/) whose props come from our operations and whose buttons call
the same tools and confirmations as a typed request (actions.py).

``wanted`` says which element a message asks for; ``maybe_show`` (called by app.py
with each message before the agent answers) sends it; ``STARTERS`` extends the starter
questions app.py offers.
"""

from __future__ import annotations

import re

from tools.context import Caller

# (label, message, icon URL or "") shown after the core starters
STARTERS: list[tuple[str, str, str]] = [
    ("Dashboard", "Show my dashboard", ""),
    ("Add an integration", "Add an integration", ""),
    ("Build a workflow", "Build a workflow", ""),
]

ASKS = [  # (element, what a person types for it)
    ("Dashboard", re.compile(r"\b(show (me )?(my |the )?dashboard|^dashboard$|open (my |the )?"
                             r"dashboard)\b", re.I)),
    ("ProviderBrowser", re.compile(r"\b(providers?( browser)?|add (an? )?integration|"
                                   r"connect (a|an|new) (provider|integration))\b", re.I)),
    ("WorkflowBuilder", re.compile(r"\b(workflow builder|build (a |me a )?workflow|"
                                   r"new workflow)\b", re.I)),
    ("FieldMapping", re.compile(r"\b(field mapping|edit (the )?mapping|mapping editor|"
                                r"map(ping)? fields)\b", re.I)),
]


def wanted(text: str) -> str | None:
    """The element a message asks for, or None for a question for the agent."""
    cleaned = text.strip()
    if len(cleaned) > 80:  # a long message is a question, even if it names one
        return None
    return next((name for name, pattern in ASKS if pattern.search(cleaned)), None)


async def maybe_show(text: str, caller: Caller) -> bool:
    """True when an element answered ``text`` in place of the agent. Chainlit is imported
    only here, when a chat runs."""
    name = wanted(text)
    if name is None:
        return False
    from ui.chat.elements.chainlit_side import show

    await show(name, caller, text)
    return True
