"""Derive the Spark and Arrow schemas of a lake table from its pydantic row model.

The pydantic model is the single source of truth for a table; the Spark ``StructType`` (used to
write) and the Arrow schema (used by DuckDB and deltalake to read) are computed from it so the
three can never drift apart. Only the types the lake needs are supported; anything else fails
loudly at import time rather than producing a surprising column type.
"""

from __future__ import annotations

import datetime as dt
import types
import typing

import pyarrow as pa
from pydantic import BaseModel
from pyspark.sql import types as T


class UnsupportedFieldType(TypeError):
    pass


def _unwrap_optional(annotation: typing.Any) -> tuple[typing.Any, bool]:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1 and len(typing.get_args(annotation)) == 2:
            return args[0], True
        raise UnsupportedFieldType(f"only Optional[X] unions are supported, got {annotation!r}")
    return annotation, False


_SCALARS: dict[type, tuple[T.DataType, pa.DataType]] = {
    str: (T.StringType(), pa.string()),
    int: (T.LongType(), pa.int64()),
    float: (T.DoubleType(), pa.float64()),
    bool: (T.BooleanType(), pa.bool_()),
    bytes: (T.BinaryType(), pa.binary()),
    dt.datetime: (T.TimestampType(), pa.timestamp("us", tz="UTC")),
    dt.date: (T.DateType(), pa.date32()),
}


def _types_of(annotation: typing.Any, where: str) -> tuple[T.DataType, pa.DataType]:
    if annotation in _SCALARS:
        return _SCALARS[annotation]
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is list:
        spark_el, arrow_el = _types_of(args[0], where)
        return T.ArrayType(spark_el, containsNull=False), pa.list_(pa.field("element", arrow_el, nullable=False))
    if origin is dict:
        sk, ak = _types_of(args[0], where)
        sv, av = _types_of(args[1], where)
        return T.MapType(sk, sv, valueContainsNull=False), pa.map_(ak, pa.field("value", av, nullable=False))
    raise UnsupportedFieldType(f"{where}: type {annotation!r} has no lake column type; use str, int, float, bool, bytes, datetime, date, list[...] or dict[...]")


def spark_schema(model: type[BaseModel]) -> T.StructType:
    fields = []
    for name, info in model.model_fields.items():
        inner, nullable = _unwrap_optional(info.annotation)
        spark_type, _ = _types_of(inner, f"{model.__name__}.{name}")
        fields.append(T.StructField(name, spark_type, nullable=nullable))
    return T.StructType(fields)


def arrow_schema(model: type[BaseModel]) -> pa.Schema:
    fields = []
    for name, info in model.model_fields.items():
        inner, nullable = _unwrap_optional(info.annotation)
        _, arrow_type = _types_of(inner, f"{model.__name__}.{name}")
        fields.append(pa.field(name, arrow_type, nullable=nullable))
    return pa.schema(fields)
