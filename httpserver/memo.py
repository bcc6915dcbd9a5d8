"""Remembering answers to questions a client asks, without letting it fill memory.

Contract: `remember_short(maxsize, longest)` decorates a pure function of one
string, like `functools.lru_cache(maxsize)`, except that values longer than
`longest` characters are answered but never kept: a client chooses its header
values and paths (up to 64 KiB), so with plain `lru_cache` one client could make
the server keep `maxsize` × 64 KiB of its bytes for as long as it runs.
"""

import functools


def remember_short(maxsize=256, longest=256):
    """Like `functools.lru_cache`, for a function of one string a client chooses:
    only values up to `longest` characters are remembered, so no client can fill
    our memory with long keys (a header value may be 64 KiB)."""
    def decorate(function):
        remembered = functools.lru_cache(maxsize=maxsize)(function)

        @functools.wraps(function)
        def answer(value):
            if value is not None and len(value) > longest:
                return function(value)
            return remembered(value)
        answer.cache_info, answer.cache_clear = remembered.cache_info, remembered.cache_clear
        return answer
    return decorate
