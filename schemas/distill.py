"""Typed configuration of distillation: tasks, teachers, sampling budgets, verification."""

from __future__ import annotations

from typing import Literal, Optional

from pydantic import BaseModel, Field, model_validator

from schemas.sandbox import SandboxLimits


class IoTest(BaseModel):
    stdin: str = ""
    stdout: str


class Task(BaseModel):
    """A code task (tests to pass) or a math task (a checkable final answer)."""

    task_id: str
    kind: Literal["code", "math"]
    prompt: str
    language: str = Field("python", description="code tasks: python, cpp, java or javascript")
    input_files: dict[str, str] = Field(default_factory=dict, description="files placed next to the candidate")
    tests: list[str] = Field(default_factory=list, description="python: assert statements over the candidate's functions, judged outside its process (serving.harness)")
    io_tests: list[IoTest] = Field(default_factory=list, description="any language: stdin → expected stdout")
    answer: Optional[str] = Field(None, description="math: the reference final answer (a number or an expression)")

    @model_validator(mode="after")
    def _checkable(self) -> "Task":
        if self.kind == "code" and not (self.tests or self.io_tests):
            raise ValueError(f"task {self.task_id}: a code task needs tests or io_tests")
        if self.kind == "code" and self.tests and self.language != "python":
            raise ValueError(f"task {self.task_id}: assert tests run only with language python; use io_tests for {self.language}")
        if self.kind == "math" and not self.answer:
            raise ValueError(f"task {self.task_id}: a math task needs a reference answer")
        return self


class EndpointTeacher(BaseModel):
    """An OpenAI-compatible chat endpoint. The key is read from ``api_key_env`` at call time and
    never stored, logged or written to a table."""

    kind: Literal["endpoint"] = "endpoint"
    name: str
    base_url: str = Field(description="e.g. http://127.0.0.1:8000/v1")
    model: str
    api_key_env: Optional[str] = None
    temperature: float = 0.8
    max_tokens: int = 1024
    system_prompt: bool = Field(True, description="send the scratchpad/answer-format instruction as a system message")
    timeout_s: float = 60.0
    retries: int = Field(2, ge=0)


class FileTeacher(BaseModel):
    """Candidate answers read from JSONL (``{"task_id", "answer"}`` per line): the offline default."""

    kind: Literal["file"] = "file"
    name: str
    path: str


class DistillConfig(BaseModel):
    tasks_uri: str = Field(description="JSONL of tasks (schemas.distill.Task)")
    teachers: list[EndpointTeacher | FileTeacher]
    samples_per_task: int = Field(4, ge=3, le=5)
    max_calls_per_task: int = Field(8, ge=1, description="teacher calls per task, retries included")
    max_tokens_per_task: int = Field(8192, ge=1, description="completion tokens per task, over all its samples")
    min_agreement: float = Field(0.5, gt=0, le=1, description="share of samples that must agree for a sample to be kept")
    eval_overlap_ngrams: int = Field(1, ge=1, description="tasks sharing this many eval n-grams are dropped")
    limits: SandboxLimits = Field(default_factory=SandboxLimits)

    @model_validator(mode="after")
    def _teachers(self) -> "DistillConfig":
        if not self.teachers:
            raise ValueError("distill.teachers is empty: add an endpoint teacher (OpenAI-compatible) or a file teacher")
        return self
