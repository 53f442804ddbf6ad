"""``make outbox``: every email the local stack has sent, one JSON object per line:
``{"to", "subject", "text"}``.

Read through moto's own API (``/moto-api/data.json``, the emulator's model state). The
app sends raw MIME (``catalog_lambda.notifications``), which the emulator keeps whole,
so ``text`` is the message's text/plain part; for a simple (non-raw) message the
emulator keeps only one body, so ``text`` is that body with any markup removed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import urllib.request
from email import message_from_string
from email.message import Message
from email.policy import default
from pathlib import Path
from typing import Any

from infra.local.stack import DEFAULT_STATE_FILE, ENV_STATE_FILE


def _text_part(message: Message) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                return payload.decode(part.get_content_charset() or "utf-8")
    return ""


def _strip_markup(body: str) -> str:
    return re.sub(r"\s+\n", "\n", re.sub(r"<[^>]+>", "", body)).strip()


def outbox(model_data: dict[str, Any]) -> list[dict[str, str]]:
    """The sent messages in the emulator's state, oldest first."""
    ses = model_data.get("ses", {})
    out: list[dict[str, str]] = []
    for raw in ses.get("RawMessage", []):
        message = message_from_string(raw["raw_data"], policy=default)
        to = ", ".join(dict.fromkeys(raw.get("destinations") or [])) or str(message.get("To", ""))
        out.append({"to": to, "subject": str(message.get("Subject", "")), "text": _text_part(message)})
    for simple in ses.get("Message", []):
        destinations = simple.get("destinations") or {}
        to = ", ".join(destinations.get("ToAddresses", []) if isinstance(destinations, dict) else destinations)
        out.append({"to": to, "subject": simple.get("subject", ""), "text": _strip_markup(simple.get("body", ""))})
    return out


def fetch(emulator_url: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{emulator_url}/moto-api/data.json", timeout=10) as response:
        data: dict[str, Any] = json.load(response)
    return data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.local.outbox", description=__doc__.splitlines()[0])
    parser.add_argument("--state-file", default=os.environ.get(ENV_STATE_FILE) or str(DEFAULT_STATE_FILE))
    args = parser.parse_args(argv)
    state_file = Path(args.state_file)
    if not state_file.exists():
        print(f"no local stack state at {state_file}: start it with `make dev`", file=sys.stderr)
        return 2
    for line in outbox(fetch(json.loads(state_file.read_text())["emulator_url"])):
        print(json.dumps(line, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
