"""Single source of truth for lake tables and typed configuration."""

from schemas.settings import IrmSettings, LakeSettings, LandingSettings, SparkSettings
from schemas.tables import TABLES, IngestedDrop, LineageEntry, RawDocument, Reject, TableSpec
from schemas.types import arrow_schema, spark_schema

__all__ = [
    "IrmSettings", "LakeSettings", "LandingSettings", "SparkSettings",
    "TABLES", "IngestedDrop", "LineageEntry", "RawDocument", "Reject", "TableSpec",
    "arrow_schema", "spark_schema",
]
