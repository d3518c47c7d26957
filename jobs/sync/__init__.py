"""The sync engine: runs of data flows, between a provider and ``synced_records``.

``runs`` owns the run rows (the one-at-a-time lock and its lease), ``engine`` the
inbound page -> map -> upsert loop, ``records`` the batched upsert, ``failures`` what a
failure does to a run, ``jobs`` the arq job definitions. Writing to the provider:
``sides`` says which way each field goes and which writes address a record,
``outbound`` the batched, repeatable writes of changed records, ``merge`` the
three-way merge of one both-ways record, ``both_ways`` a both-ways run (in, then out).
``schedule`` starts due flows, ``realtime`` the flows a webhook concerns, and
``flow_status`` stops a flow whose run failed for a reason a person must fix.

Beside the syncs: ``upkeep`` runs that hold a flow's lock without syncing it, namely
``deletions`` (deletion checks), ``reconcile`` (against the provider's totals) and
``replay`` (dead letters after a mapping fix), with their jobs in ``upkeep_jobs``;
``contracts`` (zero-record runs, min_records, staleness) and ``rerun``.
"""
