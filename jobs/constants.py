"""Queue and key names in one place, shared by the worker and whoever enqueues."""

QUEUE_NAME = "connectus:queue"
HEARTBEAT_KEY = "connectus:worker:heartbeat"
HEARTBEAT_TTL_S = 120
# rejected webhook deliveries per integration per window (tools/webhooks.py)
WEBHOOK_REJECTIONS_KEY = "connectus:webhooks:rejected:{integration}:{window}"

# the sync engine (jobs/sync/)
SYNC_JOB = "run_data_flow"
SYNC_JOB_ID = "connectus:sync:{run_id}:{attempt}"  # one arq job per run and (re)start
SYNC_JOB_TIMEOUT_S = 6 * 3600
SYNC_MAX_TRIES = 6
SYNC_LEASE_S = 60.0  # a run whose lease is older than this is taken over from its checkpoint
SYNC_RETRY_BASE_S = 5.0  # transient retries back off from here: 5, 10, 20 ... seconds
SYNC_SWEEP_EVERY_S = 10  # how often a worker looks for runs whose worker died
