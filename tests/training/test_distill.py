import pyarrow.parquet as pq
import pytest

from ledgers.evals import run_eval_hashes
from schemas.distill import DistillConfig, EndpointTeacher, FileTeacher, Task
from schemas.evals import EvalHashConfig
from schemas.tables import DistilledSft
from serving.answers import parse_answer
from serving.demo_tasks import write_demo_inputs
from serving.teachers import FileAnswers, sample_task
from training.post_training.distill import KeptVerification, reverify_kept, run_distill


@pytest.fixture
def demo_inputs(tmp_path):
    tasks, teachers = write_demo_inputs(tmp_path / "distill")
    return DistillConfig(tasks_uri=str(tasks), teachers=[FileTeacher(name=n, path=str(p)) for n, p in sorted(teachers.items())])


def test_only_verified_majority_samples_are_kept_and_everything_else_is_accounted_for(lake, demo_inputs):
    run_eval_hashes(lake, EvalHashConfig())
    report = run_distill(lake, demo_inputs)
    assert report.eval_overlap.keys() == {"leaked-humaneval"} and report.invalid == 1
    rejects = {r["reason"]: r["uri"] for r in lake.read("rejects").where("stage = 'distill'").collect()}
    assert set(rejects) == {"eval-overlap", "invalid-task"} and rejects["eval-overlap"].endswith("#leaked-humaneval")
    assert set(report.error_classes) == {"syntax", "runtime", "wrong-answer", "timeout", "memory"}
    assert report.candidates == sum(report.decisions.values()) == 40 

    checked = reverify_kept(lake, demo_inputs)
    assert checked.holds() and (checked.kept, checked.verified) == (report.kept, report.kept)

    candidates = lake.read("distill_candidates").collect()
    gauss = [c for c in candidates if c["task_id"] == "math-gauss"]
    assert [c["decision"] for c in gauss if c["passed"]] == ["minority"]  # the right answer, outvoted 3 to 1, is not kept
    assert {c["decision"] for c in candidates if c["task_id"] == "math-simplify" and c["passed"]} == {"kept"}  # x + 1 == 1 + x == (x+1)

    sft = lake.read("distilled_sft")
    assert sft.columns == ["task_id", "prompt", "input_files", "expected_tests", "candidate", "passed", "rationale", "tool_calls", "confidence"]
    rows = sft.collect()
    assert all(r["passed"] and 0.5 <= r["confidence"] <= 1 and r["rationale"] and "<scratchpad>" not in r["candidate"][0] for r in rows)
    assert {r["task_id"] for r in rows} == {"code-add", "code-fib", "code-lines", "code-prime", "code-cpp-sum", "code-js-upper",
                                             "math-product", "math-simplify", "math-fractions"}
    exported = pq.read_table(report.parquet_uri)
    assert exported.column_names == list(DistilledSft.model_fields) and exported.num_rows == len(rows)

    pairs = lake.read("dpo_pairs").collect()
    passed = {(c["task_id"], c["final"]) for c in candidates if c["passed"]}
    failed = {(c["task_id"], c["final"]) for c in candidates if not c["passed"]}
    assert pairs and all((p["task_id"], p["chosen"]) in passed and (p["task_id"], p["rejected"]) in failed for p in pairs)


def test_answers_split_rationale_tool_calls_and_final():
    text = ("<scratchpad>think</scratchpad><call_tool>{\"name\": \"python_exec\"}</call_tool>"
            "Here:\n```python\nprint(1)\n```\n<scratchpad>more</scratchpad>")
    parsed = parse_answer(text)
    assert parsed.rationale == "think\nmore" and parsed.tool_calls == ['{"name": "python_exec"}']
    assert parsed.code() == "print(1)\n" and "scratchpad" not in parsed.final
    assert parse_answer("so \\boxed{\\frac{5}{6}} it is").math_answer() == "\\frac{5}{6}"
    assert parse_answer("Answer: 42.").math_answer() == "42"


def test_budgets_bound_calls_to_a_dead_endpoint_and_the_file_teacher_fills_in(tmp_path):
    answers = tmp_path / "a.jsonl"
    answers.write_text("".join('{"task_id": "t", "answer": "x%d"}\n' % i for i in range(5)))
    dead = EndpointTeacher(name="dead", base_url="http://127.0.0.1:9/v1", model="m", timeout_s=0.5, retries=1)
    cfg = DistillConfig(tasks_uri="unused", teachers=[dead, FileTeacher(name="file", path=str(answers))], samples_per_task=3,
                        max_calls_per_task=2)
    task = Task(task_id="t", kind="math", prompt="?", answer="1")
    samples, cost = sample_task(task, cfg, {"file": FileAnswers(cfg.teachers[1])})
    assert [s.teacher for s in samples] == ["file"] * 3 and cost["calls"] == 2 and cost["failures"] == 2


def test_a_teacher_list_cannot_be_empty():
    with pytest.raises(ValueError, match="distill.teachers is empty"):
        DistillConfig(tasks_uri="t.jsonl", teachers=[])


def test_one_kept_sample_that_fails_again_fails_the_check_and_only_a_few_timeouts_are_forgiven():
    assert KeptVerification(100, 100, {}).holds()
    assert not KeptVerification(100, 99, {"add#7": "wrong-answer: 1 of 3 tests failed"}).holds()
    assert KeptVerification(100, 97, {f"add#{k}": "timeout: wall clock" for k in range(3)}).holds()
    assert not KeptVerification(100, 90, {f"add#{k}": "timeout: wall clock" for k in range(10)}).holds()
    assert not KeptVerification(0, 0, {}).holds()


def test_kept_samples_verified_fails_for_rows_that_do_not_pass_when_re_run(lake, tmp_path):
    tasks = tmp_path / "tasks.jsonl"
    add = Task(task_id="add", kind="code", prompt="add", tests=["assert add(2, 3) == 5"])
    product = Task(task_id="product", kind="math", prompt="12 * 13?", answer="156")
    tasks.write_text(add.model_dump_json() + "\n" + product.model_dump_json() + "\n")
    cfg = DistillConfig(tasks_uri=str(tasks), teachers=[FileTeacher(name="f", path=str(tasks))])

    def row(task_id, tests, candidate):
        return DistilledSft(task_id=task_id, prompt="p", input_files=[], expected_tests=tests, candidate=[candidate], passed=True,
                            rationale="r", tool_calls=[], confidence=1.0)

    honest = [row("add", add.tests, "def add(a, b):\n    return a + b\n"), row("product", ["156"], "156")]
    lake.write(lake.frame("distilled_sft", honest), "distilled_sft", mode="overwrite")
    assert reverify_kept(lake, cfg).holds()

    forged = honest + [row("add", add.tests, "import sys\nsys.exit(0)\n"), row("add", ["assert True"], "pass\n"),
                       row("product", ["156"], "157"), row("gone", [], "x")]
    lake.write(lake.frame("distilled_sft", forged), "distilled_sft", mode="overwrite")
    checked = reverify_kept(lake, cfg)
    assert not checked.holds() and (checked.kept, checked.verified) == (6, 2)
    assert sorted(checked.unverified.values())[0].startswith("expected_tests differ")

    lake.write(lake.frame("distilled_sft", []), "distilled_sft", mode="overwrite")
    assert not reverify_kept(lake, cfg).holds()  # nothing kept is not a pass
