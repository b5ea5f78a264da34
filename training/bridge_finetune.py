"""Cluster entrypoint: the SFT YAML (``training.post_training.recipes.sft_config``) → Megatron-Bridge ``finetune``.

Runs inside a NeMo / Megatron-Bridge container on GPU nodes, like ``training.bridge_pretrain``.
"""

from __future__ import annotations

import sys


def main(yaml_path: str) -> None:
    from megatron.bridge.training.config import ConfigContainer
    from megatron.bridge.training.finetune import finetune
    from megatron.bridge.training.gpt_step import forward_step

    finetune(ConfigContainer.from_yaml(yaml_path), forward_step)


if __name__ == "__main__":
    main(sys.argv[1])
