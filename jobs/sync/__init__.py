"""The sync engine: runs of data flows, from a provider's pages into ``synced_records``.

``runs`` owns the run rows (the one-at-a-time lock and its lease), ``engine`` the
page -> map -> upsert loop, ``records`` the batched upsert, ``failures`` what a
failure does to a run, ``jobs`` the arq job definitions.
``schedule`` starts due flows, ``realtime`` the flows a webhook concerns, and
``flow_status`` stops a flow whose run failed for a reason a person must fix.
"""
