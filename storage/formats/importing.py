"""Turn an uploaded file into a version's blocks, or refuse it with a specific reason."""

from __future__ import annotations

import io
import struct
import zipfile
from dataclasses import dataclass, field

from storage.blocks import assign_ids, body_blocks, plain_text
from storage.formats.docx_reader import DocxContent, DocxRefused, read_docx_content
from storage.formats.text_reader import read_markdown, read_plain_text

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
MAX_UNPACKED_BYTES = 200 * 1024 * 1024
# A member that inflates more than this many times is a zip bomb, once it is larger than the floor.
MAX_COMPRESSION_RATIO = 100
RATIO_FLOOR_BYTES = 1024 * 1024

OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")
# Office writes a password-protected .docx as an OLE2 file holding this stream; a legacy .doc has none.
ENCRYPTED_PACKAGE_STREAM = "EncryptedPackage".encode("utf-16-le")
BINARY_MAGICS = (OLE2_MAGIC, *ZIP_MAGICS, b"%PDF", b"\x89PNG", b"GIF8", b"\xff\xd8\xff", b"{\\rtf")
UNICODE_PATH_EXTRA = 0x7075

TEXT_FORMATS = {"md": read_markdown, "txt": read_plain_text}
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


class ImportRefused(Exception):
    """An upload we will not turn into a version; the service layer words `code` for the user."""

    def __init__(self, code: str, **params):
        super().__init__(code, params)
        self.code = code
        self.params = params

    def __str__(self) -> str:
        return f"{self.code} {self.params}" if self.params else self.code


@dataclass
class ImportResult:
    blocks: list[dict]
    source_format: str  # "docx", "md" or "txt"
    findings: dict = field(default_factory=dict)  # counts the editor should be told about
    # The Word comments in a .docx, for the editor (see storage.formats.docx_reader.DocxContent); never part of the text.
    word_comments: list[dict] = field(default_factory=list)
    # The pictures image blocks name by sha256 (their "blob"); kept as blobs beside the version, not in its blocks.
    images: dict[str, bytes] = field(default_factory=dict)


def import_upload(filename: str, data: bytes) -> ImportResult:
    if len(data) > MAX_UPLOAD_BYTES:
        raise ImportRefused("too_large", limit_mb=MAX_UPLOAD_BYTES // (1024 * 1024))
    extension = _extension(filename)
    if extension in ("docm", "dotm"):
        raise ImportRefused("macro")
    if extension == "dotx":
        raise ImportRefused("template")
    if extension == "docx":
        content = _import_docx(data)
        blocks, findings, word_comments = content.blocks, content.findings, content.word_comments
        images = content.images
        source_format = "docx"
    elif extension in TEXT_FORMATS:
        blocks, findings, word_comments = TEXT_FORMATS[extension](_decode(data, extension)), {}, []
        images = {}
        source_format = extension
    else:
        raise ImportRefused("wrong_type", extension=extension)
    # Notes, headers and footers alone are nothing to agree on.
    if not plain_text(body_blocks(blocks)).strip():
        raise ImportRefused("empty")
    return ImportResult(blocks=assign_ids(blocks), source_format=source_format, findings=findings,
                        word_comments=word_comments, images=images)


def _extension(filename: str) -> str:
    name = filename.replace("\\", "/").rsplit("/", 1)[-1]
    return name.rpartition(".")[2].lower() if "." in name else ""


def _import_docx(data: bytes) -> DocxContent:
    if data.startswith(OLE2_MAGIC):
        if ENCRYPTED_PACKAGE_STREAM in data:
            raise ImportRefused("encrypted")
        raise ImportRefused("wrong_type", extension="docx")  # a legacy .doc renamed
    if not data.startswith(ZIP_MAGICS):
        raise ImportRefused("wrong_type", extension="docx")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, EOFError) as error:
        raise ImportRefused("corrupt") from error
    with archive:
        _check_archive(archive, data)
    try:
        return read_docx_content(data)
    except DocxRefused as refusal:
        params = {"extension": "docx"} if refusal.code == "wrong_type" else {}
        raise ImportRefused(refusal.code, **params) from refusal


def _check_archive(archive: zipfile.ZipFile, data: bytes) -> None:
    """Refuse zip bombs and ambiguous archives from the central directory, before inflating anything."""
    infos = archive.infolist()
    if sum(info.file_size for info in infos) > MAX_UNPACKED_BYTES:
        raise ImportRefused("unpacked_too_large", limit_mb=MAX_UNPACKED_BYTES // (1024 * 1024))
    for info in infos:
        if info.file_size > RATIO_FLOOR_BYTES and info.file_size > MAX_COMPRESSION_RATIO * info.compress_size:
            raise ImportRefused("unpacked_too_large", limit_mb=MAX_UNPACKED_BYTES // (1024 * 1024))
    # Two readers of one archive must see the same parts: no repeated names (OPC names ignore case),
    # no Unicode-path field naming another part, no local header disagreeing with the directory.
    seen = set()
    for info in infos:
        key = info.filename.lower()
        if key in seen:
            raise ImportRefused("ambiguous_zip")
        seen.add(key)
        unicode_name = _unicode_path(info.extra)
        if unicode_name is not None and unicode_name != info.filename:
            raise ImportRefused("ambiguous_zip")
        local_name, local_extra = _local_header(data, info)
        if local_name != info.orig_filename.encode("utf-8" if info.flag_bits & 0x800 else "cp437"):
            raise ImportRefused("ambiguous_zip")
        unicode_name = _unicode_path(local_extra)
        if unicode_name is not None and unicode_name != info.filename:
            raise ImportRefused("ambiguous_zip")


def _unicode_path(extra: bytes) -> str | None:
    """The name in an Info-ZIP Unicode Path extra field (0x7075), if there is one."""
    offset = 0
    while offset + 4 <= len(extra):
        kind, size = struct.unpack_from("<HH", extra, offset)
        body = extra[offset + 4 : offset + 4 + size]
        if kind == UNICODE_PATH_EXTRA and len(body) >= 5:
            return body[5:].decode("utf-8", errors="replace")
        offset += 4 + size
    return None


def _local_header(data: bytes, info: zipfile.ZipInfo) -> tuple[bytes, bytes]:
    offset = info.header_offset
    header = data[offset : offset + 30]
    if len(header) < 30 or not header.startswith(b"PK\x03\x04"):
        raise ImportRefused("corrupt")
    name_length, extra_length = struct.unpack_from("<HH", header, 26)
    name_end = offset + 30 + name_length
    return data[offset + 30 : name_end], data[name_end : name_end + extra_length]


def _decode(data: bytes, extension: str) -> str:
    if data.startswith(UTF16_BOMS):
        raise ImportRefused("not_utf8")
    if data.startswith(BINARY_MAGICS) or b"\x00" in data:
        raise ImportRefused("wrong_type", extension=extension)
    try:
        # cp1252 is not guessed at: a wrong guess would silently change an agreement's text.
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ImportRefused("not_utf8") from error
