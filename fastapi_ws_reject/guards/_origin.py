"""`OriginGuard`: refuse handshakes from pages on other sites (Cross-Site WebSocket Hijacking).

Browsers send cookies with a websocket handshake from any page, and FastAPI's CORSMiddleware does not
apply to websockets, so a cookie-authenticated socket must check `Origin` itself.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass
from types import MappingProxyType

from starlette.requests import HTTPConnection

from .._rejection import WebSocketRejection
from ..policy import Policy
from ._addresses import IPNetwork, address, networks, within
from ._base import Guard

DEFAULT_PORTS = MappingProxyType({"http": 80, "https": 443})
# The page's scheme for each scope scheme, and for each X-Forwarded-Proto value proxies write.
_PAGE_SCHEMES = MappingProxyType({"http": "http", "https": "https", "ws": "http", "wss": "https"})
# RFC 6454 section 6.2: scheme "://" host [":" port], the host in ASCII (IDNs as punycode), an IPv6 address bracketed.
_ORIGIN = re.compile(
    r"(?P<scheme>[A-Za-z]+)://(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*)(?::(?P<port>[1-9][0-9]{0,4}))?"
)
# Suffixes under which strangers register sites (ICANN second levels, and hosts that give anyone a subdomain).
# Not the whole Public Suffix List: a wildcard under a suffix missing here is not refused.
COMMON_PUBLIC_SUFFIXES = frozenset(
    """
    co.uk org.uk me.uk ltd.uk plc.uk net.uk ac.uk gov.uk nhs.uk sch.uk police.uk
    com.au net.au org.au edu.au gov.au id.au asn.au co.nz net.nz org.nz ac.nz govt.nz geek.nz school.nz
    co.jp ne.jp or.jp ac.jp go.jp gr.jp ad.jp ed.jp lg.jp co.kr or.kr ne.kr go.kr ac.kr re.kr pe.kr
    com.cn net.cn org.cn gov.cn edu.cn ac.cn com.hk net.hk org.hk edu.hk gov.hk idv.hk
    com.tw net.tw org.tw idv.tw edu.tw gov.tw com.sg net.sg org.sg edu.sg gov.sg per.sg
    co.in net.in org.in firm.in gen.in ind.in ac.in gov.in edu.in res.in co.id or.id web.id ac.id my.id
    co.th in.th ac.th or.th com.my net.my org.my com.ph net.ph org.ph com.pk net.pk org.pk com.vn net.vn
    co.za org.za net.za gov.za ac.za web.za com.ng org.ng co.ke or.ke com.eg com.sa co.il org.il net.il ac.il
    com.tr net.tr org.tr gov.tr edu.tr gen.tr web.tr com.ua com.pl net.pl org.pl co.at or.at
    com.es org.es nom.es com.pt com.gr com.br net.br org.br gov.br edu.br art.br com.mx net.mx org.mx gob.mx
    edu.mx com.ar net.ar org.ar gob.ar com.co net.co nom.co com.pe
    github.io githubusercontent.com gitlab.io bitbucket.io codeberg.page readthedocs.io
    herokuapp.com vercel.app now.sh netlify.app pages.dev workers.dev r2.dev deno.dev fly.dev onrender.com
    glitch.me repl.co surge.sh ngrok.io ngrok-free.app trycloudflare.com ts.net hf.space pythonanywhere.com
    appspot.com web.app firebaseapp.com run.app cloudfunctions.net blogspot.com
    azurewebsites.net azurestaticapps.net cloudapp.net cloudfront.net s3.amazonaws.com elasticbeanstalk.com
    amplifyapp.com duckdns.org ddns.net dyndns.org
    """.split()  # noqa: SIM905 - a list literal would take a line per suffix
)
# Domains whose hosts, at every depth, are created by the provider's customers: S3 buckets
# (bucket.s3.eu-west-1.amazonaws.com), load balancers, API gateways, Elastic Beanstalk environments
# (env.us-east-1.elasticbeanstalk.com). Their regional public suffixes are too many to list, so no wildcard under
# them is built.
_CUSTOMER_HOSTED_DOMAINS = ("amazonaws.com", "elasticbeanstalk.com")


@dataclass(frozen=True)
class _Origin:
    scheme: str
    host: str  # lowercase; an IPv6 address keeps its brackets
    port: int

    @classmethod
    def parse(cls, value: str) -> _Origin | None:
        """An `Origin` exactly as RFC 6454 serialises it (scheme://host[:port]), or None for anything else.

        Nothing is repaired: urlsplit drops tabs and newlines anywhere and reads the port '03000' as
        3000, which turned look-alikes such as 'http://local\\thost:03000' into an allowed origin.
        """
        match = _ORIGIN.fullmatch(value)
        if match is None:
            return None
        scheme, host, port = match["scheme"].lower(), match["host"].lower(), match["port"]
        if scheme not in DEFAULT_PORTS or (port is not None and int(port) > 65535):
            return None
        if host.startswith("[") and _serialised_ipv6(host[1:-1]) != host[1:-1]:
            return None
        return cls(scheme, host, int(port) if port else DEFAULT_PORTS[scheme])


def _serialised_ipv6(text: str) -> str | None:
    # Browsers serialise an IPv6 host compressed and in lowercase (WHATWG URL, IPv6 serializer); other spellings
    # are not what a browser sends.
    try:
        return str(ipaddress.IPv6Address(text))
    except ValueError:
        return None


@dataclass(frozen=True)
class _Pattern:
    scheme: str
    suffix: str  # ".example.com" for "*.example.com", else the exact host
    wildcard: bool
    port: int

    @classmethod
    def parse(cls, allowed: str) -> _Pattern:
        wildcard = "://*." in allowed
        concrete = allowed.replace("://*.", "://wildcard.", 1)
        if "*" in concrete:
            raise ValueError(f"{allowed!r} has a '*' that is not a leading '*.' label; use 'https://*.example.com'.")
        origin = _Origin.parse(concrete)
        if origin is None:
            raise ValueError(_not_an_origin(allowed))
        if not wildcard:
            return cls(origin.scheme, origin.host, False, origin.port)
        domain = origin.host.removeprefix("wildcard.")
        if "." not in domain:
            raise ValueError(
                f"{allowed!r} matches every host under a top-level domain; name the site: 'https://*.example.com'."
            )
        refusal = _wildcard_refusal(allowed, origin.scheme, domain)
        if refusal is not None:
            raise ValueError(refusal)
        return cls(origin.scheme, "." + domain, True, origin.port)

    def matches(self, origin: _Origin) -> bool:
        if (origin.scheme, origin.port) != (self.scheme, self.port):
            return False
        # A parsed host has no empty label, so whatever precedes the suffix is one or more whole labels.
        return origin.host.endswith(self.suffix) if self.wildcard else origin.host == self.suffix


def _wildcard_refusal(allowed: str, scheme: str, domain: str) -> str | None:
    """Why `*.domain` would match hosts that strangers create, and the fix; None when it would not (that we know)."""
    if domain in COMMON_PUBLIC_SUFFIXES:
        return (
            f"{allowed!r} matches every site registered under the public suffix {domain!r}, most of them someone "
            f"else's; list exact origins ('{scheme}://app.example.{domain}'), or use a wildcard under your own "
            f"registrable domain ('{scheme}://*.example.{domain}')."
        )
    # '*.' spans several labels, so a wildcard above a public suffix matches every site registered under it too.
    below = sorted(suffix for suffix in COMMON_PUBLIC_SUFFIXES if suffix.endswith("." + domain))
    hosted = [hosted for hosted in _CUSTOMER_HOSTED_DOMAINS if f".{domain}".endswith("." + hosted)]
    if below:
        why = f"also matches every site registered under the public suffix {below[0]!r}, most of them someone else's"
        yours = f"your-site.{below[0]}"
    elif hosted:
        why = f"matches hosts that anyone can create under {hosted[0]!r}, whose subdomains at any depth are customers'"
        yours = f"your-site.{domain}"
    else:
        return None
    return (
        f"{allowed!r} {why}; list exact origins ('{scheme}://{yours}'), or use a wildcard under your own registrable "
        f"domain ('{scheme}://*.app.example.com')."
    )


def _not_an_origin(allowed: str) -> str:
    expected = (
        f"{allowed!r} is not an origin; write scheme://host[:port] with no path, such as 'https://example.com', "
        "'http://localhost:3000' or 'https://*.example.com'"
    )
    if not allowed.isascii():
        return f"{expected}. Origins are ASCII: write an internationalised host in punycode ('xn--bcher-kva.example')."
    bracketed = re.search(r"\[([^\]]*)\]", allowed)
    ipv6 = _serialised_ipv6(bracketed[1]) if bracketed else None
    if bracketed and ipv6 is not None and ipv6 != bracketed[1].lower():
        return f"{expected}. Write the IPv6 address as browsers serialise it: '[{ipv6}]'."
    return f"{expected}. The host is letters, digits, '-' and '.'; the port is 1-65535 without a leading zero."


class OriginGuard(Guard["str | None"]):
    """Allow handshakes whose `Origin` is listed (or, with `same_origin`, is the server's own origin).

    ```python
    origins = OriginGuard(["https://app.example.com", "https://*.example.com"], allow_missing=False)

    @router.websocket("/ws", dependencies=[Depends(origins)])
    async def ws(websocket: WebSocket): ...
    ```

    Scheme and port must match exactly (a missing port is the scheme's default); `*.` matches one or
    more subdomain labels, never the bare domain and never `example.com.evil.test`. An `Origin` is read
    strictly as browsers write it (scheme://host[:port], compared without case, IDNs in punycode):
    anything else, or a second `Origin` header, is refused, never repaired. `allow_missing`
    is required: a handshake without `Origin` comes from a non-browser client (`True` lets those in,
    `False` refuses them). `"*"` allows any origin, for endpoints that do not use cookies.

    A wildcard over a public suffix (`*.co.uk`, `*.github.io`), or above one (`*.amazonaws.com` is above
    `s3.amazonaws.com`), is refused when built. The built-in list of suffixes is short, not the Public
    Suffix List: exact origins are the safe choice.

    `same_origin` compares scheme, host and port with the handshake's own (`ws` is `http`, `wss` is
    `https`, the host from `Host`). Behind a TLS-terminating proxy, list the proxy in `trusted_proxies`
    (addresses or CIDR ranges): its `X-Forwarded-Proto` (the last value, which the nearest proxy wrote)
    then gives the scheme. Refuses with 403 (`rejection` overrides); the log line names the refused
    origin. Returns the origin.
    """

    def __init__(
        self,
        allowed: Iterable[str] = (),
        *,
        allow_missing: bool,
        same_origin: bool = False,
        trusted_proxies: Iterable[str] = (),
        rejection: WebSocketRejection | None = None,
        policy: Policy | None = None,
    ) -> None:
        if isinstance(allowed, str):
            raise TypeError(f"allowed must be a list of origins, not a string; write [{allowed!r}].")
        entries = list(allowed)
        self.any_origin: bool = "*" in entries
        self.patterns: list[_Pattern] = [_Pattern.parse(entry) for entry in entries if entry != "*"]
        if not entries and not same_origin:
            raise ValueError("OriginGuard allows no origin; list origins, or set same_origin=True.")
        self.trusted_proxies: tuple[IPNetwork, ...] = networks("trusted_proxies", trusted_proxies)
        if self.trusted_proxies and not same_origin:
            raise ValueError(
                "trusted_proxies only tells same_origin which scheme the browser used; set same_origin=True, "
                "or drop trusted_proxies."
            )
        self.allow_missing = allow_missing
        self.same_origin = same_origin
        super().__init__(rejection=rejection, policy=policy)

    def make_rejection(self) -> WebSocketRejection:
        return WebSocketRejection(403, "origin not allowed")

    async def check(self, connection: HTTPConnection) -> str | None:
        # What `connection.headers.getlist("origin")` gives, without building the Headers on every refusal.
        raw: list[tuple[bytes, bytes]] = connection.scope["headers"]
        values = [value.decode("latin-1") for name, value in raw if name == b"origin"]
        if not values:
            if self.allow_missing:
                return None
            self.refuse(connection, "no Origin header")
        if len(values) > 1:
            # RFC 6454 section 7.3: a user agent sends at most one Origin; which one would a proxy or app read?
            self.refuse(connection, f"{len(values)} Origin headers")
        value = values[0]
        if self.any_origin:
            return value
        origin = _Origin.parse(value)
        if origin is not None and (
            any(pattern.matches(origin) for pattern in self.patterns)
            or (self.same_origin and origin == self._server_origin(connection))
        ):
            return value
        self.refuse(connection, f"origin {value!r} not allowed")

    def _server_origin(self, connection: HTTPConnection) -> _Origin | None:
        hosts = connection.headers.getlist("host")
        scheme = self._page_scheme(connection)
        if len(hosts) != 1 or scheme is None:
            return None
        return _Origin.parse(f"{scheme}://{hosts[0]}")

    def _page_scheme(self, connection: HTTPConnection) -> str | None:
        forwarded = connection.headers.getlist("x-forwarded-proto")
        if not forwarded or not self._from_trusted_proxy(connection):
            return _PAGE_SCHEMES.get(connection.scope.get("scheme", "ws"))
        # Each proxy appends; the last value is the one the proxy that talks to us wrote, the others came in.
        nearest = ",".join(forwarded).rsplit(",", 1)[-1].strip().lower()
        return _PAGE_SCHEMES.get(nearest)

    def _from_trusted_proxy(self, connection: HTTPConnection) -> bool:
        peer = address(connection.client.host) if connection.client else None
        return peer is not None and within(peer, self.trusted_proxies)
