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

# workflows (jobs/workflows/)
WORKFLOW_JOB = "run_workflow"
WORKFLOW_JOB_ID = "connectus:workflow:{run_id}:{attempt}"  # one arq job per run and (re)start
WORKFLOW_BATCH_JOB = "run_workflows"  # new runs, many a job: run side by side in one worker
WORKFLOW_BATCH_JOB_ID = "connectus:workflows:{first}:{count}"
WORKFLOW_BATCH = 50  # runs a batch job takes at most
WORKFLOW_JOB_TIMEOUT_S = 300
WORKFLOW_MAX_TRIES = 3  # arq's own re-runs of a job whose worker died; steps count their own
WORKFLOW_LEASE_S = 60.0  # a run whose lease lapsed is taken over from its first unfinished step
WORKFLOW_STEP_TIMEOUT_S = 120.0
WORKFLOW_STEP_MAX_TRIES = 5  # a step failing transiently is tried this often in all
WORKFLOW_RETRY_BASE_S = 2.0  # and backs off from here: 2, 4, 8, 16 seconds
WORKFLOW_SWEEP_EVERY_S = 10  # undispatched events and runs nobody works on are looked for
WORKFLOW_STALE_S = 30.0  # how long an event may wait for dispatch, or a queued run for a worker
WORKFLOW_TICK_EVERY_S = 10  # schedule triggers due within the next tick are queued for their time
WORKFLOW_CONDITIONS_EVERY_S = 30  # condition triggers are checked this often

# health scores (jobs/health/): the cron works every tenant's scores out again this often
HEALTH_EVERY_MIN = 5
# insight jobs (jobs/insights/)
INSIGHTS_EVERY_MIN = 5  # the detectors run this often over every tenant
INSIGHTS_TIMEOUT_S = 300
