"""The `/asyncapi` page attacked: a tenant path segment or a root path that leaves the inline script or points the
page at another origin, a CDN that swaps the component, a page without a Content-Security-Policy.

Each attack got through before the fix, but quotes and U+2028/2029 (json.dumps escaped those already): the root
path went into the script as it came, `<!--<script>` included (the HTML parser then swallows the rest of the page),
`/\\evil.example` made the page fetch its document from that host, the component loaded from unpkg with no
integrity hash, and no policy limited what the page may run.
"""

import base64
import hashlib
import json
import os
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import starlette
from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Mount
from starlette.testclient import TestClient

from fastapi_ws_reject.asyncapi import add_asyncapi, asyncapi_html
from tests.support.apps import starlette_routes_the_segment

ROOT = Path(__file__).resolve().parents[2]
# Characters a string in an inline script must never carry as they are: `<` lets the HTML parser end or
# re-enter the script (`</script>`, `<!--<script>`), `>` and `&` follow, U+2028/2029 end a line in old JS.
RAW_IN_SCRIPT = re.compile("[<>&\u2028\u2029]")
# Tenant path segments (no `/`: a segment cannot hold one) and root paths an attacker or a proxy can choose.
HOSTILE_SEGMENTS = [
    "<!--<script>",
    "<script>alert(1)<!--",
    "\"'><img src=x onerror=alert(1)>",
    "a\u2028b\u2029",
    "&lt;",
]
HOSTILE_ROOT_PATHS = ["</script><script>alert(1)</script>", "/<!--<script>/x", "/x'\";alert(1)//"]


class _Page(HTMLParser):
    """The page's tags as the HTML parser reads them: attributes of each tag, and the text of each script."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[str] = []
        self.in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "script":
            self.scripts.append("")
            self.in_script = True

    def handle_endtag(self, tag: str) -> None:
        self.in_script = self.in_script and tag != "script"

    def handle_data(self, data: str) -> None:
        if self.in_script:
            self.scripts[-1] += data


def parsed(text: str) -> _Page:
    page = _Page()
    page.feed(text)
    page.close()
    return page


def inline_script(text: str) -> str:
    [script] = [script for script in parsed(text).scripts if script.strip()]
    return script


def document_url(text: str) -> str:
    """The URL the inline script hands the component, decoded as JavaScript reads the JSON literal."""
    script = inline_script(text)
    assert not RAW_IN_SCRIPT.search(script), f"raw {RAW_IN_SCRIPT.search(script)!r} in the inline script:\n{script}"
    match = re.search(r'"url":\s*("(?:[^"\\]|\\.)*")', script)
    assert match is not None, script
    url: str = json.loads(match.group(1))
    return url


def tag(text: str, name: str, **attributes: str) -> dict[str, str | None]:
    [found] = [attrs for tag, attrs in parsed(text).tags if tag == name and attributes.items() <= attrs.items()]
    return found


def tenant_client() -> TestClient:
    app = FastAPI()
    add_asyncapi(app)
    return TestClient(Starlette(routes=[Mount("/{tenant}", app=app)]))


def tenant_page(segment: str) -> Response:
    """The page under `/{segment}`, where this Starlette can route the segment at all."""
    if not starlette_routes_the_segment(segment):
        pytest.skip(f"Starlette {starlette.__version__} routes no request under {segment!r}: the page is out of reach")
    return tenant_client().get(f"/{segment}/asyncapi")


def policy(header: str) -> dict[str, list[str]]:
    directives = (directive.split() for directive in header.split(";") if directive.strip())
    return {name: sources for name, *sources in directives}


def sha(algorithm: str, data: bytes) -> str:
    return f"{algorithm}-{base64.b64encode(hashlib.new(algorithm, data).digest()).decode()}"


# The root path in the inline script: JSON, with every character that means something to HTML escaped.


@pytest.mark.parametrize("segment", HOSTILE_SEGMENTS)
def test_a_hostile_tenant_segment_stays_a_string_in_the_inline_script(segment: str) -> None:
    page = tenant_page(segment)
    assert page.status_code == 200
    assert segment not in page.text
    assert document_url(page.text).startswith("/")


@pytest.mark.parametrize("root_path", HOSTILE_ROOT_PATHS)
def test_a_hostile_root_path_stays_a_string_in_the_inline_script(root_path: str) -> None:
    app = FastAPI()
    add_asyncapi(app)
    page = TestClient(app, root_path=root_path).get("/asyncapi")
    assert "<script>alert(1)" not in page.text
    assert document_url(page.text).endswith("/asyncapi.json")


def test_the_document_url_is_the_root_path_percent_encoded() -> None:
    page = tenant_client().get("/caf\u00e9 <1>/asyncapi")
    assert document_url(page.text) == "/caf%C3%A9%20%3C1%3E/asyncapi.json"


@pytest.mark.parametrize("segment", ["\\evil.example", "\\\\evil.example"])
def test_a_tenant_segment_cannot_point_the_page_at_another_origin(segment: str) -> None:
    # Browsers read `/\host` as `//host`, a URL on `host` (WHATWG URL: `\` is `/` in http URLs).
    page = tenant_page(segment)
    url = document_url(page.text)
    assert url.startswith("/") and url[1:2] not in ("/", "\\"), url
    assert "\\" not in url


def test_asyncapi_html_escapes_a_hostile_document_url_and_title() -> None:
    page = asyncapi_html("/a.json?</script><!--<script>\u2028", title="</title><script>alert(1)</script>")
    text = page.body.decode()
    assert document_url(text) == "/a.json?</script><!--<script>\u2028"
    assert "<script>alert(1)" not in text


# The component: pinned by its hash, so a CDN or a proxy that changes the file gets it refused by the browser.


def test_the_component_script_carries_the_integrity_hash_of_its_file() -> None:
    page = tenant_client().get("/t/asyncapi").text
    script = tag(page, "script", crossorigin="anonymous")
    assert str(script.get("integrity")).startswith("sha384-")
    stylesheet = tag(page, "link", rel="stylesheet")
    assert (str(stylesheet.get("integrity"))[:7], stylesheet.get("crossorigin")) == ("sha384-", "anonymous")


def node_package_file(url: str) -> Path:
    """The file in `node_modules` that a `https://unpkg.com/<package>@<version>/<path>` URL serves, checked to be
    that version: the one package.json pins and `npm ci` installed."""
    parts = urlsplit(url)
    match = re.fullmatch(r"/((?:@[^/]+/)?[^/@]+)@([^/]+)/(.+)", parts.path)
    assert parts.scheme == "https" and parts.netloc == "unpkg.com" and match is not None, url
    package, version, file = match.groups()
    installed = ROOT / "node_modules" / package
    if not installed.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"{package} is not installed; .ci/run runs `npm ci --ignore-scripts`")
        pytest.skip(f"{package} is not installed; run `npm ci --ignore-scripts` at the repository root")
    pinned = json.loads((ROOT / "package.json").read_text())["devDependencies"][package]
    assert version == pinned == json.loads((installed / "package.json").read_text())["version"], (
        f"the page loads {package}@{version}, package.json pins {pinned}: update the URL and its hash together"
    )
    return installed / file


@pytest.mark.parametrize(("element", "attribute"), [("script", "src"), ("link", "href")])
def test_the_pinned_hash_is_the_one_of_the_file_in_node_modules(element: str, attribute: str) -> None:
    page = tenant_client().get("/t/asyncapi").text
    [attrs] = [attrs for tag, attrs in parsed(page).tags if tag == element and attrs.get(attribute)]
    file = node_package_file(str(attrs[attribute]))
    assert attrs.get("integrity") == sha("sha384", file.read_bytes()), f"{file} changed: pin its new sha384"


# The policy: only the pinned component and this page's own inline script run; the document comes from here.


def test_the_page_sends_a_content_security_policy() -> None:
    page = tenant_client().get("/t/asyncapi")
    directives = policy(page.headers["content-security-policy"])
    script = tag(page.text, "script", crossorigin="anonymous")
    assert directives["default-src"] == ["'none'"]
    assert directives["base-uri"] == ["'none'"]
    assert directives["object-src"] == ["'none'"]
    assert directives["connect-src"] == ["'self'"]
    assert str(script["src"]) in directives["script-src"]
    # The one loosening: the component's bundled ajv compiles validators with `new Function` as it loads.
    assert [source for source in directives["script-src"] if source.startswith("'unsafe")] == ["'unsafe-eval'"]
    assert "*" not in " ".join(directives["script-src"])


@pytest.mark.parametrize("segment", ["t", *HOSTILE_SEGMENTS])
def test_the_policy_allows_exactly_the_inline_script_of_this_page(segment: str) -> None:
    page = tenant_page(segment)
    directives = policy(page.headers["content-security-policy"])
    inline = sha("sha256", inline_script(page.text).encode())
    assert [source for source in directives["script-src"] if source.startswith("'sha")] == [f"'{inline}'"]


@pytest.mark.parametrize(
    ("option", "url"),
    [
        ("script_url", "https://cdn.example/c.js; script-src *"),
        ("script_url", "https://cdn.example/c.js 'unsafe-inline'"),
        ("style_url", "https://cdn.example/c.css,style-src *"),
        ("script_url", "javascript:alert(1)"),
        ("script_url", "data:text/javascript,alert(1)"),
    ],
)
def test_a_url_that_would_rewrite_the_policy_is_refused_when_configured(option: str, url: str) -> None:
    with pytest.raises(ValueError, match=f"{option} must be"):
        add_asyncapi(FastAPI(), **{option: url})
