"""Queue and key names in one place, shared by the worker and whoever enqueues."""

QUEUE_NAME = "connectus:queue"
HEARTBEAT_KEY = "connectus:worker:heartbeat"
HEARTBEAT_TTL_S = 120
# rejected webhook deliveries per integration per window (tools/webhooks.py)
WEBHOOK_REJECTIONS_KEY = "connectus:webhooks:rejected:{integration}:{window}"
