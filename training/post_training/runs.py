"""Post-training runs as lake operations: distilled tables → dataset (registered in
``post_training_datasets``) → cluster config → NeMo-Run launch → ``training_runs`` row.

The local executor runs ``training.local_finetune`` on CPU from the base checkpoint; ``slurm``
runs Megatron-Bridge's finetune (SFT) or NeMo-RL's DPO. Run ids start with the objective and
the executor, so a cluster dry run never shares rows or folders with a local run.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import sentencepiece as spm
from pyspark.sql import functions as F

from ledgers.lake import Lake
from schemas.launch import FinetuneConfig, PostTrainingPlan, TrainingPlan
from schemas.settings import IrmSettings
from schemas.tables import PostTrainingDataset, TrainingRun
from training.launch import launch, module_script
from training.post_training.formats import answer_text, prompt_text
from training.post_training.recipes import dpo_config, sft_config, write_yaml
from training.post_training.sft_data import (dataset_id, held_out, pack_examples, pack_metadata, rationale_lengths, save_records,
                                             sft_example)
from training.runs import RunReport, TrainingError, _hash, checkpoints_root, code_version, fresh_run_id
from training.whitespace import encode


@dataclass
class PostTrainingData:
    record: PostTrainingDataset
    files: dict[str, str]
    stats: dict = field(default_factory=dict)


def base_checkpoint(lake: Lake, checkpoint_id: str) -> dict:
    row = lake.read("checkpoints").where(F.col("checkpoint_id") == checkpoint_id).first()
    if row is None:
        raise TrainingError(f"base checkpoint {checkpoint_id!r} is not registered in checkpoints: run checkpoint_job for it first")
    return row.asDict()


def _kept_teachers(lake: Lake, task_ids: list[str]) -> list[str]:
    if not lake.exists("distill_candidates"):
        return []
    rows = (lake.read("distill_candidates").where((F.col("decision") == "kept") & F.col("task_id").isin(task_ids))
            .select("teacher").distinct().collect())
    return sorted(r["teacher"] for r in rows)


def _register(lake: Lake, data: PostTrainingData, run_id: str | None) -> None:
    lake.merge(lake.frame("post_training_datasets", [data.record]), "post_training_datasets", keys=["dataset_id"], update=False, run_id=run_id)


def _versions(lake: Lake, tables: tuple[str, ...]) -> dict[str, int]:
    return {t: v for t in tables if (v := lake.version(t)) is not None}


def build_sft_dataset(lake: Lake, base: dict, plan: PostTrainingPlan, run_id: str | None = None) -> PostTrainingData:
    """Verified distilled samples → packed SFT examples, tokenized with the base checkpoint's tokenizer."""
    versions = _versions(lake, ("distilled_sft", "distill_candidates"))
    if "distilled_sft" not in versions:
        raise TrainingError("distilled_sft does not exist: materialize distilled_sft first")
    rows = [r.asDict() for r in lake.read("distilled_sft", version=versions["distilled_sft"]).where(F.col("passed"))
            .orderBy("task_id", "rationale").collect()]
    if not rows:
        raise TrainingError(f"distilled_sft (version {versions['distilled_sft']}) holds no verified sample")
    sp = spm.SentencePieceProcessor(model_file=f"{base['uri']}/tokenizer.model")
    examples = [sft_example(r, sp) for r in rows]
    too_long = [e.task_id for e in examples if len(e.input_ids) > plan.pack_size]
    if too_long:
        raise TrainingError(f"{len(too_long)} SFT examples exceed post_training.pack_size={plan.pack_size} (e.g. task {too_long[0]}): "
                            "raise pack_size")
    val = [e for e in examples if held_out(e.task_id, plan.val_share, plan.seed)]
    train = [e for e in examples if not held_out(e.task_id, plan.val_share, plan.seed)] or val
    records = {"train": pack_examples(train, plan.pack_size), "val": pack_examples(val or train, plan.pack_size)}
    did = dataset_id({**records, "base": base["checkpoint_id"]})
    folder = Path(lake.settings.uri) / "artifacts" / "post_training" / did
    files = {"train": str(folder / "train.npy"), "val": str(folder / "val.npy"), "metadata": str(folder / "metadata.json")}
    hashes = [save_records(Path(files[k]), records[k]) for k in ("train", "val")]
    metadata = [pack_metadata(train, records["train"], plan.pack_size)]
    Path(files["metadata"]).write_text(json.dumps(metadata, indent=1))
    hashes.append(hashlib.sha256(Path(files["metadata"]).read_bytes()).hexdigest())
    tasks = sorted({r["task_id"] for r in rows})
    record = PostTrainingDataset(dataset_id=did, kind="sft", base_checkpoint_id=base["checkpoint_id"], uris=list(files.values()),
                                 sha256=hashes, examples=len(examples), held_out=len(val), task_ids=tasks,
                                 teachers=_kept_teachers(lake, tasks), input_versions=versions, created_at=dt.datetime.now(dt.timezone.utc))
    data = PostTrainingData(record, files, {"rationale_tokens": rationale_lengths(rows, sp), "packing": metadata[0],
                                            "answer_tokens": sum(sum(e.answer_mask) for e in examples)})
    _register(lake, data, run_id)
    return data


def build_dpo_dataset(lake: Lake, base: dict, plan: PostTrainingPlan, run_id: str | None = None) -> PostTrainingData:
    """dpo_pairs → tokenized (prompt, chosen, rejected) JSONL, with a held-out set by task."""
    versions = _versions(lake, ("dpo_pairs", "distill_candidates"))
    if "dpo_pairs" not in versions:
        raise TrainingError("dpo_pairs does not exist: materialize distilled_sft (it writes dpo_pairs) first")
    pairs = [r.asDict() for r in lake.read("dpo_pairs", version=versions["dpo_pairs"])
             .orderBy("task_id", "chosen", "rejected", "rejected_teacher").collect()]
    if not pairs:
        raise TrainingError(f"dpo_pairs (version {versions['dpo_pairs']}) is empty: no task had both a verified and a failing sample")
    sp = spm.SentencePieceProcessor(model_file=f"{base['uri']}/tokenizer.model")
    eod = sp.eos_id()

    def tokenized(p: dict) -> dict:
        return {"task_id": p["task_id"], "prompt": sp.encode(encode(prompt_text(p["prompt"]))),
                "chosen": sp.encode(encode(answer_text([p["chosen"]]))) + [eod], "rejected": sp.encode(encode(answer_text([p["rejected"]]))) + [eod]}

    split = {"train": [tokenized(p) for p in pairs if not held_out(p["task_id"], plan.val_share, plan.seed)],
             "val": [tokenized(p) for p in pairs if held_out(p["task_id"], plan.val_share, plan.seed)]}
    if not split["val"] or not split["train"]:
        raise TrainingError(f"{len(pairs)} DPO pairs over {len({p['task_id'] for p in pairs})} tasks leave no "
                            f"{'held-out' if not split['val'] else 'training'} pair at post_training.val_share={plan.val_share}")
    did = "dpo-" + hashlib.sha256(json.dumps({**split, "base": base["checkpoint_id"]}, sort_keys=True).encode()).hexdigest()[:16]
    folder = Path(lake.settings.uri) / "artifacts" / "post_training" / did
    folder.mkdir(parents=True, exist_ok=True)
    files, hashes = {}, []
    for name, items in split.items():
        files[name] = str(folder / f"{name}.jsonl")
        Path(files[name]).write_text("".join(json.dumps(i) + "\n" for i in items))
        hashes.append(hashlib.sha256(Path(files[name]).read_bytes()).hexdigest())
        text = str(folder / f"{name}.text.jsonl")  # NeMo-RL's BinaryPreferenceDataset reads text
        Path(text).write_text("".join(json.dumps({"prompt": p["prompt"], "chosen": p["chosen"], "rejected": p["rejected"]}) + "\n"
                                      for p in pairs if held_out(p["task_id"], plan.val_share, plan.seed) == (name == "val")))
        files[f"{name}_text"] = text
    tasks = sorted({p["task_id"] for p in pairs})
    record = PostTrainingDataset(dataset_id=did, kind="dpo", base_checkpoint_id=base["checkpoint_id"], uris=list(files.values()),
                                 sha256=hashes, examples=len(split["train"]), held_out=len(split["val"]), task_ids=tasks,
                                 teachers=sorted({p["chosen_teacher"] for p in pairs} | {p["rejected_teacher"] for p in pairs}),
                                 input_versions=versions, created_at=dt.datetime.now(dt.timezone.utc))
    data = PostTrainingData(record, files, {"pairs": len(pairs)})
    _register(lake, data, run_id)
    return data


def run_post_training(lake: Lake, settings: IrmSettings, objective: str, base_checkpoint_id: str, plan: PostTrainingPlan,
                      dagster_run_id: str | None = None, dryrun: bool = False) -> tuple[RunReport, PostTrainingData]:
    base = base_checkpoint(lake, base_checkpoint_id)
    data = (build_sft_dataset if objective == "sft" else build_dpo_dataset)(lake, base, plan, dagster_run_id)
    executor = settings.training.executor
    version = code_version()
    config_hash = _hash({"objective": objective, "plan": plan.model_dump(), "dataset": data.record.dataset_id})
    run_id = fresh_run_id(lake, settings, f"{objective}-{executor}-{_hash([data.record.dataset_id, config_hash, version, executor])}")
    run_dir = f"{checkpoints_root(settings)}/{run_id}"
    base_run = lake.read("training_runs").where(F.col("run_id") == base["run_id"]).first()
    base_megatron = f"{base_run['run_dir']}/megatron/checkpoints" if base_run else base["uri"]
    cluster = TrainingPlan()
    if objective == "sft":
        config = sft_config(cluster, cluster.stages[0], data.files, plan.pack_size, f"{base['uri']}/tokenizer.model", base_megatron,
                            f"{run_dir}/megatron", plan.cluster_steps, plan.cluster_lr, plan.cluster_global_batch_size)
        header = f"# Megatron-Bridge SFT config (finetune) from {base_checkpoint_id} on {data.record.dataset_id} (generated by irm)\n"
        recipe = write_yaml(Path(run_dir) / "recipe" / "sft.yaml", config, header)
        cluster_task = module_script("training.bridge_finetune", [str(recipe)])
    else:
        config = dpo_config(base["uri"], base["uri"], {"train": data.files["train_text"], "val": data.files["val_text"]}, plan.beta,
                            plan.cluster_steps, plan.cluster_lr, plan.cluster_global_batch_size, plan.pack_size, f"{run_dir}/nemo_rl",
                            settings.training.slurm.nodes, settings.training.slurm.gpus_per_node, plan.seed)
        header = f"# NeMo-RL DPO config from {base_checkpoint_id} on {data.record.dataset_id}; beta = reference_policy_kl_penalty\n"
        recipe = write_yaml(Path(run_dir) / "recipe" / "dpo.yaml", config, header)
        import nemo_run as run

        cluster_task = run.Script(path=plan.nemo_rl_dpo_script, args=["--config", str(recipe)], entrypoint="python")
    local_cfg = FinetuneConfig(run_id=run_id, objective=objective, dataset_id=data.record.dataset_id, base_checkpoint=base["uri"],
                               base_checkpoint_id=base_checkpoint_id, train_data=data.files["train"],
                               tokenizer_uri=f"{base['uri']}/tokenizer.model",
                               eod=spm.SentencePieceProcessor(model_file=f"{base['uri']}/tokenizer.model").eos_id(), out_dir=run_dir,
                               steps=plan.steps, batch_size=plan.batch_size, save_every=plan.save_every, lr=plan.lr, beta=plan.beta,
                               seed=plan.seed)
    config_path = Path(run_dir) / "local_finetune.json"
    config_path.write_text(local_cfg.model_dump_json(indent=1))

    def row(status: str, metrics: dict[str, float], experiment_id: str | None = None) -> TrainingRun:
        return TrainingRun(run_id=run_id, manifest_id=data.record.dataset_id, config_hash=config_hash, code_version=version,
                           executor=executor, experiment_id=experiment_id, status=status, run_dir=run_dir, recipe_uris=[str(recipe)],
                           metrics=metrics, dagster_run_id=dagster_run_id, updated_at=dt.datetime.now(dt.timezone.utc))

    lake.merge(lake.frame("training_runs", [row("RUNNING", {})]), "training_runs", keys=["run_id"], run_id=dagster_run_id)
    import nemo_run as run

    task = (run.Script(path="training.local_finetune", args=[str(config_path)], entrypoint=__import__("sys").executable, m=True)
            if executor == "local" else cluster_task)
    result = launch(settings, f"irm-{run_id}", [(f"{objective}-train", task)], dryrun=dryrun)
    metrics_path = Path(run_dir) / "metrics.json"
    metrics = {k: float(v) for k, v in json.loads(metrics_path.read_text()).items()} if metrics_path.exists() else {}
    status = "DRYRUN" if dryrun else ("SUBMITTED" if executor != "local" else ("SUCCEEDED" if result.succeeded and metrics else "FAILED"))
    final = row(status, metrics, result.experiment_id)
    write = lake.merge(lake.frame("training_runs", [final]), "training_runs", keys=["run_id"], run_id=dagster_run_id)
    curve_path = Path(run_dir) / "loss.jsonl"
    curve = [json.loads(line) for line in curve_path.read_text().splitlines()] if curve_path.exists() else []
    return RunReport(final, result, write, curve), data
