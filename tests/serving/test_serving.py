import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml
from transformers import AutoModelForCausalLM, AutoTokenizer

from ledgers.lineage import lineage
from schemas.distill import DistillConfig, EndpointTeacher, Task
from schemas.serving import BuildSpecConfig
from schemas.settings import ServingSettings, SlurmSettings, TrainingSettings
from serving.endpoint import EndpointConfigError, is_loopback, serve
from serving.engines import build_settings, no_gpu_reason, plan_engine, record
from serving.latency import LatencyConfig, gate, sweep
from serving.teachers import sample_task
from training.checkpoints import discover, register
from training.launch import launch, module_script
from training.runs import checkpoints_root

# LLM-API option names as TensorRT-LLM documents and defines them (LlmArgs, KvCacheConfig, DraftTargetDecodingConfig,
# whose decoding_type is the literal "Draft_Target" in tensorrt_llm/llmapi/llm_args.py)
LLM_API_FIELDS = {"backend", "max_batch_size", "max_num_tokens", "max_seq_len", "tensor_parallel_size", "kv_cache_config",
                  "speculative_config", "disable_overlap_scheduler"}
KV_CACHE_FIELDS = {"dtype", "enable_block_reuse", "free_gpu_memory_fraction", "tokens_per_block"}
DRAFT_TARGET_FIELDS = {"decoding_type", "max_draft_len", "speculative_model"}


@pytest.fixture
def registered(trained):
    lake, settings, report = trained
    key = discover(checkpoints_root(settings))[-1]
    record_, _ = register(lake, checkpoints_root(settings), key)
    return lake, settings, record_


def test_export_loads_with_hf_loaders_and_records_its_hashes(registered):
    lake, _, ckpt = registered
    plan = plan_engine(lake, ckpt.checkpoint_id, BuildSpecConfig(draft_model="/exports/draft"))
    folder = Path(plan.export.uri)
    assert AutoModelForCausalLM.from_pretrained(folder).config.model_type == "llama"
    tokenizer = AutoTokenizer.from_pretrained(folder, use_fast=False)
    assert tokenizer.eos_token == "</s>" and len(tokenizer.encode("def add(a, b):", add_special_tokens=False)) > 0
    row = lake.read("exports").collect()[0]
    assert row["sha256"] == plan.export.sha256 and set(row["files"]) >= {"model.safetensors", "config.json", "tokenizer.model"}
    options = yaml.safe_load(plan.options_path.read_text())
    assert set(options) <= LLM_API_FIELDS and set(options["kv_cache_config"]) <= KV_CACHE_FIELDS
    assert set(options["speculative_config"]) <= DRAFT_TARGET_FIELDS and options["kv_cache_config"]["dtype"] == "fp8"
    assert options["speculative_config"]["decoding_type"] == "Draft_Target"
    assert options["max_seq_len"] == 32  # the small model's context
    build = yaml.safe_load((plan.options_path.parent / "build.yaml").read_text())
    assert build["quantization"]["tool"] == "nvidia-modelopt" and build["model"].endswith("trtllm/fp8")


def test_without_a_gpu_executor_nothing_pretends_an_engine_exists(registered):
    _, settings, _ = registered
    assert "no GPU executor is configured" in no_gpu_reason(settings)
    with pytest.raises(ValueError, match="serving.trtllm_container_image"):
        ServingSettings(gpu_executor="slurm")


def test_a_gpu_build_goes_through_the_executor_layer_and_traces_to_the_drops(registered, tmp_path):
    lake, settings, ckpt = registered
    slurm = SlurmSettings(account="irm", partition="h200", job_dir=str(tmp_path / "jobs"))
    cluster = settings.model_copy(update={"training": TrainingSettings(slurm=slurm),
                                          "serving": ServingSettings(gpu_executor="slurm", trtllm_container_image="nvcr.io/nvidia/tensorrt-llm/release:1.2.0")})
    plan = plan_engine(lake, ckpt.checkpoint_id, BuildSpecConfig())
    result = launch(build_settings(cluster), f"irm-{plan.engine_id}", [("trtllm-build", module_script("serving.trtllm_build", [str(plan.options_path)]))],
                    dryrun=True)
    script = Path(result.sbatch_scripts[0]).read_text()
    assert "tensorrt-llm/release:1.2.0" in script and "serving.trtllm_build" in script and "#SBATCH --nodes=1" in script
    record(lake, plan, ckpt.checkpoint_id, cluster, "DRYRUN", result.experiment_id)
    node = lineage(settings.lake, plan.engine_id)
    assert node.kind == "engine" and node.children[0].kind == "checkpoint" and node.children[0].children[0].kind == "training_run"


def test_the_local_endpoint_streams_and_the_harness_states_the_length_it_reached(registered):
    _, _, ckpt = registered
    endpoint = serve(ckpt.uri)
    try:
        request = urllib.request.Request(endpoint.base_url + "/chat/completions", headers={"Content-Type": "application/json"},
                                         data=json.dumps({"messages": [{"role": "user", "content": "hi"}], "max_tokens": 4}).encode())
        reply = json.loads(urllib.request.urlopen(request).read())
        assert reply["object"] == "chat.completion" and reply["usage"]["completion_tokens"] <= 4
        cfg = LatencyConfig(base_url=endpoint.base_url, prompt_tokens=[8, 16, 4096], requests_per_length=2, max_tokens=4)
        rows = sweep(cfg)
        assert [r.status for r in rows][:2] == ["ok", "ok"] and rows[2].status.startswith("refused")
        assert all(r.ttft_p50_ms > 0 and r.tpot_p95_ms >= r.tpot_p50_ms for r in rows[:2])
        passed, sentence = gate(rows, cfg)
        assert not passed and "not measured" in sentence and f"{rows[1].prompt_tokens:,} tokens" in sentence
        teacher = EndpointTeacher(name="local", base_url=endpoint.base_url, model=ckpt.checkpoint_id, max_tokens=4, timeout_s=30,
                                  system_prompt=False)  # the test model's context is 32 tokens
        samples, cost = sample_task(Task(task_id="t", kind="math", prompt="1+1?", answer="2"),
                                    DistillConfig(tasks_uri="-", teachers=[teacher], samples_per_task=3), {})
        assert len(samples) == 3 and cost["calls"] == 3 and cost["failures"] == 0
    finally:
        endpoint.close()


def test_the_endpoint_refuses_a_non_loopback_bind_without_an_api_key():
    for host in ("0.0.0.0", "::"):
        with pytest.raises(EndpointConfigError, match="without an API key"):
            serve("/no/checkpoint/needed", host=host)
    with pytest.raises(EndpointConfigError, match="shorter than 16"):
        serve("/no/checkpoint/needed", host="0.0.0.0", api_key="short")
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and not is_loopback("0.0.0.0")


def test_with_an_api_key_every_request_must_carry_it(registered, monkeypatch):
    _, _, ckpt = registered
    key = "irm-test-key-9d2f61c0b4e8a7"
    endpoint = serve(ckpt.uri, api_key=key)
    try:
        def status(headers: dict) -> int:
            try:
                return urllib.request.urlopen(urllib.request.Request(endpoint.base_url + "/models", headers=headers)).status
            except urllib.error.HTTPError as err:
                return err.code

        assert status({}) == 401 and status({"Authorization": "Bearer wrong"}) == 401 and status({"Authorization": key}) == 401
        assert status({"Authorization": f"Bearer {key}"}) == 200
        monkeypatch.setenv("IRM_TEST_TEACHER_KEY", key)
        task, cfg = Task(task_id="t", kind="math", prompt="1+1?", answer="2"), dict(model=ckpt.checkpoint_id, max_tokens=2, timeout_s=30,
                                                                                 system_prompt=False, retries=0)
        keyed = EndpointTeacher(name="keyed", base_url=endpoint.base_url, api_key_env="IRM_TEST_TEACHER_KEY", **cfg)
        keyless = EndpointTeacher(name="keyless", base_url=endpoint.base_url, **cfg)
        samples, cost = sample_task(task, DistillConfig(tasks_uri="-", teachers=[keyed], samples_per_task=3), {})
        assert len(samples) == 3 and cost["failures"] == 0
        samples, cost = sample_task(task, DistillConfig(tasks_uri="-", teachers=[keyless], samples_per_task=3, max_calls_per_task=1), {})
        assert samples == [] and cost["failures"] == 1
    finally:
        endpoint.close()
