#!/usr/bin/python3
"""smtp_sink - a local SMTP server that keeps every message it accepts.

aiosmtpd (Debian's python3-aiosmtpd) does the SMTP; each accepted message is
written to --dir as <n>.eml (the exact bytes received, atomically renamed
into place) with <n>.json beside it ({"mail_from", "rcpt_tos"}).

While the file <dir>/HOLD exists, DATA is not answered (the message is
written only once HOLD is removed): tests use it to kill the sender in the
middle of a delivery.

Run: /usr/bin/python3 tests/standins/smtp_sink.py --port N --dir PATH
It prints "ready" on stdout once listening.
"""
import argparse
import asyncio
import itertools
import json
import os
import sys
import time

from aiosmtpd.controller import Controller


class Keep:
    def __init__(self, folder):
        self.folder = folder
        self.serial = itertools.count(1)

    async def handle_DATA(self, server, session, envelope):
        hold = os.path.join(self.folder, "HOLD")
        deadline = time.monotonic() + 120
        while os.path.exists(hold) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        n = next(self.serial)
        base = os.path.join(self.folder, f"{n:05d}")
        with open(base + ".json.tmp", "w") as f:
            json.dump({"mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos}, f)
        os.rename(base + ".json.tmp", base + ".json")
        with open(base + ".eml.tmp", "wb") as f:
            f.write(envelope.original_content or envelope.content)
        os.rename(base + ".eml.tmp", base + ".eml")
        return "250 Message accepted for delivery"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", required=True)
    args = parser.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    controller = Controller(Keep(args.dir), hostname="127.0.0.1", port=args.port)
    controller.start()
    print("ready", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
