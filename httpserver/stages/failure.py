"""What a failed stage tells the learner, and how bytes are shown in it.

Contract: a stage raises `StageFailure(problem, expected=..., hint=..., rule=...,
client=...)`; `failure_message(stage, failure)` turns it into the text the
learner reads: the stage, what was sent (bytes, escaped), what was expected,
what came back, the rule (an RFC section) and a hint aimed at the usual
mistake. `escape(data)` shows bytes the way Python writes them in a literal,
one line of the message per line on the wire, so "\\r\\n" is visible.
"""

SHOW_BYTES = 1200  # at most this much of each direction in a message
LINE_WIDTH = 160  # characters of one escaped line


class StageFailure(Exception):
    """A stage's check did not hold; the fields say what, against which rule."""

    def __init__(self, problem, *, expected=None, hint=None, rule=None, client=None):
        super().__init__(problem)
        self.problem = problem
        self.expected = expected
        self.hint = hint
        self.rule = rule
        self.client = client  # the connection it happened on: its bytes are shown


def escape(data, limit=SHOW_BYTES):
    """Bytes as readable lines: printable ASCII as is, \\r \\n \\t and others escaped."""
    shown = data[:limit]
    lines, line = [], []
    for byte in shown:
        if byte == 0x0D:
            line.append("\\r")
        elif byte == 0x0A:
            line.append("\\n")
            lines.append("".join(line))
            line = []
        elif byte == 0x09:
            line.append("\\t")
        elif byte == 0x5C:
            line.append("\\\\")
        elif 0x20 <= byte < 0x7F:
            line.append(chr(byte))
        else:
            line.append("\\x%02x" % byte)
    if line:
        lines.append("".join(line))
    lines = [text if len(text) <= LINE_WIDTH else f"{text[:LINE_WIDTH]}... ({len(text) - LINE_WIDTH:,} more)"
             for text in lines]
    if len(data) > limit:
        lines.append(f"... ({len(data) - limit:,} more bytes)")
    return lines


def _block(title, data):
    if not data:
        return [f"{title} nothing"]
    return [title] + ["    " + line for line in escape(data)]


def failure_message(stage, failure, program_note=""):
    """The full text for a failed stage (see the module docstring)."""
    lines = [f"Stage {stage.name} failed: {stage.title}", "", f"Problem:  {failure.problem}"]
    if failure.expected:
        lines.append(f"Expected: {failure.expected}")
    if failure.client is not None:
        lines.append("")
        lines += _block("Sent:", failure.client.sent_bytes())
        lines += _block("Received:", failure.client.received_bytes())
    lines += ["", f"Rule:     {failure.rule or stage.rule}"]
    if failure.hint:
        lines.append(f"Hint:     {failure.hint}")
    if program_note:
        lines += ["", program_note]
    return "\n".join(lines)
