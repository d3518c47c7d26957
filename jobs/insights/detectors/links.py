"""What a person does about an integration, as REST paths the chat and Slack can show."""

from __future__ import annotations

from jobs.insights.finding import IntegrationView


def reconnect(integration: IntegrationView) -> str:
    if integration.oauth:
        return (f"Reconnect {integration.name}: POST /integrations/integrations/"
                f"{integration.id}/oauth/connect/ and open the authorize_url it returns")
    return (f"Give {integration.name} new credentials: PATCH /integrations/integrations/"
            f"{integration.id}/ with credentials")


def flow_runs(flow_id: object) -> str:
    return f"Read its runs and their errors: GET /integrations/sync-runs/?data_flow={flow_id}"


def dead_letters(flow_id: object) -> str:
    return (f"See the records it refused and why: GET /integrations/data-flows/{flow_id}/"
            "dead-letters/")
