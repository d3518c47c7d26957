"""Health scores: what is gathered about each integration (inputs.py), the formula that
turns it into 0-100 with its reasons (score.py), and when it is worked out again
(refresh.py: after each sync, after each provider error, and by cron)."""
