"""In-memory state of the Mxit sandbox: apps, tokens, users, messages, media, faults and stats.

Everything lives in one process and is only touched from the server's event loop, so no locks.
Memory is kept small where volume is large:

* users created by count are *generated*: their UserId, MxitId and profile are derived from an
  index, and only what changes is stored (``overrides``), so a million users cost a few bytes each;
* the outbox stores each message body once and its recipients as 4-byte user indexes in one
  ``array('I')``, so a million deliveries cost about 4 MB plus the messages themselves.
"""

from __future__ import annotations

import fnmatch
import random
import secrets
import time
import uuid
from array import array
from dataclasses import asdict, dataclass
from typing import Any

from mxit_tasks._media import tiny_png

ALL_SCOPES = frozenset(
    {
        "profile/public",
        "profile/private",
        "profile/write",
        "status/write",
        "avatar/write",
        "message/send",
        "message/user",
        "graph/read",
        "contact/invite",
        "contact/recommend",
        "content/read",
        "content/write",
        "content/send",
        "openid",
    }
)

DEMO_CLIENT_ID = "6d78697464656d6f636c69656e743031"
DEMO_CLIENT_SECRET = "73616e64626f782d7365637265742121"
DEMO_SERVICE_NAME = "mxitdemo"

USER_ID_BASE = (
    40_000_000_000  # generated UserIds are "m" + 11 digits: m40000000000, m40000000001...
)
DEFAULT_AVATAR = tiny_png((0x99, 0x99, 0x99))
_FIRST_NAMES = ("Thabo", "Lerato", "Sipho", "Naledi", "Johan", "Ayanda", "Pieter", "Zanele")
_REGISTERED_MS = 1_356_998_400_000  # 2013-01-01, the heyday of the API

SUBSCRIPTION = {"N": 78, "B": 66, "P": 80, "A": 65, "D": 68, "R": 82}
CONTACT_FILTERS = {
    "@all",
    "@friends",
    "@apps",
    "@invites",
    "@connections",
    "@rejected",
    "@pending",
    "@deleted",
    "@blocked",
}
PROFILE_WRITABLE = {
    "AboutMe": str,
    "DisplayName": str,
    "Email": str,
    "FirstName": str,
    "Gender": int,
    "LastName": str,
    "MobileNumber": str,
    "RelationshipStatus": int,
    "Title": str,
    "WhereAmI": str,
}
ENUM_RANGES = {"Gender": range(0, 2), "RelationshipStatus": range(0, 10)}


class SandboxError(Exception):
    """An HTTP error answered by the sandbox as ``{"error", "error_description"}``."""

    def __init__(
        self,
        status: int,
        error: str,
        description: str,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(status, error, description, headers, extra)
        self.status = status
        self.error = error
        self.description = description
        self.headers = headers or {}
        self.extra = extra or {}

    def body(self) -> dict[str, Any]:
        """The JSON error body."""
        return {"error": self.error, "error_description": self.description, **self.extra}


def wcf_date(ms: int) -> str:
    """Format epoch milliseconds as a WCF JSON date, ``/Date(ms+0200)/``."""
    return f"/Date({ms}+0200)/"


@dataclass
class Config:
    """Sandbox limits and lifetimes (contract §4.2); changeable at run time via /_emulator/config."""

    max_recipients: int = 500
    max_body_chars: int = 1000
    max_upload_bytes: int = 1024 * 1024
    max_status_chars: int = 250
    token_ttl: int = 3600
    refresh_ttl: int = 86400
    code_ttl: int = 600
    spool_default: bool = True
    spool_timeout_default: int = 604800
    contact_page_max: int = 26
    count_plus_one: bool = False
    rate_limit_per_s: float = 0.0  # 0 = off; per-client token bucket over every API call
    rate_limit_burst: int = 0


@dataclass(slots=True)
class App:
    """A registered client application."""

    client_id: str
    client_secret: str
    service_name: str


@dataclass(slots=True)
class Token:
    """An access token: an app token (user is None) or a user token."""

    client_id: str
    scopes: frozenset[str]
    user: int | None
    expires_at: float
    revoked: bool = False

    @property
    def kind(self) -> str:
        """``"user"`` or ``"app"``."""
        return "app" if self.user is None else "user"


@dataclass(slots=True)
class Grant:
    """A refresh token or an authorization code."""

    client_id: str
    scopes: tuple[str, ...]
    user: int
    expires_at: float
    redirect_uri: str = ""
    used: bool = False


@dataclass(slots=True)
class Message:
    """One accepted send: the body is stored once, recipients are a slice of the outbox array."""

    seq: int
    ts: float
    client_id: str
    sender: str
    body: str
    contains_markup: bool
    spool: bool
    spool_timeout: int
    links: list[dict[str, Any]]
    start: int
    count: int


@dataclass(slots=True)
class GalleryFile:
    """A file in a user's gallery."""

    file_id: str
    owner: int
    folder: str
    name: str
    mime: str
    data: bytes
    prevent_share: bool = False


@dataclass
class FaultRule:
    """Faults injected on requests whose ``METHOD /path`` or ``/path`` matches ``pattern``."""

    pattern: str
    rate_limit_per_s: float = 0.0
    burst: int = 1
    error_rate: float = 0.0
    error_status: int = 503
    retry_after: float | None = None
    latency_ms: float = 0.0
    timeout_rate: float = 0.0
    hold_ms: float = 30_000.0
    drop_after_processing_rate: float = 0.0
    times: int | None = None  # apply error/timeout/drop this many times at most, then stop
    applied: int = 0

    def matches(self, method: str, path: str) -> bool:
        """Whether this rule applies to the request."""
        return fnmatch.fnmatchcase(f"{method} {path}", self.pattern) or fnmatch.fnmatchcase(
            path, self.pattern
        )

    def public(self) -> dict[str, Any]:
        """The rule as shown by GET /_emulator/faults."""
        return asdict(self)


class Users:
    """Users, generated by index or created explicitly, with only their changes stored."""

    def __init__(self) -> None:
        self.count = 0
        self.overrides: dict[int, dict[str, Any]] = {}
        self.by_user_id: dict[str, int] = {}  # explicit UserIds only
        self.by_mxit_id: dict[str, int] = {}  # explicit MxitIds only
        self.custom_ids: set[int] = set()

    def add_generated(self, n: int) -> range:
        """Create ``n`` generated users and return their index range."""
        start = self.count
        self.count += n
        return range(start, self.count)

    def add_explicit(self, spec: dict[str, Any]) -> int:
        """Create one user from a spec; unknown keys are ignored, ids must be unique."""
        idx = self.count
        user_id = spec.get("user_id") or spec.get("UserId")
        mxit_id = spec.get("mxit_id") or spec.get("MxitId")
        if user_id is not None:
            if not isinstance(user_id, str) or not user_id or "," in user_id:
                raise SandboxError(400, "invalid_request", "user_id must be a non-empty string")
            if self.index(user_id) is not None:
                raise SandboxError(409, "conflict", f"user {user_id} already exists")
        if mxit_id is not None and (not isinstance(mxit_id, str) or not mxit_id):
            raise SandboxError(400, "invalid_request", "mxit_id must be a non-empty string")
        if mxit_id is not None and self.index(mxit_id) is not None:
            raise SandboxError(409, "conflict", f"user {mxit_id} already exists")
        self.count += 1
        over: dict[str, Any] = {}
        if user_id:
            over["UserId"] = user_id
            self.by_user_id[user_id] = idx
            self.custom_ids.add(idx)
        if mxit_id:
            over["MxitId"] = mxit_id
            self.by_mxit_id[mxit_id] = idx
            self.custom_ids.add(idx)
        self.overrides[idx] = over
        return idx

    def user_id(self, idx: int) -> str:
        """The UserId of user ``idx``."""
        over = self.overrides.get(idx)
        if over and "UserId" in over:
            return over["UserId"]
        return f"m{USER_ID_BASE + idx}"

    def mxit_id(self, idx: int) -> str:
        """The MxitId (login name) of user ``idx``."""
        over = self.overrides.get(idx)
        if over and "MxitId" in over:
            return over["MxitId"]
        return f"user{idx:07d}"

    def index(self, ident: str) -> int | None:
        """Index of the user with this UserId or MxitId, or None. Gone users are still found."""
        idx = self.by_user_id.get(ident)
        if idx is None:
            idx = self.by_mxit_id.get(ident)
        if idx is not None:
            return idx
        if ident.startswith("m") and len(ident) == 12 and ident[1:].isdigit():
            idx = int(ident[1:]) - USER_ID_BASE
        elif ident.startswith("user") and len(ident) == 11 and ident[4:].isdigit():
            idx = int(ident[4:])
        else:
            return None
        if 0 <= idx < self.count and idx not in self.custom_ids:
            return idx
        return None

    def live(self, ident: str) -> int | None:
        """Index of an existing, not-gone user, or None."""
        idx = self.index(ident)
        if idx is None or self.overrides.get(idx, {}).get("gone"):
            return None
        return idx

    def get(self, idx: int, key: str, default: Any = None) -> Any:
        """A stored override of user ``idx``."""
        return self.overrides.get(idx, {}).get(key, default)

    def set(self, idx: int, **values: Any) -> None:
        """Store overrides for user ``idx``."""
        self.overrides.setdefault(idx, {}).update(values)

    def display_name(self, idx: int) -> str:
        """DisplayName of user ``idx``."""
        return self.get(idx, "DisplayName") or f"{_FIRST_NAMES[idx % len(_FIRST_NAMES)]} {idx}"

    def status(self, idx: int) -> str:
        """Status message of user ``idx``."""
        status = self.get(idx, "StatusMessage")
        return status if status is not None else f"Hello from {self.display_name(idx)}"

    def state(self, idx: int) -> dict[str, Any]:
        """The State object of user ``idx``."""
        modified = self.get(idx, "status_modified_ms", _REGISTERED_MS)
        return {
            "Availability": 1,
            "IsOnline": idx % 3 == 0,
            "LastModified": wcf_date(modified),
            "LastOnline": wcf_date(_REGISTERED_MS + idx * 1000),
            "Mood": idx % 16,
            "StatusMessage": self.status(idx),
        }

    def base(self, idx: int) -> dict[str, Any]:
        """The base user object (Contact and suggestion start)."""
        return {
            "DisplayName": self.display_name(idx),
            "AvatarId": self.get(idx, "AvatarId") or "",
            "State": self.state(idx),
            "UserId": self.user_id(idx),
        }

    def basic_profile(self, idx: int) -> dict[str, Any]:
        """The BasicProfile of user ``idx``."""
        first = self.display_name(idx).split(" ")[0]
        profile = self.base(idx)
        g = self.get
        profile.update(
            {
                "AboutMe": g(idx, "AboutMe", ""),
                "Age": 18 + idx % 40,
                "FirstName": g(idx, "FirstName", first),
                "Gender": g(idx, "Gender", idx % 2),
                "LanguageCode": "en",
                "LastKnownCountryCode": "ZA",
                "LastName": g(idx, "LastName", f"Surname{idx}"),
                "NetworkOperatorCode": "65501",
                "RegisteredCountryCode": "ZA",
                "RegistrationDate": wcf_date(_REGISTERED_MS),
                "StatusMessage": self.status(idx),
                "Title": g(idx, "Title", ""),
            }
        )
        return profile

    def full_profile(self, idx: int) -> dict[str, Any]:
        """The FullProfile of user ``idx``."""
        profile = self.basic_profile(idx)
        g = self.get
        profile.update(
            {
                "CurrentCultureName": "en-ZA",
                "DateOfBirth": wcf_date(_REGISTERED_MS - (18 + idx % 40) * 31_557_600_000),
                "Email": g(idx, "Email", f"{self.mxit_id(idx)}@example.org"),
                "MobileNumber": g(idx, "MobileNumber", f"2782{idx:07d}"),
                "RelationshipStatus": g(idx, "RelationshipStatus", 0),
                "WhereAmI": g(idx, "WhereAmI", ""),
            }
        )
        return profile

    def public(self, idx: int) -> dict[str, Any]:
        """The user as shown by the inspection API."""
        return {
            "UserId": self.user_id(idx),
            "MxitId": self.mxit_id(idx),
            "DisplayName": self.display_name(idx),
            "StatusMessage": self.status(idx),
            "gone": bool(self.get(idx, "gone")),
            "has_avatar": self.get(idx, "avatar") is not None,
        }


class Stats:
    """Counters by route and status, deliveries, duplicates and per-second send counts."""

    def __init__(self) -> None:
        self.routes: dict[str, dict[str, int]] = {}
        self.messages_delivered = 0
        self.recipients_delivered = 0
        self.duplicate_deliveries = 0
        self.invalid_recipients = 0
        self.not_subscribed = 0
        self.sends_per_second: dict[int, int] = {}
        self.recipients_per_second: dict[int, int] = {}

    def count(self, route: str, status: int) -> None:
        """Count one answered request."""
        by_status = self.routes.setdefault(route, {})
        key = str(status)
        by_status[key] = by_status.get(key, 0) + 1

    def count_send(self, now: float, recipients: int) -> None:
        """Count one accepted send in its second."""
        sec = int(now)
        self.sends_per_second[sec] = self.sends_per_second.get(sec, 0) + 1
        self.recipients_per_second[sec] = self.recipients_per_second.get(sec, 0) + recipients
        if len(self.sends_per_second) > 7200:  # keep two hours
            for old in sorted(self.sends_per_second)[:-3600]:
                self.sends_per_second.pop(old, None)
                self.recipients_per_second.pop(old, None)

    def public(self) -> dict[str, Any]:
        """The stats as served by GET /_emulator/stats."""
        return {
            "routes": self.routes,
            "messages_delivered": self.messages_delivered,
            "recipients_delivered": self.recipients_delivered,
            "duplicate_deliveries": self.duplicate_deliveries,
            "invalid_recipients": self.invalid_recipients,
            "not_subscribed": self.not_subscribed,
            "sends_per_second": {str(k): v for k, v in sorted(self.sends_per_second.items())},
            "recipients_per_second": {
                str(k): v for k, v in sorted(self.recipients_per_second.items())
            },
        }


class State:
    """The whole sandbox state. ``reset()`` brings it back to a fresh start."""

    def __init__(self, users: int = 1000, apps: list[App] | None = None) -> None:
        self._initial_users = users
        self._initial_apps = list(apps or [])
        self.reset()

    def reset(self) -> None:
        """Forget all state and faults, then create the demo app(s) and the initial users."""
        self.config = Config()
        self.apps: dict[str, App] = {}
        self.add_app(App(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_SERVICE_NAME))
        for app in self._initial_apps:
            self.add_app(app)
        self.tokens: dict[str, Token] = {}
        self.refresh_tokens: dict[str, Grant] = {}
        self.codes: dict[str, Grant] = {}
        self.issued_refresh: list[str] = []  # every refresh token ever issued (secret scans)
        self.users = Users()
        self.users.add_generated(self._initial_users)
        self.messages: list[Message] = []
        self.deliveries = array("I")
        self._content_ids: dict[tuple[str, str], int] = {}
        self._content_seen: list[set[int] | bytearray] = []
        self.contacts: dict[int, dict[str, dict[str, Any]]] = {}
        # users whose apps are explicit: index -> lower-cased service names (others have all apps)
        self.rosters: dict[int, set[str]] = {}
        self.galleries: dict[int, dict[str, list[str]]] = {}
        self.files: dict[str, GalleryFile] = {}
        self.offers: list[dict[str, Any]] = []
        self.stats = Stats()
        self.faults: list[FaultRule] = []
        self.rng = random.Random()
        self._buckets: dict[tuple[str, str], tuple[float, float]] = {}

    # ---- apps and tokens -------------------------------------------------------------------

    def add_app(self, app: App) -> App:
        """Register (or replace) an app."""
        self.apps[app.client_id] = app
        return app

    def app_by_service(self, name: str) -> App | None:
        """The app whose service name is ``name``."""
        for app in self.apps.values():
            if app.service_name.lower() == name.lower():
                return app
        return None

    def issue_token(
        self, client_id: str, scopes: frozenset[str], user: int | None, ttl: int | None = None
    ) -> tuple[str, Token]:
        """Create an access token."""
        value = secrets.token_hex(16)
        ttl = self.config.token_ttl if ttl is None else ttl
        token = Token(client_id, scopes, user, time.time() + ttl)
        self.tokens[value] = token
        return value, token

    def issue_refresh(self, client_id: str, scopes: tuple[str, ...], user: int) -> str:
        """Create a refresh token (user grants only)."""
        value = secrets.token_hex(16)
        self.issued_refresh.append(value)
        expires = time.time() + self.config.refresh_ttl
        self.refresh_tokens[value] = Grant(client_id, scopes, user, expires)
        return value

    def issue_code(self, client_id: str, scopes: tuple[str, ...], user: int, redirect: str) -> str:
        """Create a single-use authorization code."""
        value = secrets.token_hex(16)
        expires = time.time() + self.config.code_ttl
        self.codes[value] = Grant(client_id, scopes, user, expires, redirect)
        return value

    # ---- messaging -------------------------------------------------------------------------

    def deliver(
        self,
        client_id: str,
        sender: str,
        body: str,
        recipients: list[str],
        *,
        contains_markup: bool,
        spool: bool,
        spool_timeout: int,
        links: list[dict[str, Any]],
        app_service: str | None,
    ) -> tuple[list[str], int]:
        """Deliver one message; return (unknown recipient ids, recipients delivered).

        Valid recipients are delivered even when some are unknown (contract §3.2). Recipients who
        have not added the sending app are dropped silently and counted as ``not_subscribed``.
        """
        users = self.users
        index = users.live
        invalid: list[str] = []
        idxs: list[int] = []
        seen_here: set[int] = set()
        restricted = self.rosters if app_service else None
        for rid in recipients:
            idx = index(rid)
            if idx is None:
                invalid.append(rid)
            elif idx not in seen_here:
                seen_here.add(idx)
                if restricted and idx in restricted and app_service.lower() not in restricted[idx]:
                    self.stats.not_subscribed += 1
                    continue
                idxs.append(idx)
        now = time.time()
        if idxs:
            key = (sender, body)
            cid = self._content_ids.get(key)
            if cid is None:
                cid = len(self._content_seen)
                self._content_ids[key] = cid
                self._content_seen.append(set())
            self._count_duplicates(cid, idxs)
            start = len(self.deliveries)
            self.deliveries.extend(idxs)
            seq = len(self.messages) + 1
            self.messages.append(
                Message(
                    seq,
                    now,
                    client_id,
                    sender,
                    body,
                    contains_markup,
                    spool,
                    spool_timeout,
                    links,
                    start,
                    len(idxs),
                )
            )
            self.stats.messages_delivered += 1
            self.stats.recipients_delivered += len(idxs)
        self.stats.invalid_recipients += len(invalid)
        self.stats.count_send(now, len(idxs))
        return invalid, len(idxs)

    def _count_duplicates(self, cid: int, idxs: list[int]) -> None:
        """Count recipients that already received this From+Body, and remember the rest."""
        seen = self._content_seen[cid]
        if isinstance(seen, set):
            dup = len(seen.intersection(idxs))
            seen.update(idxs)
            if len(seen) > 4096:  # switch to a flag per user: 1 byte each, no per-item objects
                flags = bytearray(self.users.count)
                for i in seen:
                    flags[i] = 1
                self._content_seen[cid] = flags
        else:
            if len(seen) < self.users.count:
                seen.extend(bytes(self.users.count - len(seen)))
            dup = 0
            for i in idxs:
                if seen[i]:
                    dup += 1
                else:
                    seen[i] = 1
        self.stats.duplicate_deliveries += dup

    def outbox(
        self, to: str | None, sender: str | None, since: int, limit: int
    ) -> list[dict[str, Any]]:
        """Delivered messages after sequence ``since``, optionally for one recipient or sender."""
        want = None
        if to:
            want = self.users.index(to)
            if want is None:
                return []
        out: list[dict[str, Any]] = []
        for msg in self.messages[max(since, 0) :]:
            if sender and msg.sender != sender:
                continue
            recips = self.deliveries[msg.start : msg.start + msg.count]
            if want is not None and want not in recips:
                continue
            out.append(self.message_public(msg, recips))
            if len(out) >= limit:
                break
        return out

    def message_public(self, msg: Message, recips: array) -> dict[str, Any]:
        """A message as served by the outbox."""
        uid = self.users.user_id
        return {
            "seq": msg.seq,
            "ts": msg.ts,
            "from": msg.sender,
            "body": msg.body,
            "contains_markup": msg.contains_markup,
            "spool": msg.spool,
            "spool_timeout": msg.spool_timeout,
            "links": msg.links,
            "recipients": msg.count,
            "to": [uid(i) for i in recips],
        }

    # ---- contacts --------------------------------------------------------------------------

    def contact_book(self, idx: int) -> dict[str, dict[str, Any]]:
        """The contacts of user ``idx`` (generated users start with two friends)."""
        book = self.contacts.get(idx)
        if book is None:
            book = {}
            for other in (idx - 1, idx + 1):
                if 0 <= other < self.users.count:
                    book[f"u{other}"] = {"user": other, "sub": "B", "group": "Friends"}
            self.contacts[idx] = book
        return book

    def apps_of(self, idx: int) -> list[App]:
        """Apps user ``idx`` has added."""
        allowed = self.rosters.get(idx)
        if allowed is None:
            return list(self.apps.values())
        return [a for a in self.apps.values() if a.service_name.lower() in allowed]

    # ---- gallery ---------------------------------------------------------------------------

    def gallery(self, idx: int) -> dict[str, list[str]]:
        """Folder name -> file ids of user ``idx``; every user starts with a ``Default`` folder."""
        folders = self.galleries.get(idx)
        if folders is None:
            folders = {"Default": []}
            self.galleries[idx] = folders
        return folders

    def add_file(self, owner: int, folder: str, name: str, mime: str, data: bytes) -> GalleryFile:
        """Store a file in a folder (which must exist)."""
        file = GalleryFile(str(uuid.uuid4()), owner, folder, name, mime, data)
        self.files[file.file_id] = file
        self.gallery(owner)[folder].append(file.file_id)
        return file

    # ---- faults ----------------------------------------------------------------------------

    def faults_for(self, method: str, path: str) -> list[FaultRule]:
        """Fault rules that apply to this request."""
        return [r for r in self.faults if r.matches(method, path)] if self.faults else []

    def take_token(self, key: tuple[str, str], rate: float, burst: int) -> float:
        """Token bucket: 0.0 when a request may pass now, else seconds until it may."""
        now = time.monotonic()
        capacity = max(burst, 1)
        tokens, last = self._buckets.get(key, (float(capacity), now))
        tokens = min(capacity, tokens + (now - last) * rate)
        if tokens >= 1.0:
            self._buckets[key] = (tokens - 1.0, now)
            return 0.0
        self._buckets[key] = (tokens, now)
        return (1.0 - tokens) / rate
