"""Header fields: case-insensitive names, repeated fields kept in order.

RFC 9110 §5.3 lets a recipient combine repeated fields into one comma-separated
list, except Set-Cookie; we keep each field as received and offer both views.
"""


class Headers:
    """The header fields of one request, looked up without regard to case."""

    __slots__ = ("fields", "by_name")

    def __init__(self, fields=()):
        self.fields = list(fields)  # [(name as received, value)], in order
        # Lower-case name → [values]. Code on the hot path (the parser) reads it
        # directly with names it has lower-cased already.
        self.by_name = {}
        for name, value in self.fields:
            self.by_name.setdefault(name.lower(), []).append(value)

    def add(self, name, value):
        self.fields.append((name, value))
        self.by_name.setdefault(name.lower(), []).append(value)

    def get(self, name, default=None):
        """The first value of field `name`, or `default`."""
        values = self.by_name.get(name.lower())
        return values[0] if values else default

    def get_all(self, name):
        """Every value of field `name`, in the order received (do not modify it)."""
        return self.by_name.get(name.lower(), ())

    def get_list(self, name):
        """The comma-separated list elements of every `name` field (RFC 9110 §5.6.1)."""
        items = []
        for value in self.by_name.get(name.lower(), ()):
            items.extend(item.strip() for item in value.split(",") if item.strip())
        return items

    def __contains__(self, name):
        return name.lower() in self.by_name

    def __iter__(self):
        return iter(self.fields)

    def __len__(self):
        return len(self.fields)

    def __repr__(self):
        return f"Headers({self.fields!r})"
