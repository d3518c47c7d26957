"""The Slack bot: Slack's Events API and interactivity at ``/slack/events`` (and
``/slack/interactivity``, the same door), on the REST app's server.

Off until the Slack app's signing secret is set (``CONNECTUS_SLACK_SIGNING_SECRET``):
without it no request can be told from Slack's, so every one is refused.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler

from tools.context import Services
from ui.api.errors import error_body
from ui.slack.bolt import build_app

EVENTS_PATH = "/slack/events"
INTERACTIVITY_PATH = "/slack/interactivity"


def mount(app: FastAPI, services: Services) -> None:
    secret = services.settings.slack_signing_secret
    handler = AsyncSlackRequestHandler(build_app(services, secret)) if secret else None
    router = APIRouter(tags=["slack"], include_in_schema=False)

    @router.post(EVENTS_PATH)
    @router.post(INTERACTIVITY_PATH)
    async def slack_events(request: Request) -> Response:
        if handler is None:
            return JSONResponse(error_body(
                "slack_not_configured", "the Slack bot is off: set "
                "CONNECTUS_SLACK_SIGNING_SECRET to the Slack app's signing secret"), 503)
        answer = await handler.handle(request)
        if answer.status_code == 401:  # bolt's own body names nothing
            return JSONResponse(error_body(
                "unauthenticated", "not a request from Slack: X-Slack-Signature does not "
                "match the body, or X-Slack-Request-Timestamp is missing or more than five "
                "minutes off", [{"field": "header.X-Slack-Signature"}]), 401)
        return answer

    app.include_router(router)
