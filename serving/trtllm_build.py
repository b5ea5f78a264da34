"""GPU-node entrypoint (inside a TensorRT-LLM container): quantize the export to FP8 with
ModelOpt when the spec asks for it, load it through ``tensorrt_llm.LLM`` with the spec's
options, run one smoke generation and write ``build_report.json``. Never runs on CPU machines."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import yaml


def main(options_path: str) -> None:
    out = Path(options_path).parent
    build = yaml.safe_load((out / "build.yaml").read_text())
    options = yaml.safe_load(Path(options_path).read_text())
    if build.get("quantization"):
        import modelopt.torch.quantization as mtq
        from modelopt.torch.export import export_hf_checkpoint
        from transformers import AutoModelForCausalLM

        model = AutoModelForCausalLM.from_pretrained(build["source_export"], torch_dtype="auto").cuda()
        mtq.quantize(model, mtq.FP8_DEFAULT_CFG, forward_loop=None)
        export_hf_checkpoint(model, export_dir=build["model"])
    from tensorrt_llm import LLM, SamplingParams

    started = time.time()
    llm = LLM(model=build["model"], **options)
    text = llm.generate(["def add(a, b):"], SamplingParams(max_tokens=8))[0].outputs[0].text
    (out / "build_report.json").write_text(json.dumps({"status": "SUCCEEDED", "seconds": time.time() - started, "smoke": text}))


if __name__ == "__main__":
    main(sys.argv[1])
