"""Runs in the candidate's sandbox: import the candidate as the module ``solution``, then answer
the judge's requests, one JSON line each: evaluate an expression over the candidate's names
(with the judge's bindings) and send back its value as plain data, or the exception's name.

Nothing here is trusted: the candidate shares this process and may replace any of it. The
judge only ever receives plain data from this side, so taking over this program gains nothing.
"""

import importlib
import json
import os
import sys
import types


def _error(err):
    return {"error": type(err).__name__, "message": str(err)[:300]}


def main():
    requests, replies = os.fdopen(int(sys.argv[1]), "r"), os.fdopen(int(sys.argv[2]), "w")

    def send(message):
        replies.write(json.dumps(message) + "\n")
        replies.flush()

    module = types.ModuleType("solution")
    module.__file__ = "/work/solution.py"
    sys.modules["solution"] = module
    try:
        with open("/work/solution.py") as f:
            code = compile(f.read(), "solution.py", "exec")
        exec(code, module.__dict__)
        send({"ready": True})
    except BaseException as err:
        send(_error(err))
        os._exit(0)
    for line in requests:
        try:
            request = json.loads(line)
            scope = dict(module.__dict__)
            scope.update({k: decode(v) for k, v in request["bindings"].items()})
            for name in request.get("modules", []):
                scope.setdefault(name, importlib.import_module(name))
            reply = {"value": encode(eval(request["expr"], scope))}
        except BaseException as err:
            reply = _error(err)
        send(reply)
    os._exit(0)


main()
