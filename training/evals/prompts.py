"""How each benchmark schema becomes a prompt, a program to execute, and a public check.

Code: HumanEval continues the function from its prompt; MBPP shows the task and its first test
(the public one) and asks for the code between ``[BEGIN]`` and ``[DONE]``. The exec-guided
serving policy may run only what a user would give it: HumanEval's docstring examples
(doctest) and MBPP's first test; the item is scored on all of its tests.
"""

from __future__ import annotations

import doctest

from training.evals.benchmarks import Item

HUMANEVAL_STOP = ["\ndef ", "\nclass ", "\nif __name__", "\nprint("]
MBPP_STOP = ["[DONE]"]


def code_prompt(item: Item, schema: str) -> tuple[str, list[str]]:
    if schema == "humaneval":
        return item.question, HUMANEVAL_STOP
    shown = item.tests[0] if item.tests else ""
    return (f"You are an expert Python programmer, and here is your task: {item.question} "
            f"Your code should pass this test:\n\n{shown}\n[BEGIN]\n"), MBPP_STOP


def _strip_fence(text: str) -> str:
    if "```" in text:
        parts = text.split("```")
        if len(parts) >= 3:
            body = parts[1]
            return body.split("\n", 1)[1] if body.split("\n", 1)[0].strip().isalpha() else body
    return text


def program(item: Item, schema: str, completion: str) -> str:
    """The full program that passes iff the completion is correct (hidden tests included)."""
    if schema == "humaneval":
        return f"{item.question}{completion}\n\n{item.tests[0] if item.tests else ''}\n\ncheck({item.entry_point})\n"
    return f"{item.setup}\n{_strip_fence(completion)}\n\n" + "\n".join(item.tests) + "\n"


def public_check(item: Item, schema: str, completion: str) -> str | None:
    """The program the exec-guided policy may run (None: nothing public to run)."""
    if schema == "humaneval":
        if not doctest.DocTestParser().get_examples(item.question):
            return None
        return f"{item.question}{completion}\n\nimport doctest, sys\nsys.exit(1 if doctest.testmod().failed else 0)\n"
    if not item.tests:
        return None
    return f"{item.setup}\n{_strip_fence(completion)}\n\n{item.tests[0]}\n"


def math_prompt(item: Item) -> str:
    return f"Question: {item.question}\nAnswer: Let's think step by step, and end with '#### <number>'.\n"


def choice_context(item: Item, schema: str) -> str:
    if schema == "mmlu":
        topic = item.subject.replace("_", " ")
        return f"The following is a question about {topic}.\n\n{item.question}\nAnswer:" if topic else f"{item.question}\nAnswer:"
    if schema == "hellaswag":
        ctx_b = item.question[:1].upper() + item.question[1:]
        return f"{item.subject}: {item.context} {ctx_b}".strip()
    return f"Question: {item.question}\nAnswer:"
