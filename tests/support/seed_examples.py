"""The cURL and HTTP GET examples of the API reference (the seed document), parsed verbatim."""

from __future__ import annotations

import json
import re
import shlex
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.paths import FIXTURES

PLACEHOLDER = "{{ extra.api_example_url }}"
# The API reference's examples, copied verbatim into the repository (its report tracker page).
COPY = FIXTURES / "seed_examples.txt"


@dataclass(frozen=True)
class Example:
    kind: str  # "curl" | "get"
    action: str  # generate, list, ...
    method: str
    url: str  # with the placeholder
    headers: dict[str, str]
    body: bytes | None

    def call(self, base_url: str) -> tuple[int, dict[str, str], bytes]:
        req = urllib.request.Request(
            self.url.replace(PLACEHOLDER, base_url), data=self.body, headers=self.headers, method=self.method
        )
        opener = urllib.request.build_opener(_NoRedirect)
        try:
            with opener.open(req, timeout=30) as resp:
                return resp.status, {k.lower(): v for k, v in resp.headers.items()}, resp.read()
        except urllib.error.HTTPError as err:
            return err.code, {k.lower(): v for k, v in err.headers.items()}, err.read()

    def json(self, base_url: str) -> tuple[int, Any]:
        status, _, data = self.call(base_url)
        return status, json.loads(data)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def parse_curl(command: str) -> tuple[str, str, dict[str, str], bytes | None]:
    args = shlex.split(command.replace("\\\n", " "))
    assert args[0] == "curl"
    method, url, headers, body = "GET", "", {}, None
    i = 1
    while i < len(args):
        a = args[i]
        if a == "-X":
            method, i = args[i + 1], i + 2
        elif a == "-H":
            k, v = args[i + 1].split(":", 1)
            headers[k.strip()] = v.strip()
            i += 2
        elif a in ("-d", "--data", "--data-raw"):
            body, i = args[i + 1].encode(), i + 2
        else:
            url, i = a, i + 1
    return method, url, headers, body


def examples(path: Path = COPY) -> list[Example]:
    text = path.read_text(encoding="utf-8")
    out: list[Example] = []
    for m in re.finditer(r"curl -X POST '[^']+'(?:\s*\\\n\s*-[Hd] '[^']*')+", text):
        method, url, headers, body = parse_curl(m.group(0))
        out.append(Example("curl", url.rsplit("/", 1)[1], method, url, headers, body))
    for m in re.finditer(r"^\s+(\{\{ extra\.api_example_url \}\}/\S+)$", text, re.M):
        url = m.group(1)
        out.append(Example("get", url.split("?")[0].rsplit("/", 1)[1], "GET", url, {}, None))
    return out
