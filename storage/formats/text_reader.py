"""Read Markdown and plain text into blocks."""

from __future__ import annotations

import re

from storage.formats.docx_reader import BULLET, merge_runs, safe_href

# Control characters cannot be stored in a .docx (XML 1.0); tab and newline are kept.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

_ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_RULE = re.compile(r"^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_ITEM = re.compile(r"^( *)(?:([-*+])|(\d{1,9})([.)]))(?:[ \t]+(.*))?$")
_TABLE_SEPARATOR = re.compile(r"^[ \t]*\|?[ \t]*:?-+:?[ \t]*(?:\|[ \t]*:?-+:?[ \t]*)*\|?[ \t]*$")
_CELL_SPLIT = re.compile(r"(?<!\\)\|")

_INLINE = re.compile(
    r"""\\(?P<escaped>[\\`*_{}\[\]()#+\-.!|>~])
      | `(?P<code>[^`]+)`
      | \*\*(?P<bold>.+?)\*\*
      | __(?P<bold2>.+?)__
      | \*(?P<italic>[^\s*](?:.*?[^\s*])?)\*
      | (?<!\w)_(?P<italic2>[^\s_](?:.*?[^\s_])?)_(?!\w)
      | \[(?P<label>[^\]]+)\]\((?P<url>(?:[^()\s]|\([^()\s]*\))+)(?:\s+"[^"]*")?\)
      | <(?P<auto>(?:https?://|mailto:)[^>\s]+)>
    """,
    re.VERBOSE,
)


def _lines(text: str) -> list[str]:
    return _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n")).split("\n")


def read_plain_text(text: str) -> list[dict]:
    """Paragraphs separated by blank lines; the lines inside a paragraph keep their breaks."""
    blocks, lines = [], []
    for line in [*_lines(text), ""]:
        if line.strip():
            lines.append(line.strip())
        elif lines:
            blocks.append({"type": "paragraph", "text": "\n".join(lines)})
            lines = []
    return blocks


def read_markdown(text: str) -> list[dict]:
    """The common subset of Markdown: headings, lists, pipe tables, emphasis, links, paragraphs."""
    return _MarkdownReader().read(_lines(text))


def inline_block(kind: dict, text: str) -> dict:
    """A text block of `kind` whose Markdown emphasis and links become runs."""
    runs = merge_runs(_inline(text, False, False, None))
    block = {**kind, "text": "".join(run["text"] for run in runs)}
    if any(len(run) > 1 for run in runs):
        block["runs"] = runs
    return block


def _inline(text: str, bold: bool, italic: bool, href: str | None) -> list[list]:
    pieces: list[list] = []
    position = 0
    for match in _INLINE.finditer(text):
        pieces.append([text[position : match.start()], bold, italic, False, href])
        position = match.end()
        group = match.lastgroup
        if group in ("escaped", "code"):
            pieces.append([match.group(group), bold, italic, False, href])
        elif group in ("bold", "bold2"):
            pieces.extend(_inline(match.group(group), True, italic, href))
        elif group in ("italic", "italic2"):
            pieces.extend(_inline(match.group(group), bold, True, href))
        elif group == "auto":
            pieces.append([match.group("auto"), bold, italic, False, safe_href(match.group("auto"))])
        else:
            pieces.extend(_inline(match.group("label"), bold, italic, safe_href(match.group("url")) or href))
    pieces.append([text[position:], bold, italic, False, href])
    return pieces


class _MarkdownReader:
    def __init__(self):
        self.blocks: list[dict] = []
        self.pending: tuple[dict, list[str]] | None = None  # a paragraph or list item still taking lines
        self.indents: list[int] = []  # indentation of each open list level
        self.counters: list[int | None] = []  # last number per open level, None for bullets
        self.after_blank = False

    def read(self, lines: list[str]) -> list[dict]:
        index = 0
        while index < len(lines):
            index = self._line(lines, index)
        self._flush()
        return self.blocks

    def _line(self, lines: list[str], index: int) -> int:
        line = lines[index].expandtabs(4)
        if not line.strip():
            self._flush()
            self.after_blank = True
            return index + 1
        after_blank, self.after_blank = self.after_blank, False
        fence = _FENCE.match(line)
        if fence:
            return self._code(lines, index, fence.group(1))
        if self.pending and self.pending[0]["type"] == "paragraph" and _SETEXT.match(line):
            kind, texts = self.pending
            self.pending = ({"type": "heading", "level": 1 if line.strip()[0] == "=" else 2}, texts)
            self._flush()
            return index + 1
        heading = _ATX.match(line)
        if heading:
            self._end_list()
            self._add({"type": "heading", "level": len(heading.group(1))}, heading.group(2) or "")
            return index + 1
        if _RULE.match(line):
            self._end_list()
            return index + 1
        item = _ITEM.match(line)
        if item and self._starts_item(item):
            self._item(item)
            return index + 1
        if "|" in line and index + 1 < len(lines) and _TABLE_SEPARATOR.match(lines[index + 1]) and "-" in lines[index + 1]:
            self._end_list()
            return self._table(lines, index)
        text = line.strip().lstrip(">").strip() if line.lstrip().startswith(">") else line.strip()
        indent = len(line) - len(line.lstrip())
        if self.pending and not after_blank:
            self.pending[1].append(text)  # a soft line break, or a lazy continuation of a list item
        elif self.indents and after_blank and indent > self.indents[0]:
            self._flush()
            self.pending = ({"type": "paragraph"}, [text])  # a further paragraph inside a list item
        else:
            self._end_list()
            self.pending = ({"type": "paragraph"}, [text])
        return index + 1

    def _starts_item(self, item: re.Match) -> bool:
        # As in CommonMark, only a bullet or a "1." may interrupt a running paragraph.
        if self.pending and self.pending[0]["type"] == "paragraph":
            return item.group(2) is not None or item.group(3) == "1"
        return True

    def _item(self, item: re.Match) -> None:
        self._flush()
        indent = len(item.group(1))
        while self.indents and indent < self.indents[-1]:
            self.indents.pop()
            self.counters.pop()
        if not self.indents or indent > self.indents[-1]:
            self.indents.append(indent)
            self.counters.append(None)
        level = min(len(self.indents) - 1, 8)
        if item.group(2):
            self.counters[-1] = None
            kind = {"type": "list_item", "level": level, "ordered": False, "label": BULLET}
        else:
            number = int(item.group(3)) if self.counters[-1] is None else self.counters[-1] + 1
            self.counters[-1] = number
            kind = {"type": "list_item", "level": level, "ordered": True, "label": f"{number}{item.group(4)}"}
        self.pending = (kind, [(item.group(5) or "").strip()])

    def _table(self, lines: list[str], index: int) -> int:
        rows = [self._row(lines[index])]
        index += 2
        while index < len(lines) and "|" in lines[index] and lines[index].strip():
            rows.append(self._row(lines[index]))
            index += 1
        self.blocks.append({"type": "table", "rows": rows})
        return index

    def _row(self, line: str) -> list[dict]:
        line = line.strip()
        line = line[1:] if line.startswith("|") else line
        line = line[:-1] if line.endswith("|") and not line.endswith("\\|") else line
        cells = []
        for cell in _CELL_SPLIT.split(line):
            text = cell.strip().replace("\\|", "|")
            cells.append({"blocks": [inline_block({"type": "paragraph"}, text)] if text else [], "colspan": 1, "rowspan": 1})
        return cells

    def _code(self, lines: list[str], index: int, fence: str) -> int:
        self._flush()
        self._end_list()
        body = []
        index += 1
        while index < len(lines) and not lines[index].strip().startswith(fence):
            body.append(lines[index].rstrip())
            index += 1
        if "".join(body).strip():
            self.blocks.append({"type": "paragraph", "text": "\n".join(body).strip("\n")})
        return index + 1

    def _add(self, kind: dict, text: str) -> None:
        self._flush()
        if text.strip():
            self.blocks.append(inline_block(kind, text.strip()))

    def _flush(self) -> None:
        if self.pending:
            kind, texts = self.pending
            self.pending = None
            self._add(kind, " ".join(t for t in texts if t))

    def _end_list(self) -> None:
        self._flush()
        self.indents, self.counters = [], []
