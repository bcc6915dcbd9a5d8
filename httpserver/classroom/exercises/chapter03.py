"""Chapter 03's exercises: a response's bytes (my_server.py), a route of one's own, status classes."""

import http.client
import io
from http import HTTPStatus
from urllib.parse import quote

from . import exercise, outcome_text, pick, token

STATUSES = [200, 201, 202, 204, 400, 403, 404, 405, 409, 413, 500, 501, 503]
TYPES = ["text/plain", "text/plain; charset=utf-8", "text/html; charset=utf-8", "application/octet-stream",
         "application/json", None]


class BytesSocket:
    """Just enough of a socket for http.client to read a response from bytes."""

    def __init__(self, data):
        self.data = data

    def makefile(self, mode, *args, **kwargs):
        return io.BytesIO(self.data)


def response_problem(case, data):
    """What is wrong with `data` as the response build_response(*case) should make, or None."""
    status, body, content_type, fields = case["args"]
    if not isinstance(data, bytes):
        return "returns bytes (a socket sends bytes)"
    head, blank, rest = data.partition(b"\r\n\r\n")
    if not blank:
        return "ends the head with an empty line, CRLF CRLF (RFC 9112 §2.1)"
    lines = head.split(b"\r\n")
    if any(b"\n" in line or b"\r" in line for line in lines):
        return "ends every line of the head with CRLF, never a bare LF (RFC 9112 §2.2)"
    phrase = HTTPStatus(status).phrase
    if lines[0] != ("HTTP/1.1 %d %s" % (status, phrase)).encode():
        return "starts with the status line `HTTP/1.1 %d %s` (RFC 9112 §4)" % (status, phrase)
    found = {}
    for line in lines[1:]:
        name, colon, value = line.partition(b":")
        if not colon:
            return "has only `Name: value` lines in its head"
        found.setdefault(name.strip().lower().decode("latin-1"), []).append(value.strip().decode("latin-1"))
    wanted_type = [content_type] if content_type is not None else None
    if found.get("content-type") != wanted_type:
        return ("has `Content-Type: %s`" % content_type if content_type is not None
                else "has no Content-Type when content_type is None")
    if status == 204:
        if "content-length" in found or rest:
            return "sends neither Content-Length nor a body with a 204 (RFC 9110 §8.6)"
    elif found.get("content-length") != [str(len(body))]:
        return "has `Content-Length: %d`, the body's length in bytes (RFC 9112 §6.3)" % len(body)
    for name, value in fields:
        if value not in found.get(name.lower(), []):
            return "has the field `%s: %s` that `fields` lists" % (name, value)
    if status != 204:
        if rest != body:
            return "ends with the body exactly as given, nothing added or stripped"
        answer = http.client.HTTPResponse(BytesSocket(data), method="GET")
        try:
            answer.begin()
            read = (answer.status, answer.reason, answer.read())
        except (http.client.HTTPException, ValueError) as error:
            return "can be read by http.client (it said: %r)" % error
        if read != (status, phrase, body):
            return "reads back in http.client as %d %s with the same body" % (status, phrase)
    return None


def judge_response(case, observed, expected):
    if "value" not in observed:
        return "should return the response's bytes; it %s" % outcome_text(observed)
    problem = response_problem(case, observed["value"])
    return None if problem is None else "the response should be one that %s; it %s" % (problem, outcome_text(observed))


@exercise("ch03-build_response-check", "build_response", judge=judge_response)
def build_response_cases(rng):
    cases = []
    for status in [200, 204, 404, 201] + [pick(rng, *STATUSES) for _ in range(8)]:  # a 204 every time
        body = b"" if status == 204 else bytes(rng.randrange(256) for _ in range(rng.randint(0, 60)))
        if rng.random() < 0.3:
            body += b"\r\n\r\n" + token(rng).encode()  # a body that looks like the end of a head
        fields = [(token(rng).title(), token(rng)) for _ in range(rng.randint(0, 3))]
        cases.append({"args": (status, b"" if status == 204 else body, pick(rng, *TYPES), fields)})
    cases[0]["args"] = cases[0]["args"][:2] + (None, [("Location", "/" + token(rng))])  # no Content-Type
    return rng.sample(cases, len(cases))


def request(method, target, *fields):
    head = "%s %s HTTP/1.1\r\nHost: localhost\r\n" % (method, target)
    return ((head + "".join(name + ": " + value + "\r\n" for name, value in fields) + "\r\n").encode(),)


@exercise("ch03-ReverseApplication-check", "ReverseApplication", where="ch03-ReverseApplication",
          probe="application")
def reverse_application_cases(rng):
    words = [token(rng) for _ in range(3)]
    cases = [request("GET", "/reverse/" + word) for word in words]
    cases.append(request("GET", "/reverse/" + quote(" ".join(words))))
    cases.append(request("GET", "/reverse/" + quote(token(rng) + "é/" + token(rng), safe="")))
    cases.append(request("HEAD", "/reverse/" + token(rng)))
    cases.append(request("POST", "/reverse/" + token(rng), ("Content-Length", "0")))
    cases.append(request("GET", "/reversed" + token(rng)))
    cases.append(request("GET", "/echo/" + token(rng)))
    cases.append(request("GET", "/user-agent", ("User-Agent", token(rng) + "/" + str(rng.randint(1, 9)))))
    cases.append(request("GET", "/"))
    return [{"args": case} for case in rng.sample(cases, len(cases))]


@exercise("ch03-status_class-check", "status_class", where="ch03-status_class")
def status_class_cases(rng):
    codes = [rng.randint(100, 599) for _ in range(10)] + [100, 199, 200, 599]
    codes += [rng.randint(600, 999), rng.randint(0, 99), -rng.randint(1, 999), 600, 99]
    return [{"args": (code,)} for code in rng.sample(codes, len(codes))]


METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]


@exercise("ch03-next_request-check", "next_request", where="ch03-next_request")
def next_request_cases(rng):
    cases = [{"args": (method, status)} for status in (301, 302, 303, 307, 308)
             for method in rng.sample(METHODS, 4) + ["POST", "HEAD"]]
    cases.append({"args": (pick(rng, "post", "Post", "get"), pick(rng, 301, 302, 303))})  # case-sensitive
    cases += [{"args": (pick(rng, *METHODS), status)}
              for status in (300, 304, 305, 306, 200, rng.randint(100, 299), rng.randint(400, 599))]
    return rng.sample(cases, len(cases))
