import pytest

from schemas.model import IRM_2B, SEED_SHAPE, ModelConfig


def test_the_seed_shape_is_five_billion_parameters_not_two():
    d, kv, ffn, vocab = 3072, 6 * 128, 12_288, 150_016  # 150,000 padded to a multiple of 128
    per_layer = (2 * d * d + 2 * d * kv) + 3 * d * ffn + 2 * d
    expected = 30 * per_layer + d + 2 * vocab * d
    assert SEED_SHAPE.parameters()["total"] == expected == 5_027_060_736
    assert SEED_SHAPE.summary()["parameters_B"] == 5.027


def test_the_irm_2b_variant_is_two_billion_with_the_same_family():
    p = IRM_2B.parameters()
    assert 1.9e9 <= p["total"] <= 2.1e9
    assert IRM_2B.num_attention_heads // IRM_2B.num_query_groups == 3 and IRM_2B.head_dim == 128


def test_training_flops_are_six_per_weight_plus_attention():
    m = ModelConfig(num_layers=2, hidden_size=64, ffn_hidden_size=128, num_attention_heads=4, num_query_groups=2, vocab_size=1000)
    weights = 2 * (64 * 64 * 2 + 2 * 64 * 32 + 3 * 64 * 128) + 1024 * 64
    attention = 2 * 2 * 2 * 64 * (100 / 2)
    assert m.training_flops(1e6, 100) == pytest.approx(3 * (2 * weights + attention) * 1e6)


@pytest.mark.parametrize("shape, message", [
    ({"hidden_size": 3100, "num_attention_heads": 24}, "num_attention_heads=24 does not divide hidden_size=3100"),
    ({"num_attention_heads": 24, "num_query_groups": 5, "hidden_size": 3072}, "num_query_groups=5 does not divide num_attention_heads=24"),
    ({"hidden_size": 2376, "num_attention_heads": 24, "num_query_groups": 6}, "head dimension 99 is odd"),
])
def test_impossible_shapes_are_rejected_with_the_reason(shape, message):
    with pytest.raises(ValueError, match=message):
        ModelConfig(**shape)
