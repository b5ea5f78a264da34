"""Runs in the judge's sandbox, which holds the tests and never any candidate code: execute each
test separately with every candidate sub-expression replaced by a request to the candidate's
process, and print one verdict per test. Only this program's output decides a verdict.
"""

import json
import math
import os
import sys

LIMIT = 4 * 1024 * 1024


class CandidateError(Exception):
    def __init__(self, name, message):
        super().__init__(f"{name}: {message}")
        self.name = name


class CandidateGone(Exception):
    pass


def main():
    plan = json.load(open("/work/plan.json"))
    requests, replies = os.fdopen(int(sys.argv[1]), "w"), os.fdopen(int(sys.argv[2]), "r")

    def receive():
        line = replies.readline(LIMIT)
        if not line.endswith("\n"):
            raise CandidateGone("the candidate's process ended or sent an oversized reply")
        message = json.loads(line)
        if type(message) is not dict:
            raise CandidateGone("the candidate sent something that is not a reply")
        return message

    def probe(k, bindings):
        try:
            requests.write(json.dumps({"expr": plan["probes"][k], "bindings": {n: encode(v) for n, v in bindings.items()},
                                       "modules": plan["modules"][k]}) + "\n")
            requests.flush()
        except (BrokenPipeError, OSError):
            raise CandidateGone("the candidate's process ended") from None
        message = receive()
        if "value" in message:
            return decode(message["value"])
        if "error" in message:
            raise CandidateError(str(message["error"])[:80], str(message.get("message", ""))[:300])
        raise CandidateGone("the candidate sent something that is not a reply")

    verdicts = []
    try:
        hello = receive()
        ready = hello.get("ready") is True
        failure = None if ready else {"error": str(hello.get("error"))[:80], "detail": str(hello.get("message", ""))[:300]}
    except (CandidateGone, ValueError) as err:
        ready, failure = False, {"error": "CandidateGone", "detail": str(err)}
    for test in plan["tests"]:
        if not ready:
            verdicts.append({"passed": False, **failure})
            continue
        scope = {"__probe__": probe, "math": math}
        try:
            exec(compile(test, "<test>", "exec"), scope)
            verdicts.append({"passed": True})
        except AssertionError:
            verdicts.append({"passed": False, "error": "AssertionError", "detail": "assertion failed"})
        except CandidateError as err:
            verdicts.append({"passed": False, "error": err.name, "detail": str(err)})
        except CandidateGone as err:
            verdicts.append({"passed": False, "error": "CandidateGone", "detail": str(err)})
            ready, failure = False, verdicts[-1]
        except Exception as err:
            verdicts.append({"passed": False, "error": "AssertionError", "detail": f"the test raised {type(err).__name__}: {err}"[:300]})
    print(json.dumps({"verdicts": verdicts}))


main()
