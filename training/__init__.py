"""irm-2B model config, tokenizer training, recipes and NeMo-Run launch (issues 5 and 7)."""
