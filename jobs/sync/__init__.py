"""The sync engine: runs of data flows, from a provider's pages into ``synced_records``.

``runs`` owns the run rows (the one-at-a-time lock and its lease), ``engine`` the
page -> map -> upsert loop, ``records`` the batched upsert, ``failures`` what a
failure does to a run, ``jobs`` the arq job definitions.

Beside the syncs: ``upkeep`` runs that hold a flow's lock without syncing it, namely
``deletions`` (deletion checks), ``reconcile`` (against the provider's totals) and
``replay`` (dead letters after a mapping fix), with their jobs in ``upkeep_jobs``;
``contracts`` (zero-record runs, min_records, staleness) and ``rerun``.
"""
