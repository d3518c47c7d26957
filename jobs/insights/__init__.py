"""Insight jobs: detectors over what the engines record, turned into ConnectusInsight rows
that open, reopen and resolve themselves, and warn in Slack when they matter (docs/insights.md)."""
