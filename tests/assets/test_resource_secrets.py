"""Credentials in Spark conf or lake storage options never appear in what the UI is shown."""

import json

import pytest
from dagster._core.remote_representation.external_data import RepositorySnap
from dagster._serdes import serialize_value

from assets.definitions import build_definitions
from assets.resources import MEMORY_TOKEN_ENV, SPARK_CONF_ENV, STORAGE_OPTIONS_ENV
from schemas.settings import IrmSettings, LakeSettings, MemorySettings, SparkSettings

CANARY = "irm-canary-secret-5b8e1d"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    """Absent during the test and restored after it, also when the resources set it."""
    for name in (SPARK_CONF_ENV, STORAGE_OPTIONS_ENV, MEMORY_TOKEN_ENV):
        monkeypatch.setenv(name, "{}")
        monkeypatch.delenv(name)


def _ui_snapshot(settings: IrmSettings) -> tuple[str, dict]:
    defs = build_definitions(settings)
    return serialize_value(RepositorySnap.from_def(defs.get_repository_def())), defs.resources


def test_credentials_from_code_reach_the_resources_only_through_env_vars(tmp_path):
    settings = IrmSettings(lake=LakeSettings(root=str(tmp_path / "lake"), storage_options={"AWS_SECRET_ACCESS_KEY": CANARY}),
                           spark=SparkSettings(conf={"spark.hadoop.fs.s3a.secret.key": CANARY}))
    snapshot, resources = _ui_snapshot(settings)
    assert CANARY not in snapshot
    assert SPARK_CONF_ENV in snapshot and STORAGE_OPTIONS_ENV in snapshot  # the UI names the variables instead
    lake = resources["lake"].process_config_and_initialize()
    spark = resources["spark"].process_config_and_initialize()
    assert lake.lake_settings().storage_options == {"AWS_SECRET_ACCESS_KEY": CANARY}
    assert spark.settings().conf == {"spark.hadoop.fs.s3a.secret.key": CANARY}


def test_a_memory_token_from_code_reaches_the_store_settings_only_through_its_env_var(tmp_path):
    settings = IrmSettings(lake=LakeSettings(root=str(tmp_path / "lake")),
                           memory=MemorySettings(uri="http://127.0.0.1:19530", token=CANARY))
    snapshot, resources = _ui_snapshot(settings)
    assert CANARY not in snapshot and MEMORY_TOKEN_ENV in snapshot
    memory = resources["memory"].process_config_and_initialize()
    assert memory.settings().token.get_secret_value() == CANARY


def test_credentials_from_the_environment_stay_there(monkeypatch, tmp_path):
    monkeypatch.setenv(SPARK_CONF_ENV, json.dumps({"spark.hadoop.fs.s3a.access.key": CANARY}))
    monkeypatch.setenv(STORAGE_OPTIONS_ENV, json.dumps({"AWS_SESSION_TOKEN": CANARY}))
    monkeypatch.setenv("IRM_LAKE__ROOT", str(tmp_path / "lake"))
    snapshot, resources = _ui_snapshot(IrmSettings())
    assert CANARY not in snapshot
    assert resources["lake"].process_config_and_initialize().lake_settings().storage_options == {"AWS_SESSION_TOKEN": CANARY}


def test_a_malformed_credentials_variable_fails_naming_the_field(monkeypatch):
    monkeypatch.setenv(STORAGE_OPTIONS_ENV, '{"AWS_REGION": 3}')
    from assets.resources import LakeResource
    from dagster import EnvVar

    with pytest.raises(ValueError, match="storage_options_json"):
        LakeResource(storage_options_json=EnvVar(STORAGE_OPTIONS_ENV)).process_config_and_initialize().lake_settings()

