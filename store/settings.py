"""Settings from the environment, validated once at start.

A bad value stops the process with a message that names the variable, e.g.
``DATABASE_URL: must be a postgresql:// URL, got 'mysql://...'``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from store.errors import SettingsError

VARIABLES = (
    "DATABASE_URL", "REDIS_URL", "CONNECTUS_DATA_DIR", "CONNECTUS_SECRET_KEYS",
    "OPENAI_API_KEY", "OPENAI_BASE_URL", "CONNECTUS_MODEL", "CONNECTUS_DEMO_API_KEY",
    "CONNECTUS_DEMO_PASSWORD",
    "CONNECTUS_ALLOW_PRIVATE_URLS", "CONNECTUS_MAX_BODY_BYTES", "CONNECTUS_ASK_RATE_LIMIT",
    "CONNECTUS_MCP_RATE_LIMIT", "CONNECTUS_METRICS_TOKEN", "CONNECTUS_SLACK_SIGNING_SECRET",
)
_TRUE, _FALSE = {"true", "1", "yes", "on"}, {"false", "0", "no", "off"}
MAX_BODY_BYTES = 1024 * 1024
ASK_RATE_LIMIT = "30/minute"
MCP_RATE_LIMIT = "600/minute"


@dataclass(frozen=True)
class Settings:
    database_url: str | None = None
    redis_url: str | None = None
    data_dir: Path = field(default_factory=lambda: Path(".data"))
    secret_keys: tuple[str, ...] = ()
    openai_api_key: str | None = None
    openai_base_url: str | None = None
    model: str = "offline"
    demo_api_key: str | None = None
    demo_password: str | None = None  # the demo owner's chat password; else one per start
    # provider URLs may reach loopback/private/link-local addresses (a staging mock)
    allow_private_urls: bool = False
    max_body_bytes: int = MAX_BODY_BYTES  # a REST request body; webhooks have their own
    # the Slack app's signing secret: the bot at /slack/events answers only with one
    slack_signing_secret: str | None = field(default=None, repr=False)
    # asks per API key, in the `limits` notation: "30/minute", "500 per hour", "5/second"
    ask_rate_limit: str = ASK_RATE_LIMIT
    # HTTP requests per API key at /mcp (each carries one MCP message), same notation
    mcp_rate_limit: str = MCP_RATE_LIMIT
    # when set, /metrics wants `Authorization: Bearer <token>`; unset, it is open
    metrics_token: str | None = field(default=None, repr=False)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        values = dict(os.environ if env is None else env)

        def get(name: str) -> str | None:
            value = values.get(name, "").strip()
            return value or None

        database_url = get("DATABASE_URL")
        if database_url is not None:
            scheme = urlsplit(database_url).scheme
            if scheme not in {"postgresql", "postgres", "postgresql+psycopg"}:
                raise SettingsError(
                    "DATABASE_URL", f"must be a postgresql:// URL, got scheme {scheme!r}")
        redis_url = get("REDIS_URL")
        if redis_url is not None:
            scheme = urlsplit(redis_url).scheme
            if scheme not in {"redis", "rediss", "unix"}:
                raise SettingsError(
                    "REDIS_URL", f"must be a redis://, rediss:// or unix:// URL, got {scheme!r}")
        keys = tuple(k.strip() for k in (get("CONNECTUS_SECRET_KEYS") or "").split(",")
                     if k.strip())
        for position, key in enumerate(keys, start=1):
            if not _is_fernet_key(key):
                raise SettingsError(
                    "CONNECTUS_SECRET_KEYS",
                    f"key {position} is not a Fernet key (32 url-safe base64-encoded bytes); "
                    "make one with `connectus new-key`")
        base_url = get("OPENAI_BASE_URL")
        if base_url is not None and urlsplit(base_url).scheme not in {"http", "https"}:
            raise SettingsError("OPENAI_BASE_URL", "must be an http:// or https:// URL")
        demo_key = get("CONNECTUS_DEMO_API_KEY")
        if demo_key is not None and len(demo_key) < 20:
            raise SettingsError("CONNECTUS_DEMO_API_KEY", "must be at least 20 characters long")
        demo_password = get("CONNECTUS_DEMO_PASSWORD")
        if demo_password is not None and len(demo_password) < 8:
            raise SettingsError("CONNECTUS_DEMO_PASSWORD", "must be at least 8 characters long")
        allow_private = (get("CONNECTUS_ALLOW_PRIVATE_URLS") or "false").lower()
        if allow_private not in _TRUE | _FALSE:
            raise SettingsError("CONNECTUS_ALLOW_PRIVATE_URLS",
                                f"must be true or false, got {allow_private!r}")
        max_body = get("CONNECTUS_MAX_BODY_BYTES") or str(MAX_BODY_BYTES)
        if not (max_body.isascii() and max_body.isdigit()) or int(max_body) < 1:
            raise SettingsError("CONNECTUS_MAX_BODY_BYTES",
                                f"must be a positive number of bytes, got {max_body!r}")
        ask_rate_limit = _rate(get, "CONNECTUS_ASK_RATE_LIMIT", ASK_RATE_LIMIT)
        mcp_rate_limit = _rate(get, "CONNECTUS_MCP_RATE_LIMIT", MCP_RATE_LIMIT)
        metrics_token = get("CONNECTUS_METRICS_TOKEN")
        if metrics_token is not None and len(metrics_token) < 20:
            raise SettingsError("CONNECTUS_METRICS_TOKEN", "must be at least 20 characters long")
        return cls(
            database_url=database_url,
            redis_url=redis_url,
            data_dir=Path(get("CONNECTUS_DATA_DIR") or ".data").expanduser().resolve(),
            secret_keys=keys,
            openai_api_key=get("OPENAI_API_KEY"),
            openai_base_url=base_url,
            model=get("CONNECTUS_MODEL") or ("gpt-4o-mini" if get("OPENAI_API_KEY") else "offline"),
            demo_api_key=demo_key,
            demo_password=demo_password,
            allow_private_urls=allow_private in _TRUE,
            max_body_bytes=int(max_body),
            slack_signing_secret=get("CONNECTUS_SLACK_SIGNING_SECRET"),
            ask_rate_limit=ask_rate_limit,
            mcp_rate_limit=mcp_rate_limit,
            metrics_token=metrics_token,
        )


def _rate(get: Callable[[str], str | None], name: str, default: str) -> str:
    rate = get(name) or default
    if not _is_rate_limit(rate):
        raise SettingsError(name, "must be a rate such as '30/minute' or '500 per hour', "
                            f"got {rate!r}")
    return rate


def _is_rate_limit(text: str) -> bool:
    from limits import parse_many

    try:
        found = parse_many(text)
    except ValueError:
        return False
    return len(found) == 1 and found[0].amount >= 1


def _is_fernet_key(key: str) -> bool:
    import base64
    import binascii

    try:
        return len(base64.urlsafe_b64decode(key.encode())) == 32
    except (binascii.Error, ValueError):
        return False
