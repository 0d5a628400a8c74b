"""The network edge for Twilio's REST API: the real twilio Client, given an HTTP client that
records each request and answers like Twilio would, instead of reaching api.twilio.com."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field

from twilio.http import HttpClient
from twilio.http.response import Response


@dataclass
class RecordedRequest:
    method: str
    url: str
    data: dict


@dataclass
class RecordingHttpClient(HttpClient):
    requests: list[RecordedRequest] = field(default_factory=list)
    fail_with_status: int | None = None

    def request(
        self,
        method,
        url,
        params=None,
        data=None,
        headers=None,
        auth=None,
        timeout=None,
        allow_redirects=False,
    ):
        self.requests.append(RecordedRequest(method, url, dict(data or {})))
        if self.fail_with_status:
            body = {"code": 20500, "message": "Internal Server Error", "status": self.fail_with_status}
            return Response(self.fail_with_status, json.dumps(body))
        sid_prefix = "SM" if "/Messages" in url else "CA"
        body = {"sid": f"{sid_prefix}{uuid.uuid4().hex}", "status": "queued", **dict(data or {})}
        return Response(201, json.dumps(body))

    def messages(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.url.endswith("/Messages.json")]
