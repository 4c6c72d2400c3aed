"""Receive alerts as a chat tool and a mail server would, and record each one as a file.

- HTTP on :8080: every POST is written to /records/webhook/<n>.json (its path and body) as
  soon as it arrives, then answered 200; while /records/delay holds a number of seconds, the
  answer waits that long (a receiver that is slow to answer).
- SMTP on :2525: every mail is written to /records/mail/<n>.json (sender, recipients, the
  message as it travelled).
- /records/ready is written once both listen.

Files are written whole (to a temporary name, then renamed): a reader never sees half of one.
"""

import json
import os
import signal
import sys
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from aiosmtpd.controller import Controller

RECORDS = Path("/records")


def record(kind: str, content: dict) -> None:
    folder = RECORDS / kind
    folder.mkdir(exist_ok=True)
    name = f"{time.time_ns()}-{uuid.uuid4().hex[:8]}.json"
    temporary = folder / f".{name}.tmp"
    temporary.write_text(json.dumps(content), encoding="utf-8")
    os.replace(temporary, folder / name)


class Webhook(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        record(
            "webhook",
            {
                "at": time.time(),
                "path": self.path,
                "content_type": self.headers.get("Content-Type"),
                "body": body.decode("utf-8", errors="replace"),
            },
        )
        delay = RECORDS / "delay"
        if delay.exists():
            time.sleep(float(delay.read_text() or 0))
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args) -> None:
        print(f"webhook: {format % args}", flush=True)


class Mailbox:
    async def handle_DATA(self, server, session, envelope) -> str:
        record(
            "mail",
            {
                "at": time.time(),
                "from": envelope.mail_from,
                "to": envelope.rcpt_tos,
                "message": envelope.content.decode("utf-8", errors="replace"),
            },
        )
        return "250 OK"


def main() -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    smtp = Controller(Mailbox(), hostname="0.0.0.0", port=2525)
    smtp.start()
    http = ThreadingHTTPServer(("0.0.0.0", 8080), Webhook)
    (RECORDS / "ready").write_text(str(os.getpid()), encoding="utf-8")
    print("receiving on :8080 (HTTP) and :2525 (SMTP)", flush=True)
    try:
        http.serve_forever()
    finally:
        smtp.stop()


if __name__ == "__main__":
    main()
