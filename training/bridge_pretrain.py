"""Cluster entrypoint: one curriculum stage's Megatron-Bridge YAML → ``pretrain``.

Runs inside a NeMo / Megatron-Bridge container on GPU nodes (``torchrun`` via NeMo-Run's
SlurmExecutor); Megatron-Bridge imports transformer-engine, so this never runs on a CPU machine.
"""

from __future__ import annotations

import sys


def main(yaml_path: str) -> None:
    from megatron.bridge.training.config import ConfigContainer
    from megatron.bridge.training.gpt_step import forward_step
    from megatron.bridge.training.pretrain import pretrain

    pretrain(ConfigContainer.from_yaml(yaml_path), forward_step)


if __name__ == "__main__":
    main(sys.argv[1])
