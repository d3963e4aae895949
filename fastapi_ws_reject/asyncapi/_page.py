"""The page that renders an AsyncAPI document: AsyncAPI's web component pinned by its hash, every string escaped
for where it is written, and a Content-Security-Policy that lets nothing else run."""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
from types import MappingProxyType
from typing import Any
from urllib.parse import quote, urlsplit

from starlette.responses import HTMLResponse

ASYNCAPI_SCRIPT_URL = "https://unpkg.com/@asyncapi/react-component@3.2.1/browser/standalone/index.js"
"""The standalone bundle of AsyncAPI's web component (npm's `@asyncapi/react-component`, the version package.json
pins), which renders the document in the page."""
ASYNCAPI_SCRIPT_INTEGRITY = "sha384-wy5bSOazlkSKMGH7XMW6+pK8ho8+rCPr7mTqKdAb/dvfwXAPWCFivgr3C7wJMFAh"
"""The Subresource Integrity hash of that exact file: a browser refuses any other file served at its URL."""
ASYNCAPI_STYLE_URL = "https://unpkg.com/@asyncapi/react-component@3.2.1/styles/default.min.css"
"""The component's stylesheet, from the same package and version."""
ASYNCAPI_STYLE_INTEGRITY = "sha384-oo9RoQcacP++XdMX6CjTucTvASEORHX3chFik0/V2kHcsHiVboGyWZztGeq/0bum"
"""The Subresource Integrity hash of that stylesheet."""

# In a script, `<` lets the HTML parser end the element (`</script>`) or re-enter it (`<!--<script>`, HTML
# "script data double escaped state"); `>` and `&` join them, U+2028/2029 end a line before ES2019.
_SCRIPT_ESCAPES = MappingProxyType({ord(c): f"\\u{ord(c):04x}" for c in "<>&\u2028\u2029"})
# Whitespace, `;` and `,` separate a policy's sources and directives; quotes and `\` have no place in a URL.
_NOT_IN_A_SOURCE = re.compile(r"[\s;,'\"\\]")
_HOST = re.compile(r"(?:[A-Za-z0-9\-.]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?")
_INTEGRITY = re.compile(r"(?:sha256|sha384|sha512)-[A-Za-z0-9+/]+={0,2}")


class AsyncAPIPage:
    """The page's assets, checked once: `render` then writes a page for one document URL."""

    def __init__(
        self, *, script_url: str, style_url: str, script_integrity: str | None, style_integrity: str | None
    ) -> None:
        self.script_source = source_expression("script_url", script_url)
        self.style_source = source_expression("style_url", style_url)
        self.script = _loading("src", script_url, "script_integrity", script_integrity)
        self.style = _loading("href", style_url, "style_integrity", style_integrity)

    def render(self, json_url: str, *, title: str) -> HTMLResponse:
        arguments = {
            "schema": {"url": json_url, "options": {"method": "GET", "mode": "cors"}},
            "config": {"show": {"sidebar": True}},
        }
        inline = f'\nAsyncApiStandalone.render({script_json(arguments)}, document.getElementById("asyncapi"));\n'
        page = f"""<!DOCTYPE html>
<html>
<head>
<meta charset="utf-8">
<title>{html.escape(title)}</title>
<link rel="stylesheet" {self.style}>
</head>
<body>
<div id="asyncapi"></div>
<script {self.script}></script>
<script>{inline}</script>
</body>
</html>
"""
        # 'unsafe-eval': the component's bundled JSON Schema validator (ajv) compiles its validators with
        # `new Function` as the bundle loads; without it the bundle throws EvalError and nothing renders.
        policy = (
            "default-src 'none'; "
            f"script-src {self.script_source} '{_sha256(inline)}' 'unsafe-eval'; "
            f"style-src {self.style_source}; "
            f"connect-src {source_expression('json_url', json_url)}; "
            "img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'none'"
        )
        return HTMLResponse(page, headers={"Content-Security-Policy": policy})


def script_json(value: Any) -> str:
    """`value` as JSON that can sit in an HTML `<script>`: the HTML parser sees no tag in it, JavaScript reads it
    unchanged (OWASP XSS prevention, rule 3.1)."""
    return json.dumps(value).translate(_SCRIPT_ESCAPES)


def root_url(root_path: str) -> str:
    """The URL of a decoded ASGI `root_path`: percent-encoded, with one leading `/`, since browsers read `//host`
    and `/\\host` (WHATWG URL: `\\` is `/` in http URLs) as another origin."""
    encoded = quote(root_path.rstrip("/"), safe="/")
    return "/" + encoded.lstrip("/") if encoded else ""


def source_expression(option: str, url: str) -> str:
    """How a Content-Security-Policy names `url`: the URL itself (without its query) when it names a host,
    `'self'` when it is a path on this server."""
    parts = urlsplit(url)
    if parts.scheme not in ("", "http", "https") or (parts.scheme and not parts.netloc):
        raise ValueError(f"{option} must be an http(s) URL or a path on this server, got {url!r}.")
    if not parts.netloc:
        return "'self'"
    if _NOT_IN_A_SOURCE.search(url) or not _HOST.fullmatch(parts.netloc):
        raise ValueError(
            f"{option} must be an http(s) URL with no whitespace, quotes, backslash, ';' or ',' (they would change "
            f"the page's Content-Security-Policy), got {url!r}; percent-encode them."
        )
    return f"{parts.scheme}://{parts.netloc}{parts.path}" if parts.scheme else f"{parts.netloc}{parts.path}"


def _loading(attribute: str, url: str, integrity_option: str, integrity: str | None) -> str:
    """The attributes of the element that loads `url`, with its integrity hash when there is one."""
    if integrity is None:
        return f'{attribute}="{html.escape(url)}"'
    if not integrity.strip() or not all(_INTEGRITY.fullmatch(token) for token in integrity.split()):
        raise ValueError(
            f"{integrity_option} must be Subresource Integrity hashes ('sha384-' and the base64 digest of the "
            f"file), or None to load the file unchecked; got {integrity!r}."
        )
    # crossorigin: a browser checks the hash of a cross-origin file only when it is fetched with CORS.
    return f'{attribute}="{html.escape(url)}" integrity="{html.escape(integrity)}" crossorigin="anonymous"'


def _sha256(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()
