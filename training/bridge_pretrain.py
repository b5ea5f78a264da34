"""Cluster entrypoint: one curriculum stage's Megatron-Bridge YAML → ``pretrain``.

Runs inside a NeMo / Megatron-Bridge container on GPU nodes (``torchrun`` via NeMo-Run's
SlurmExecutor); Megatron-Bridge imports transformer-engine, so this never runs on a CPU machine.
The GPT dataset config is served by ``DocumentPackedGPTDataset`` (THD boundaries per packed
document) instead of the plain GPTDataset, through Megatron-Bridge's dataset-provider registry.
"""

from __future__ import annotations

import sys


def main(yaml_path: str) -> None:
    from megatron.bridge.data import utils as data_utils
    from megatron.bridge.training.config import ConfigContainer, GPTDatasetConfig
    from megatron.bridge.training.gpt_step import forward_step
    from megatron.bridge.training.pretrain import pretrain

    from training.packed_gpt_dataset import packed_pretrain_datasets_provider

    data_utils._REGISTRY[GPTDatasetConfig] = packed_pretrain_datasets_provider
    pretrain(ConfigContainer.from_yaml(yaml_path), forward_step)


if __name__ == "__main__":
    main(sys.argv[1])
