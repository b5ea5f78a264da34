"""A few items per benchmark, written in each benchmark's published schema, for the demo (the
real files are not shipped by any package; production points ``evals.benchmark_files`` at them)."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

MBPP = [
    {"task_id": 9001, "text": "Write a function to return the larger of two numbers.", "code": "def larger(a, b):\n    return a if a > b else b",
     "test_list": ["assert larger(1, 2) == 2", "assert larger(5, 3) == 5", "assert larger(-1, -4) == -1"], "test_setup_code": "",
     "challenge_test_list": []},
    {"task_id": 9002, "text": "Write a function to double every item of a list.", "code": "def double(xs):\n    return [2 * x for x in xs]",
     "test_list": ["assert double([1, 2]) == [2, 4]", "assert double([]) == []", "assert double([0]) == [0]"], "test_setup_code": "",
     "challenge_test_list": []},
]
GSM8K = [
    {"question": "Tom has 3 boxes with 4 pens each. How many pens does he have?", "answer": "3*4=<<3*4=12>>12 pens.\n#### 12"},
    {"question": "A book costs 9 dollars. How much do 2 books cost?", "answer": "2*9=<<2*9=18>>18 dollars.\n#### 18"},
]
MMLU = [
    {"question": "What is 2 + 3?", "subject": "elementary_mathematics", "choices": ["4", "5", "6", "7"], "answer": 1},
    {"question": "Which keyword defines a function in Python?", "subject": "college_computer_science", "choices": ["def", "fun", "lambda", "func"],
     "answer": 0},
]
ARC = [
    {"id": "Demo_1", "question": "Which state of matter has a fixed shape?", "choices": {"text": ["solid", "liquid", "gas"], "label": ["A", "B", "C"]},
     "answerKey": "A"},
    {"id": "Demo_2", "question": "What does a thermometer measure?", "choices": {"text": ["mass", "temperature", "length", "time"],
                                                                                   "label": ["A", "B", "C", "D"]}, "answerKey": "B"},
]
HELLASWAG = [
    {"ind": 1, "activity_label": "Making tea", "ctx_a": "A man pours hot water into a cup.", "ctx_b": "he", "ctx": "A man pours hot water into a cup. he",
     "endings": ["drops a tea bag into the cup.", "throws the cup at a wall.", "jumps into a pool.", "sings to a tree."], "source_id": "demo~1",
     "split": "val", "split_type": "indomain", "label": "0"},
]


def write_demo_benchmarks(folder: Path) -> dict[str, str]:
    """schema name → file, for ``EvalSettings.benchmark_files``."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {}
    for name, rows in (("mbpp", MBPP), ("gsm8k", GSM8K), ("arc", ARC), ("hellaswag", HELLASWAG)):
        path = folder / f"{name}.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
        files[name] = str(path)
    path = folder / "mmlu.parquet"
    pq.write_table(pa.table({"question": [r["question"] for r in MMLU], "subject": [r["subject"] for r in MMLU],
                             "choices": pa.array([r["choices"] for r in MMLU], pa.list_(pa.string())),
                             "answer": pa.array([r["answer"] for r in MMLU], pa.int64())}), path)
    files["mmlu"] = str(path)
    return files
