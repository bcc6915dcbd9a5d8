"""The access log in Common Log Format, as Apache and nginx write it.

    127.0.0.1 - - [28/Nov/2026:01:02:03 +0000] "GET /echo/hi HTTP/1.1" 200 2

Month names are spelled out here, not taken from the locale, so the format is
the same on every machine.
"""

import time

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def common_log_line(client, request, response, size):
    """One access-log line for a response (request is None for unparseable ones)."""
    now = time.gmtime()
    stamp = (f"{now.tm_mday:02d}/{_MONTHS[now.tm_mon - 1]}/{now.tm_year}:"
             f"{now.tm_hour:02d}:{now.tm_min:02d}:{now.tm_sec:02d} +0000")
    host = client[0] if client else "-"
    if request is None:
        line = "-"
    else:  # The target is visible ASCII already; quotes cannot appear in it.
        line = f"{request.method} {request.target} {request.version}"
    return f'{host} - - [{stamp}] "{line}" {response.status} {size}'
