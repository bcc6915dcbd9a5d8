"""Links for "chapter 05" and "section 3" in a chapter's prose.

Contract: `link(markdown, number, pages, sections)` returns the Markdown of one
cell with each reference that names a built chapter or one of its numbered
sections made a link: "chapter 05" to that chapter's page, "chapter 01, section
7" to that section of it, "section 4.2" (or "Sections 8 and 9") to a section of
the same chapter. `pages` maps chapter numbers to their notebooks' names,
`sections` maps them to the set of their section numbers ("3", "4.2"); a
section of an RFC ("RFC 9112 section 6.3") is not ours and stays text.
`section_targets(markdown, number)` puts a MyST target before each numbered
heading ("## 3. Header fields" gets `(ch02-s3)=`), so the links have somewhere
to land. Code spans, code blocks, headings and existing links are left alone.
Pure text in, text out.
"""

import re

CHAPTER = re.compile(r"\b([Cc]hapter) (\d\d)\b(?:(,? )([Ss]ection) (\d+(?:\.\d+)?)\b)?")
SECTIONS = re.compile(r"\b([Ss]ections?) (\d+(?:\.\d+)?)((?:(?:, | and | or )\d+(?:\.\d+)?)*)\b")
HEADING = re.compile(r"^(#{2,4}) (\d+(?:\.\d+)?)\.? ", re.MULTILINE)
# What must not be touched: fenced blocks, code spans, links and images, headings.
PROTECTED = re.compile(r"```.*?```|`[^`\n]*`|!?\[[^\]\n]*\]\([^)\n]*\)|^#[^\n]*$|<[^>\n]+>", re.DOTALL | re.MULTILINE)


def target(number, section):
    """The MyST target name of a section: ("02", "4.2") → "ch02-s4-2"."""
    return f"ch{number}-s{section.replace('.', '-')}"


def section_targets(markdown, number):
    """`(chNN-sK)=` before each numbered heading of the cell."""
    return HEADING.sub(lambda match: f"({target(number, match.group(2))})=\n{match.group(0)}", markdown)


def headings(markdown):
    """The section numbers of a cell's numbered headings: {"3", "4.1"}."""
    return {match.group(2) for match in HEADING.finditer(markdown)}


def _after_rfc(text, position):
    return re.search(r"RFC \d+,? ?$|§ ?$", text[max(0, position - 12):position]) is not None


def _link_chapters(text, number, pages, sections):
    def replace(match):
        word, chapter, comma, section_word, section = match.groups()
        if chapter not in pages:
            return match.group(0)
        if section and section in sections.get(chapter, ()):
            label = f"{word} {chapter}{comma}{section_word} {section}"
            return f"[{label}](#{target(chapter, section)})"
        if chapter == number:
            return match.group(0)  # "this chapter" by its number: no link to itself
        return f"[{word} {chapter}]({pages[chapter]})"
    return CHAPTER.sub(replace, text)


def _link_sections(text, number, known):
    def replace(match):
        word, first, more = match.groups()
        numbers = [first] + re.findall(r"\d+(?:\.\d+)?", more)
        if _after_rfc(text, match.start()) or not all(n in known for n in numbers):
            return match.group(0)
        if not more:
            return f"[{word} {first}](#{target(number, first)})"
        parts = re.split(r"(\d+(?:\.\d+)?)", first + more)
        linked = "".join(f"[{part}](#{target(number, part)})" if part in numbers else part for part in parts)
        return f"{word} {linked}"
    return SECTIONS.sub(replace, text)


def link(markdown, number, pages, sections):
    """The cell's Markdown with chapter and section references as links (see the module)."""
    pieces, last = [], 0
    for protected in PROTECTED.finditer(markdown):
        pieces.append(_link_plain(markdown[last:protected.start()], number, pages, sections))
        pieces.append(protected.group(0))
        last = protected.end()
    pieces.append(_link_plain(markdown[last:], number, pages, sections))
    return section_targets("".join(pieces), number)


def _link_plain(text, number, pages, sections):
    # Chapters first; then sections in what is left between the new links.
    text = _link_chapters(text, number, pages, sections)
    out, last = [], 0
    for existing in re.finditer(r"\[[^\]\n]*\]\([^)\n]*\)", text):
        out.append(_link_sections(text[last:existing.start()], number, sections.get(number, ())))
        out.append(existing.group(0))
        last = existing.end()
    out.append(_link_sections(text[last:], number, sections.get(number, ())))
    return "".join(out)
