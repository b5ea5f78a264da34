import datetime as dt

import pyarrow as pa
import pytest
from deltalake import DeltaTable
from pydantic import BaseModel
from pyspark.sql import types as T

from schemas import TABLES, arrow_schema, spark_schema
from schemas.settings import IrmSettings
from schemas.types import UnsupportedFieldType

SPARK_TO_ARROW = {
    T.StringType(): pa.string(), T.LongType(): pa.int64(), T.DoubleType(): pa.float64(),
    T.BooleanType(): pa.bool_(), T.TimestampType(): pa.timestamp("us", tz="UTC"),
}


def _arrow_of(spark_type):
    if isinstance(spark_type, T.MapType):
        return pa.map_(_arrow_of(spark_type.keyType), pa.field("value", _arrow_of(spark_type.valueType), nullable=spark_type.valueContainsNull))
    if isinstance(spark_type, T.ArrayType):
        return pa.list_(pa.field("element", _arrow_of(spark_type.elementType), nullable=spark_type.containsNull))
    return SPARK_TO_ARROW[spark_type]


@pytest.mark.parametrize("name", sorted(TABLES))
def test_pydantic_spark_and_arrow_schemas_agree(name):
    model = TABLES[name].model
    spark, arrow = spark_schema(model), arrow_schema(model)
    assert spark.fieldNames() == arrow.names == list(model.model_fields)
    for s_field, a_field in zip(spark.fields, arrow):
        assert _arrow_of(s_field.dataType) == a_field.type, s_field.name
        annotation = model.model_fields[s_field.name].annotation
        allows_none = type(None) in getattr(annotation, "__args__", ())
        assert s_field.nullable == a_field.nullable == allows_none, s_field.name


@pytest.mark.parametrize("name", sorted(TABLES))
def test_a_table_written_by_spark_reads_back_with_the_derived_arrow_schema(lake, name):
    lake.ensure(name)
    read = DeltaTable(lake.settings.table_uri(name)).schema().to_arrow()
    read = pa.schema(read)
    derived = arrow_schema(TABLES[name].model)
    assert read.names == derived.names
    for got, want in zip(read, derived):
        assert got.type == want.type, got.name
        assert got.nullable == want.nullable, got.name


def test_an_unsupported_field_type_is_refused_with_the_field_named():
    class Odd(BaseModel):
        when: dt.time

    with pytest.raises(UnsupportedFieldType, match="Odd.when"):
        spark_schema(Odd)


def test_settings_read_nested_environment_variables(monkeypatch):
    monkeypatch.setenv("IRM_SPARK__MASTER", "spark://head:7077")
    monkeypatch.setenv("IRM_LAKE__ROOT", "s3://bucket/lake/")
    settings = IrmSettings()
    assert settings.spark.master == "spark://head:7077"
    assert settings.lake.uri == "s3://bucket/lake"
    assert settings.lake.table_uri("rejects", for_spark=True) == "s3a://bucket/lake/rejects"


def test_a_bad_master_url_fails_fast_naming_the_field_and_the_fix(monkeypatch):
    monkeypatch.setenv("IRM_SPARK__MASTER", "localhost")
    with pytest.raises(ValueError, match=r"spark\.master='localhost'.*IRM_SPARK__MASTER"):
        IrmSettings()
