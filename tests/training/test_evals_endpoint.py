"""The local endpoint's echo log-probabilities, read by the harness's client, equal the model's
own log p(continuation | context); a prompt beyond the model's positions is refused, not cut."""

from __future__ import annotations

import pytest
import torch

from serving.endpoint import serve
from serving.generation import load
from tests.assets.test_checkpoint_evals import tiny_checkpoint
from training.evals.client import CompletionClient, Refused


def test_loglikelihood_over_http_is_the_models_own(tmp_path):
    tiny_checkpoint(tmp_path)
    folder = tmp_path / "ckpts" / "run-tiny" / "checkpoints" / "step-000001"
    model = load(str(folder))
    context, continuation = "def f1(x):\n    return x * 1 +", " the access code"
    ids, prefix = model.encode(context + continuation), model.encode(context)
    assert ids[:len(prefix)] == prefix  # the continuation's tokens are exactly the tail
    with torch.no_grad():
        logp = torch.log_softmax(model.model(input_ids=torch.tensor([ids])).logits[0].float(), -1)
    expected = sum(float(logp[i - 1, ids[i]]) for i in range(len(prefix), len(ids)))

    endpoint = serve(str(folder))
    try:
        client = CompletionClient(endpoint.base_url)
        assert client.loglikelihood(context, continuation) == pytest.approx(expected, abs=1e-4)
        with pytest.raises(Refused, match="exceeds the model's 256 positions"):
            client.loglikelihood("word " * 400, " more")
        a = client.complete("def f1(x):", 6, 0.9, seed=5).text
        assert a == client.complete("def f1(x):", 6, 0.9, seed=5).text  # a seeded sample is the same sample
    finally:
        endpoint.close()
