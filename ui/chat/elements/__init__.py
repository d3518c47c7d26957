"""The brief's dashboard inside the chat: Chainlit custom elements (JSX under
ui/chat/public/elements/) whose props come from our operations and whose buttons call
the same tools and confirmations as a typed request (actions.py).

``wanted`` says which element a message asks for; ``show`` (chainlit_side.py) sends it.
"""

from __future__ import annotations

import re

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


async def maybe_show(text: str, caller: object = None) -> bool:
    """The chat app's hook before the agent answers: send the element ``text`` asks for
    (True: the message is answered). Chainlit is imported only here, when a chat runs."""
    from ui.chat.elements.chainlit_side import maybe_show as send

    return await send(text)
