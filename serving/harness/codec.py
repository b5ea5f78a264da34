"""Plain data across the pipe between the candidate and the judge: exact types only.

``type(v) is int`` (never ``isinstance``) so a subclass with a forged ``__eq__``/``__bool__``,
a proxy or any object is refused at encoding, and decoding rebuilds fresh builtin values, so
nothing the candidate defined exists on the judge's side.
"""

import json

MAX_DEPTH = 64
MAX_LINE = 4 * 1024 * 1024


def encode(v, depth=0):
    if depth > MAX_DEPTH:
        raise ValueError("value nested too deeply")
    t, d = type(v), depth + 1
    if v is None:
        return None
    if t is bool:
        return {"b": v}
    if t is int:
        return {"i": str(v)}
    if t is float:
        return {"f": repr(v)}
    if t is complex:
        return {"c": [repr(v.real), repr(v.imag)]}
    if t is str:
        return v
    if t is bytes:
        return {"y": v.hex()}
    if t is list:
        return [encode(x, d) for x in v]
    if t is tuple:
        return {"t": [encode(x, d) for x in v]}
    if t is set or t is frozenset:
        items = sorted((encode(x, d) for x in v), key=lambda e: json.dumps(e, sort_keys=True))
        return {"set" if t is set else "fz": items}
    if t is dict:
        return {"d": [[encode(k, d), encode(x, d)] for k, x in v.items()]}
    raise TypeError(f"a {t.__name__} is not plain data (int, float, complex, str, bytes, bool, None, list, tuple, set, dict)")


def decode(e, depth=0):
    if depth > MAX_DEPTH:
        raise ValueError("value nested too deeply")
    d = depth + 1
    if e is None or type(e) is str:
        return e
    if type(e) is list:
        return [decode(x, d) for x in e]
    if type(e) is not dict or len(e) != 1:
        raise ValueError(f"not an encoded value: {str(e)[:80]}")
    (tag, x), = e.items()
    if tag == "b" and type(x) is bool:
        return x
    if tag == "i" and type(x) is str:
        return int(x)
    if tag == "f" and type(x) is str:
        return float(x)
    if tag == "c" and type(x) is list and len(x) == 2:
        return complex(float(x[0]), float(x[1]))
    if tag == "y" and type(x) is str:
        return bytes.fromhex(x)
    if tag == "t" and type(x) is list:
        return tuple(decode(i, d) for i in x)
    if tag in ("set", "fz") and type(x) is list:
        return (set if tag == "set" else frozenset)(decode(i, d) for i in x)
    if tag == "d" and type(x) is list:
        return {decode(k, d): decode(v, d) for k, v in x}
    raise ValueError(f"not an encoded value: {str(e)[:80]}")
