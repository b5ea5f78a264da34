"""Who owns each asset group, and how fresh the scheduled assets must be.

Applied once to the whole code location (``Definitions.map_asset_specs``) so that no asset can be
registered without an owner, and so the freshness expectations live in one reviewable table.
Event-driven assets get no time-window policy: a lake with no new drops is not stale. Assets
refreshed by a schedule or by hand do: the UI turns them WARN and then FAIL when the refresh stops.
"""

from __future__ import annotations

from datetime import timedelta

from dagster import AssetSpec, FreshnessPolicy

OWNERS_BY_GROUP: dict[str, list[str]] = {
    "ingest": ["team:data-platform"],
    "curation": ["team:data-platform"],
    "licenses": ["team:data-governance"],
    "evals": ["team:ml-eval"],
    "tokenizer": ["team:ml-platform"],
    "training_data": ["team:data-platform"],
    "training": ["team:ml-training"],
    "post_training": ["team:ml-training"],
    "distillation": ["team:ml-training"],
    "serving": ["team:ml-serving"],
    "memory": ["team:ml-serving"],
    "maintenance": ["team:data-platform"],
    "reports": ["team:ml-platform"],
}
DEFAULT_OWNERS = ["team:ml-platform"]

FRESHNESS: dict[str, FreshnessPolicy] = {
    "latency_sweep": FreshnessPolicy.time_window(fail_window=timedelta(days=2), warn_window=timedelta(days=1)),
    "report": FreshnessPolicy.time_window(fail_window=timedelta(days=8), warn_window=timedelta(days=7)),
    "tokenizer": FreshnessPolicy.time_window(fail_window=timedelta(days=90), warn_window=timedelta(days=60)),
    "lake_audit": FreshnessPolicy.time_window(fail_window=timedelta(days=2), warn_window=timedelta(days=1)),
    "table_maintenance": FreshnessPolicy.time_window(fail_window=timedelta(days=8), warn_window=timedelta(days=7)),
}


def catalogued(spec: AssetSpec) -> AssetSpec:
    """The spec with its group's owners (unless it names its own) and its freshness policy."""
    owners = list(spec.owners) or OWNERS_BY_GROUP.get(spec.group_name or "", DEFAULT_OWNERS)
    policy = FRESHNESS.get(spec.key.to_user_string(), spec.freshness_policy)
    return spec.replace_attributes(owners=owners, freshness_policy=policy)
