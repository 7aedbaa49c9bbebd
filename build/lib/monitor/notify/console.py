"""The console notifier: alerts printed as text (the demo's default, and a fallback)."""

from __future__ import annotations

import sys
from typing import TextIO

from monitor.notify import Receipt
from monitor.notify.message import Message, plain_text


class ConsoleNotifier:
    name = "console"

    def __init__(self, top_k: int = 10, stream: TextIO | None = None):
        self.top_k = top_k
        self.stream = stream

    def deliver(self, message: Message, parent: Receipt | None) -> Receipt:
        text = plain_text(message, self.top_k)
        if message.action != "post":
            # A reply or an update belongs to an earlier message: indent it under its key.
            verb = "thread" if message.action == "reply" else "update"
            text = f"  ↳ {verb} of {message.parent_key}\n" + "\n".join(
                "  " + line for line in text.splitlines()
            )
        print(text, file=self.stream or sys.stdout, flush=True)
        return Receipt("console", message.key)
