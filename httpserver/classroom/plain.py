"""Plain data across a sandbox's wall: what a student's process reports, and nothing it could forge.

Contract: `encode(value)` describes a value as JSON-ready data, keeping bytes,
tuples, sets and dict keys apart, and built-in types only, by exact type (a
subclass of str with a generous __eq__ becomes an `Opaque`, equal to nothing);
`decode(data)` turns it back. `call(function, args)` calls a student's
function and describes what it returned or raised. Standard library only: the
probe uses it inside the sandbox, the grader outside.
"""

import base64
import json
import traceback

MAX_ITEM = 64 * 1024  # an observation larger than this is reported by its size only


# ------------------------------------------------------------------ plain data, both ways

def encode(value, depth=0):
    """`value` as JSON-ready data, keeping bytes, tuples, sets and dict keys apart.

    Only built-in types are kept, by exact type: a subclass of str with a generous
    __eq__ becomes {"object": ...}, which equals nothing the grader expects.
    """
    kind = type(value)
    if depth > 30:
        return {"object": "too deep"}
    if value is None or kind in (bool, int, str):
        return value
    if kind is float:
        return {"float": repr(value)}
    if kind in (bytes, bytearray):
        return {"bytes": base64.b64encode(bytes(value)).decode("ascii")}
    if kind is list:
        return [encode(item, depth + 1) for item in value]
    if kind is tuple:
        return {"tuple": [encode(item, depth + 1) for item in value]}
    if kind in (set, frozenset):
        return {"set": sorted((encode(item, depth + 1) for item in value), key=json.dumps)}
    if kind is dict:
        return {"dict": [[encode(key, depth + 1), encode(item, depth + 1)] for key, item in value.items()]}
    return {"object": "%s.%s" % (kind.__module__, kind.__qualname__), "repr": safe_repr(value)}


def decode(data):
    """The value `encode` described (an object it could not keep becomes an Opaque)."""
    if data is None or isinstance(data, (bool, int, str)):
        return data
    if isinstance(data, list):
        return [decode(item) for item in data]
    (tag, inner), = data.items() if len(data) == 1 else [("object", data)]
    if tag == "float":
        return float(inner)
    if tag == "bytes":
        return base64.b64decode(inner)
    if tag == "tuple":
        return tuple(decode(item) for item in inner)
    if tag == "set":
        return set(decode(item) for item in inner)
    if tag == "dict":
        return {freeze(decode(key)): decode(item) for key, item in inner}
    return Opaque(data.get("object", "?") if isinstance(data, dict) else "?", data.get("repr", ""))


def freeze(value):
    return tuple(freeze(item) for item in value) if isinstance(value, list) else value


class Opaque:
    """A value the probe could not describe as plain data: equal to nothing."""

    def __init__(self, kind, text):
        self.kind, self.text = kind, text

    def __eq__(self, other):
        return False

    __hash__ = None

    def __repr__(self):
        return self.text or "<%s object>" % self.kind


def safe_repr(value, limit=200):
    try:
        text = repr(value)
    except Exception as error:  # a student's __repr__ may raise
        text = "<repr failed: %s>" % type(error).__name__
    return text if len(text) <= limit else text[:limit - 20] + " ... " + text[-15:]


def raised(error):
    """What a call raised: its classes (most specific first), its message and its last line."""
    classes = ["%s.%s" % (cls.__module__, cls.__qualname__) for cls in type(error).__mro__]
    frames = traceback.extract_tb(error.__traceback__)
    where = ""
    if frames:
        frame = frames[-1]
        where = "%s, line %d: %s" % (frame.name, frame.lineno, (frame.line or "").strip())
    return {"raised": classes, "message": safe_repr(str(error), 300), "where": where[:300]}


def limited(observation):
    text = json.dumps(observation)
    return observation if len(text) <= MAX_ITEM else {"too_big": len(text)}


def call(function, args):
    """{"value": ...} or {"raised": ...} for function(*args)."""
    try:
        return limited({"value": encode(function(*args))})
    except BaseException as error:  # SystemExit and KeyboardInterrupt too: the case fails, the probe goes on
        return raised(error)


# ------------------------------------------------------------------ loading the answer
