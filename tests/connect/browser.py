"""A user's browser for connect-flow tests: a ``requests.Session`` (it keeps cookies)
that follows redirects itself, fills the fakes' consent forms, and stops at the
site's callback URL (which is never fetched: it is the site's own page)."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import requests

CALLBACK = "https://site.example/connected"


class _Form(HTMLParser):
    def __init__(self):
        super().__init__()
        self.action, self.fields = None, {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.action = attrs.get("action")
        elif tag == "input" and attrs.get("name"):
            self.fields[attrs["name"]] = attrs.get("value", "")


@dataclass
class Result:
    final: str | None  # the callback URL the browser was sent to, or None
    page: requests.Response | None  # the page it stopped on instead
    trail: list[str] = field(default_factory=list)  # every URL visited

    @property
    def params(self) -> dict:
        return {k: v[0] for k, v in parse_qs(urlsplit(self.final).query).items()} if self.final else {}

    def visited(self, fragment: str) -> str:
        return next(u for u in self.trail if fragment in u)


class Browser:
    def __init__(self, gateway: str):
        self.gateway, self.http = gateway, requests.Session()

    def start_url(self, provider: str, site: str, callback: str = CALLBACK, state: str | None = "site-state") -> str:
        query = {"site": site, "callback_uri": callback, **({"state": state} if state is not None else {})}
        return f"{self.gateway}/connect/{provider}.html?{urlencode(query)}"

    def connect(self, provider: str, site: str, *, decision: str = "approve", login: str | None = None,
                **kw) -> Result:
        return self.follow(self.start_url(provider, site, **kw), decision=decision, login=login)

    def follow(self, url: str, *, decision: str = "approve", login: str | None = None) -> Result:
        trail = [url]
        resp = self.http.get(url, allow_redirects=False, timeout=30)
        for _ in range(12):
            if resp.is_redirect:
                url = urljoin(resp.url, resp.headers["Location"])
                trail.append(url)
                if url.startswith(CALLBACK):
                    return Result(url, None, trail)
                resp = self.http.get(url, allow_redirects=False, timeout=30)
            elif resp.status_code == 200 and "<form" in resp.text:
                resp = self._click(resp, decision, login)
            else:
                return Result(None, resp, trail)
        raise AssertionError(f"too many steps: {trail}")

    def _click(self, page: requests.Response, decision: str, login: str | None) -> requests.Response:
        form = _Form()
        form.feed(page.text)
        data = {**form.fields, "decision": decision}
        if login:
            data["login"] = login
        return self.http.post(urljoin(page.url, form.action), data=data, allow_redirects=False, timeout=30)
