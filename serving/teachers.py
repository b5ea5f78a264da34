"""Teachers: OpenAI-compatible endpoints and JSONL files, sampled as an ensemble under budgets.

Samples go round-robin over the teachers until ``samples_per_task`` answers are in, or the
task's call or token budget is spent; a failed call is retried with backoff and counts against
the call budget. Nothing about a key reaches a log or a table: an endpoint's key is read from
its environment variable at call time.
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from schemas.distill import DistillConfig, EndpointTeacher, FileTeacher, Task

SYSTEM = ("Think inside <scratchpad>...</scratchpad>, then give only the final answer: for code, one fenced code block; "
          "for math, the final answer as \\boxed{...}.")


@dataclass(frozen=True)
class Sample:
    task_id: str
    teacher: str
    sample_no: int
    text: str
    tokens: int


class TeacherError(RuntimeError):
    pass


def _ask_endpoint(teacher: EndpointTeacher, task: Task) -> tuple[str, int]:
    messages = ([{"role": "system", "content": SYSTEM}] if teacher.system_prompt else []) + [{"role": "user", "content": task.prompt}]
    body = json.dumps({"model": teacher.model, "temperature": teacher.temperature, "max_tokens": teacher.max_tokens,
                       "messages": messages}).encode()
    headers = {"Content-Type": "application/json"}
    if teacher.api_key_env:
        key = os.environ.get(teacher.api_key_env)
        if not key:
            raise TeacherError(f"teacher {teacher.name}: environment variable {teacher.api_key_env} is not set")
        headers["Authorization"] = f"Bearer {key}"
    request = urllib.request.Request(teacher.base_url.rstrip("/") + "/chat/completions", data=body, headers=headers)
    with urllib.request.urlopen(request, timeout=teacher.timeout_s) as response:
        reply = json.loads(response.read())
    text = reply["choices"][0]["message"]["content"] or ""
    tokens = int((reply.get("usage") or {}).get("completion_tokens") or len(text.split()))
    return text, tokens


class FileAnswers:
    def __init__(self, teacher: FileTeacher):
        self.name = teacher.name
        self.answers: dict[str, list[str]] = {}
        path = Path(teacher.path)
        if not path.is_file():
            raise TeacherError(f"file teacher {teacher.name}: {path} is not a file")
        for line in path.read_text().splitlines():
            if line.strip():
                row = json.loads(line)
                self.answers.setdefault(row["task_id"], []).append(row["answer"])
        self.cursor: dict[str, int] = {}

    def next(self, task: Task) -> tuple[str, int] | None:
        k = self.cursor.get(task.task_id, 0)
        answers = self.answers.get(task.task_id, [])
        if k >= len(answers):
            return None
        self.cursor[task.task_id] = k + 1
        return answers[k], len(answers[k].split())


def sample_task(task: Task, cfg: DistillConfig, files: dict[str, FileAnswers]) -> tuple[list[Sample], dict[str, int]]:
    """The ensemble's samples for one task, and what they cost (calls, tokens, failures)."""
    samples: list[Sample] = []
    calls = tokens = failures = 0
    exhausted: set[str] = set()
    turn = 0
    while len(samples) < cfg.samples_per_task and tokens < cfg.max_tokens_per_task:
        live = [t for t in cfg.teachers if t.name not in exhausted]
        if not live:
            break
        teacher = live[turn % len(live)]
        turn += 1
        if isinstance(teacher, FileTeacher):
            got = files[teacher.name].next(task)
            if got is None:
                exhausted.add(teacher.name)
                continue
        else:
            got = None
            if calls >= cfg.max_calls_per_task:  # the call budget binds endpoints only; files cost nothing
                exhausted.add(teacher.name)
                continue
            for attempt in range(teacher.retries + 1):
                calls += 1
                try:
                    got = _ask_endpoint(teacher, task)
                    break
                except (urllib.error.URLError, TimeoutError, OSError, KeyError, json.JSONDecodeError):
                    failures += 1
                    if calls >= cfg.max_calls_per_task:
                        break
                    time.sleep(min(2.0, 0.2 * 2 ** attempt))
            if got is None:
                exhausted.add(teacher.name)
                continue
        text, used = got
        tokens += used
        samples.append(Sample(task.task_id, teacher.name, len(samples), text, used))
    return samples, {"calls": calls, "tokens": tokens, "failures": failures}
