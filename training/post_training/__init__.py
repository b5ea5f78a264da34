"""Post-training data: the distilled samples as pretraining text, SFT examples and DPO pairs."""
