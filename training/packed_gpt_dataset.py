"""megatron-core's GPTDataset with THD boundaries: each sample (one packed sequence, see
``training.packed_samples``) also carries ``cu_seqlens``, so Megatron-Bridge's ``gpt_step``
passes ``PackedSeqParams(qkv_format="thd")`` and attention is block-diagonal per document
without a dense ``seq_len²`` mask. ``cu_seqlens`` is padded with -1 to a fixed width so the
default collate can stack it; ``cu_seqlens_argmin`` marks where the padding starts.
"""

from __future__ import annotations

import numpy as np
import torch
from megatron.core.datasets.gpt_dataset import GPTDataset

from training.packed_samples import cu_seqlens


class DocumentPackedGPTDataset(GPTDataset):
    def __getitem__(self, idx):
        sample = super().__getitem__(idx)
        text, _ = self._query_document_sample_shuffle_indices(0 if idx is None else idx)
        width = self.config.sequence_length + 1
        bounds = cu_seqlens(np.asarray(text), self.config.tokenizer.eod, width)
        argmin = int(np.argmin(bounds)) if (bounds < 0).any() else width
        sample["cu_seqlens"] = torch.from_numpy(bounds)
        sample["cu_seqlens_argmin"] = torch.tensor([argmin])
        sample["max_seqlen"] = torch.tensor([int(np.diff(bounds[:argmin]).max())], dtype=torch.int32)
        return sample


def packed_pretrain_datasets_provider(train_val_test_num_samples, dataset_config):
    """Megatron-Bridge's pretraining provider, building ``DocumentPackedGPTDataset``s."""
    from megatron.core.datasets.blended_megatron_dataset_builder import BlendedMegatronDatasetBuilder

    return BlendedMegatronDatasetBuilder(DocumentPackedGPTDataset, train_val_test_num_samples, lambda: True, dataset_config).build()
