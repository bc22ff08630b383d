"""Import an upload in a child process with a deadline and a memory ceiling, so that a hostile file that
slips past the size checks (a deep or huge XML tree) costs a refusal, never a hung or killed web worker."""

from __future__ import annotations

import multiprocessing
import resource

from storage.formats.importing import ImportRefused, ImportResult, import_upload

PARSE_SECONDS = 20  # below gunicorn's 30 s worker timeout, so the refusal reaches the user
PARSE_MEMORY_BYTES = 2 * 1024**3  # address space of the child; the 200-page agreement needs ~60 MB resident

# forkserver: each import forks from a small single-threaded server process that has already loaded the
# importer, which is cheap per upload and safe in a multi-threaded parent (plain fork is not).
_CONTEXT = multiprocessing.get_context("forkserver")
_CONTEXT.set_forkserver_preload(["storage.formats.importing"])


def _child(connection, filename: str, data: bytes, memory_bytes: int) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    try:
        connection.send(("ok", import_upload(filename, data)))
    except ImportRefused as refused:
        connection.send(("refused", refused.code, refused.params))
    except MemoryError:
        connection.send(("refused", "too_complex", {}))
    except Exception:  # a file that breaks the reader in an unforeseen way is a damaged file to the user
        connection.send(("refused", "corrupt", {}))
    finally:
        connection.close()


def import_upload_isolated(filename: str, data: bytes, *, seconds: float = PARSE_SECONDS,
                           memory_bytes: int = PARSE_MEMORY_BYTES) -> ImportResult:
    """`import_upload`, refused with "too_complex" when it takes longer than `seconds` or more memory."""
    receiver, sender = _CONTEXT.Pipe(duplex=False)
    process = _CONTEXT.Process(target=_child, args=(sender, filename, data, memory_bytes), daemon=True)
    process.start()
    sender.close()
    try:
        if not receiver.poll(seconds):
            raise ImportRefused("too_complex")
        try:
            outcome = receiver.recv()
        except EOFError:  # the child died without answering (killed for memory, or crashed)
            raise ImportRefused("too_complex") from None
    finally:
        receiver.close()
        if process.is_alive():
            process.kill()
        process.join()
    if outcome[0] == "refused":
        raise ImportRefused(outcome[1], **outcome[2])
    return outcome[1]
