"""The chat's custom elements in a real browser, on the live demo tenant: the dashboard
shows one card per integration in the database, the provider browser the seven
providers, the mapping editor a live preview, and a workflow built in the builder is
proposed with the confirmation card and, once confirmed, stored. A screenshot of each
element is saved under the harness's git-ignored folder."""

from __future__ import annotations

from typing import Any

from tests.browser.chat import answers, ask, logged_in
from tests.browser.conftest import SHOTS, Live

ELEMENT_TIMEOUT_MS = 60_000


def element_shot(element: Any, name: str) -> None:
    """The element itself (the chat scrolls inside a pane, so a page shot cuts it)."""
    SHOTS.mkdir(exist_ok=True)
    path = SHOTS / f"{name}.png"
    element.scroll_into_view_if_needed()
    element.screenshot(path=str(path))
    print(f"screenshot: {path}")


def opened(page: Any, live: Live, asked: str, testid: str) -> Any:
    """Log in, ask for an element, and answer it once it has rendered."""
    logged_in(page, live)
    ask(page, asked)
    element = page.locator(f"[data-testid={testid}]").last
    element.wait_for(timeout=ELEMENT_TIMEOUT_MS)
    return element


def _score(live: Live, name: str) -> int:
    [(score,)] = live.query("select health_score from integrations where name = %s", name)
    return int(str(score))


def test_the_dashboard_shows_a_card_per_integration_and_the_health_chart(page, live: Live):
    score_before = _score(live, "HubSpot (sandbox)")
    dashboard = opened(page, live, "show my dashboard", "dashboard")
    [(stored,)] = live.query("select count(*) from integrations")
    cards = dashboard.locator("[data-testid=integration-card]")
    assert cards.count() == stored == 7
    hubspot = cards.filter(has_text="HubSpot (sandbox)")
    shown = int(hubspot.locator("[data-testid=card-score]").inner_text())
    # the worker may rescore meanwhile: the figure is the database's, then or now
    assert shown in {_score(live, "HubSpot (sandbox)"), score_before}
    dashboard.locator("[data-testid=health-chart]").wait_for()
    # the score over time: a point for each of the last seven days that has a score
    [(scored_days,)] = live.query(
        "select count(distinct day) from health_days"
        " where day > (now() at time zone 'utc')::date - 7")
    assert dashboard.locator("[data-testid=score-point]").count() == scored_days == 7
    element_shot(dashboard.locator("[data-testid=health-chart]"), "element-health-chart")
    element_shot(dashboard, "element-dashboard")
    dashboard.get_by_role("tab", name="Health Logs").click()
    dashboard.locator("[data-testid=health-log]").first.wait_for()
    element_shot(dashboard, "element-dashboard-logs")


def test_the_provider_browser_lists_the_seven_providers(page, live: Live):
    browser = opened(page, live, "add an integration", "provider-browser")
    [(providers,)] = live.query("select count(*) from integration_providers")
    assert browser.locator("[data-testid=provider-card]").count() == providers == 7
    browser.get_by_role("button", name="Add Mailchimp").click()
    form = browser.locator("[data-testid=add-form]")
    assert form.get_by_label("api_key").get_attribute("type") == "password"
    element_shot(browser, "element-provider-browser")


def test_the_mapping_editor_previews_records_before_and_after(page, live: Live):
    mapping = opened(page, live, "edit the mapping", "field-mapping")
    assert mapping.locator("[data-testid=mapping-row]").count() > 0
    mapping.locator("[data-testid=mapping-preview]").wait_for(timeout=ELEMENT_TIMEOUT_MS)
    element_shot(mapping, "element-field-mapping")


def test_a_workflow_built_in_the_builder_is_confirmed_and_stored(page, live: Live):
    builder = opened(page, live, "build a workflow", "workflow-builder")
    builder.get_by_label("workflow name").fill("Browser Lead Alert")
    builder.get_by_label("integration").select_option(label="HubSpot (sandbox)")
    builder.get_by_label("event").select_option("contact.creation")
    builder.get_by_label("add action").select_option("create_contact")
    check = builder.locator("[data-testid=workflow-check]")
    check.filter(has_text="Valid").wait_for(timeout=ELEMENT_TIMEOUT_MS)
    element_shot(builder, "element-workflow-builder")
    builder.get_by_role("button", name="Save workflow").click()

    card = answers(page).filter(has_text="Browser Lead Alert").filter(
        has_text="Needs your confirmation")
    card.first.wait_for(timeout=ELEMENT_TIMEOUT_MS)
    assert live.query("select 1 from workflow_automations where name = %s",
                      "Browser Lead Alert") == []  # nothing before the confirmation
    card.first.get_by_role("button", name="Confirm").click()
    answers(page).filter(has_text="Browser Lead Alert").filter(
        has_text="Undo").first.wait_for(timeout=ELEMENT_TIMEOUT_MS)
    [(trigger, actions)] = live.query(
        "select trigger_type, actions from workflow_automations where name = %s",
        "Browser Lead Alert")
    assert trigger == "webhook" and [a["type"] for a in actions] == ["create_contact"]
