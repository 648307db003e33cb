#!/usr/bin/env python3
"""A mail server for tests that keeps every message it is given.

    smtp_sink.py PORT FILE

Listens for SMTP (no TLS, no authentication) on 127.0.0.1:PORT and appends one
JSON line per received message to FILE:

    {"from": ..., "from_header": <the From header>, "reply_to_header": <the Reply-To header, or "">, "to": [...], "subject": ..., "body": <text/plain part>, "html": <text/html part>,
     "attachments": [{"filename": ..., "content_type": ..., "content": <text, UTF-8>}]}

Prints "ready" on stdout once it accepts connections; stops on SIGTERM or SIGINT.
Used by the Rust integration tests (tests/app/invitations.rs) and the browser
tests (tests/browser/run.py); needs aiosmtpd (tests/browser/requirements.txt).
"""

from __future__ import annotations

import email
import json
import signal
import sys
import threading
from email import policy

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, path: str) -> None:
        self.path = path
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        message = email.message_from_bytes(raw, policy=policy.default)
        text = html = ""
        attachments = []
        for part in message.walk():
            if part.is_multipart():
                continue
            kind = part.get_content_type()
            if part.get_content_disposition() == "attachment":
                attachments.append(
                    {
                        "filename": part.get_filename(),
                        "content_type": kind,
                        "content": part.get_payload(decode=True).decode("utf-8", "replace"),
                    }
                )
            elif kind == "text/plain" and not text:
                text = part.get_content()
            elif kind == "text/html" and not html:
                html = part.get_content()
        record = {
            "from": envelope.mail_from,
            "from_header": str(message.get("from", "")),
            "reply_to_header": str(message.get("reply-to", "")),
            "to": list(envelope.rcpt_tos),
            "subject": str(message.get("subject", "")),
            "body": text,
            "html": html,
            "attachments": attachments,
        }
        line = json.dumps(record) + "\n"
        with self.lock, open(self.path, "a", encoding="utf-8") as out:
            out.write(line)
            out.flush()
        return "250 Message accepted"


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    port, path = int(sys.argv[1]), sys.argv[2]
    controller = Controller(Sink(path), hostname="127.0.0.1", port=port)
    controller.start()
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    print("ready", flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        controller.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
