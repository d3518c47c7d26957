"""The chat in a real browser: log in, ask, confirm a write, come back to a conversation.
What each test expects is read from the server (REST, the database), never written in."""

from __future__ import annotations

import re

import httpx

from tests.browser.chat import answers, ask, log_in, logged_in
from tests.browser.conftest import Live, shot

ANSWER_TIMEOUT_MS = 60_000


def test_a_wrong_password_is_refused_and_the_right_one_opens_the_chat(page, live: Live):
    log_in(page, live, password="not-the-password")
    refusal = page.get_by_text(re.compile("Unable to sign in"))
    refusal.wait_for()
    assert page.locator("#chat-input").count() == 0
    shot(page, "chat-login-refused")

    page.fill("#password", live.password)
    page.click("button[type=submit]")
    page.wait_for_selector("#chat-input")
    for label in ("Health", "Last failure", "Sync HubSpot", "New Lead Alert"):
        page.get_by_text(label, exact=True).first.wait_for()
    shot(page, "chat-logged-in")


def _overall_score(live: Live) -> int:
    return int(httpx.get(f"{live.url}/integrations/integrations/health_summary/",
                         headers={"Authorization": f"Bearer {live.api_key}"},
                         timeout=30).json()["overall_score"])


def test_health_answer_shows_the_real_score(page, live: Live):
    before = _overall_score(live)
    logged_in(page, live)
    ask(page, "How healthy are my integrations?")
    answer = answers(page).filter(has_text="overall score").first
    answer.wait_for(timeout=ANSWER_TIMEOUT_MS)
    shown = int(re.search(r"overall score (\d+)", answer.inner_text()).group(1))
    # the worker may recompute scores meanwhile: the figure is the tool's, then or now
    assert shown in (before, _overall_score(live))
    page.get_by_text("health_summary").first.wait_for()  # the tool call, shown as a step
    shot(page, "chat-health")


def test_a_sync_confirmed_with_the_button_starts_a_run(page, live: Live):
    logged_in(page, live)
    ask(page, "Sync HubSpot now")
    card = answers(page).filter(has_text="Needs your confirmation")
    card.first.wait_for(timeout=ANSWER_TIMEOUT_MS)
    assert "before" in card.first.inner_text() and "records" in card.first.inner_text()
    before = _hubspot_runs(live)
    shot(page, "chat-sync-card")

    page.get_by_role("button", name="Confirm").click()
    done = answers(page).filter(has_text="run_id")
    done.first.wait_for(timeout=ANSWER_TIMEOUT_MS)
    (run_id, status), = [run for run in _hubspot_runs(live) if run[0] not in dict(before)]
    assert run_id in done.first.inner_text()
    assert status in ("queued", "running", "succeeded", "partial", "failed")
    assert page.get_by_role("button", name="Confirm").count() == 0  # decided: buttons gone
    assert page.get_by_role("button", name="Cancel").count() == 0
    (decided,), = live.query("SELECT status FROM agent_confirmations WHERE tool = 'sync_now'")
    assert decided == "done", status
    # one step for the write: the one that waited, now holding what the sync started
    assert page.get_by_text("Used sync_now").count() == 1
    assert "Done: sync now." in answers(page).filter(has_text="Done: sync now").first.inner_text()
    shot(page, "chat-sync-confirmed")


def _hubspot_runs(live: Live) -> list[tuple[str, str]]:
    return [(str(i), str(s)) for i, s in live.query(
        "SELECT r.id::text, r.status FROM sync_runs r JOIN data_flows f ON f.id = r.data_flow_id"
        " JOIN integrations i ON i.id = f.integration_id WHERE i.name = 'HubSpot (sandbox)'")]


def test_an_earlier_conversation_resumes_from_the_sidebar(page, live: Live):
    logged_in(page, live)
    ask(page, "Why did the last sync fail?")
    answers(page).first.wait_for(timeout=ANSWER_TIMEOUT_MS)
    first_answer = answers(page).first.inner_text()
    (thread_id, agent_thread), = live.query(
        "SELECT id::text, agent_thread_id FROM chat_threads WHERE name LIKE %s",
        "Why did the last%")
    assert agent_thread

    page.click("#new-chat-button")
    confirm = page.locator("#confirm")
    if confirm.count():
        confirm.click()
    page.wait_for_selector("[data-step-type='user_message']", state="detached")
    page.get_by_text("Why did the last sync fail?").first.click()  # the sidebar entry
    page.wait_for_url(re.compile(f"/thread/{thread_id}"))
    page.get_by_text(first_answer[:40]).first.wait_for(timeout=ANSWER_TIMEOUT_MS)
    ask(page, "How healthy are my integrations?")
    answers(page).filter(has_text="overall score").first.wait_for(timeout=ANSWER_TIMEOUT_MS)
    # the same conversation, the same agent thread: no second one was made for it
    rows = live.query("SELECT id::text, agent_thread_id FROM chat_threads WHERE id::text = %s",
                      thread_id)
    assert rows == [(thread_id, agent_thread)]
    shot(page, "chat-resumed")


def test_a_viewer_asking_for_a_sync_is_told_why_and_nothing_runs(page, live: Live):
    from store.passwords import hash_password

    email, password = "viewer@demo.connectus.local", "viewer-password"
    live.query("INSERT INTO users (id, tenant_id, email, name, role, password_hash)"
               " SELECT gen_random_uuid(), id, %s, 'Demo Viewer', 'viewer', %s"
               " FROM tenants WHERE slug = 'demo' RETURNING id", email, hash_password(password))
    logged_in(page, live, email=email, password=password)
    before = _hubspot_runs(live)
    ask(page, "Sync HubSpot now")
    answers(page).filter(has_text="needs the member role; you are viewer").first.wait_for(
        timeout=ANSWER_TIMEOUT_MS)
    assert page.get_by_role("button", name="Confirm").count() == 0
    assert _hubspot_runs(live) == before
    shot(page, "chat-viewer-refused")


def test_a_confirmed_write_offers_undo_and_undo_puts_it_back(page, live: Live):
    def zapier_status() -> str:
        (status,), = live.query("SELECT status FROM integrations WHERE name = 'Zapier (sandbox)'")
        return str(status)

    assert zapier_status() == "active"
    logged_in(page, live)
    ask(page, "Pause the Zapier integration")
    page.get_by_role("button", name="Confirm").wait_for(timeout=ANSWER_TIMEOUT_MS)
    page.get_by_role("button", name="Confirm").click()
    page.get_by_role("button", name="Undo").wait_for(timeout=ANSWER_TIMEOUT_MS)
    assert zapier_status() == "inactive"
    page.get_by_role("button", name="Undo").click()
    answers(page).filter(has_text="Needs your confirmation: Undo").first.wait_for(
        timeout=ANSWER_TIMEOUT_MS)  # undo is a write too, with its own card
    page.get_by_role("button", name="Confirm").click()
    page.get_by_role("button", name="Confirm").wait_for(state="detached",
                                                        timeout=ANSWER_TIMEOUT_MS)
    answers(page).filter(has_text="Done").nth(1).wait_for(timeout=ANSWER_TIMEOUT_MS)
    assert zapier_status() == "active"
    shot(page, "chat-undo")
