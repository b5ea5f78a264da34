"""What a stage consumes is what Dagster materialized upstream, read from the instance: the id an
upstream materialization recorded in its metadata (and as its data version), never "the newest row
of a table". Re-materializing an upstream with identical content records the same content-hash id,
so the downstream stage reads exactly what it read before."""

from dagster import AssetExecutionContext, AssetKey


class UpstreamError(ValueError):
    pass


def consumed_id(context: AssetExecutionContext, upstream: str, field: str, explicit: str | None = None) -> str:
    """``explicit`` (a run config override) if given, else ``field`` of the latest materialization of ``upstream``."""
    if explicit:
        return explicit
    event = context.instance.get_latest_materialization_event(AssetKey(upstream))
    value = event.asset_materialization.metadata.get(field) if event is not None and event.asset_materialization else None
    if value is None:
        raise UpstreamError(f"{context.asset_key.to_user_string()} reads the `{upstream}` Dagster materialized, and this instance has "
                            f"none with a `{field}`: materialize `{upstream}` first, or name one in the run config ({field})")
    return str(value.value)
