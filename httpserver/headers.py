"""Header fields: case-insensitive names, repeated fields kept in order.

RFC 9110 §5.3 lets a recipient combine repeated fields into one comma-separated
list, except Set-Cookie; we keep each field as received and offer both views.
"""


class Headers:
    """The header fields of one request, looked up without regard to case."""

    __slots__ = ("fields", "_index")

    def __init__(self, fields=()):
        self.fields = []  # [(name as received, value)], in order
        self._index = {}  # lower-case name → [values]
        for name, value in fields:
            self.add(name, value)

    def add(self, name, value):
        self.fields.append((name, value))
        self._index.setdefault(name.lower(), []).append(value)

    def get(self, name, default=None):
        """The first value of field `name`, or `default`."""
        values = self._index.get(name.lower())
        return values[0] if values else default

    def get_all(self, name):
        """Every value of field `name`, in the order received (do not modify it)."""
        return self._index.get(name.lower(), ())

    def get_list(self, name):
        """The comma-separated list elements of every `name` field (RFC 9110 §5.6.1)."""
        items = []
        for value in self._index.get(name.lower(), ()):
            items.extend(item.strip() for item in value.split(",") if item.strip())
        return items

    def __contains__(self, name):
        return name.lower() in self._index

    def __iter__(self):
        return iter(self.fields)

    def __len__(self):
        return len(self.fields)

    def __repr__(self):
        return f"Headers({self.fields!r})"
