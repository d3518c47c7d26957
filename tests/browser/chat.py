"""What a person does in the chat, as steps the browser tests share."""

from __future__ import annotations

from typing import Any

from tests.browser.conftest import Live


def log_in(page: Any, live: Live, password: str | None = None) -> None:
    page.goto(f"{live.url}/chat/")
    page.fill("#email", live.email)
    page.fill("#password", live.password if password is None else password)
    page.click("button[type=submit]")


def logged_in(page: Any, live: Live) -> None:
    log_in(page, live)
    page.wait_for_selector("#chat-input")


def ask(page: Any, text: str) -> None:
    """Type and send; the send button is enabled once the chat's socket is connected."""
    sent = page.locator("[data-step-type='user_message']").count()
    page.fill("#chat-input", text)
    page.wait_for_selector("#chat-submit:not([disabled])")
    page.click("#chat-submit")
    page.locator("[data-step-type='user_message']").nth(sent).wait_for()


def answers(page: Any) -> Any:
    """The assistant's messages on the page (Chainlit marks each with data-step-type)."""
    return page.locator("[data-step-type='assistant_message']")
