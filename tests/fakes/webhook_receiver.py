"""A customer's webhook receiver: a local HTTP server that verifies every delivery with the `standardwebhooks`
package (the reference implementation, not our code) and answers with the statuses it is told to."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from tests.fakes.json_server import JsonServer, Reply


@dataclass(frozen=True)
class Delivery:
    msg_id: str
    timestamp: str
    verified: bool
    body: dict[str, Any]
    raw: bytes
    headers: dict[str, str]


class WebhookReceiver:
    """`statuses` are answered in turn, then 200 for ever. `secret` may be set after the subscription exists."""

    def __init__(self, statuses: list[int] | None = None, secret: str | None = None) -> None:
        self.statuses = list(statuses or [])
        self.secret = secret
        self.deliveries: list[Delivery] = []
        self._lock = threading.Lock()
        self._server = JsonServer(self, "webhook-receiver")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.port}/hooks"

    def handle(self, method: str, raw_path: str, headers: dict[str, str], body: bytes) -> Reply:
        verified = False
        if self.secret is not None:
            try:
                Webhook(self.secret).verify(body, headers)
                verified = True
            except WebhookVerificationError:
                verified = False
        lower = {k.lower(): v for k, v in headers.items()}
        with self._lock:
            self.deliveries.append(Delivery(lower.get("webhook-id", ""), lower.get("webhook-timestamp", ""), verified,
                                            json.loads(body or b"{}"), body, lower))
            status = self.statuses.pop(0) if self.statuses else 200
        return Reply(status, {})

    def stop(self) -> None:
        self._server.stop()
