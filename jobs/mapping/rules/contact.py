"""Contact details, validated and normalised: e-mail (email-validator, no DNS), phone
(phonenumbers, E.164) and URL."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from jobs.mapping.model import Params, Rule, RuleFailed, register, text_of


@register
class Email(Rule):
    """``{"rule": "email"}``: a valid address, domain lower-cased; ``lower: true`` lower-
    cases the local part too (most providers treat it as case-blind)."""

    name = "email"
    params = ("lower",)

    def __init__(self, params: Params) -> None:
        super().__init__(params)
        self.lower = params.flag("lower", True)

    def apply(self, value: Any) -> Any:
        text = text_of(value, "email")
        if text is None or not text.strip():
            return None
        try:
            found = validate_email(text.strip(), check_deliverability=False)
        except EmailNotValidError as exc:
            raise RuleFailed(f"not a valid e-mail address: {exc}") from None
        return found.normalized.lower() if self.lower else found.normalized


@register
class Phone(Rule):
    """``{"rule": "phone", "region": "DE"}``: E.164 (+4930123456); ``region`` is where
    numbers without a country code are read."""

    name = "phone"
    params = ("region",)

    def __init__(self, params: Params) -> None:
        super().__init__(params)
        self.region = params.text("region", "US").upper()
        if self.region not in phonenumbers.SUPPORTED_REGIONS:
            raise params.fail("region", f"unknown region {self.region!r} (a two-letter "
                                        "country code such as 'DE')")

    def apply(self, value: Any) -> Any:
        text = text_of(value, "phone")
        if text is None or not text.strip():
            return None
        if len(text) > 100:
            raise RuleFailed("is too long for a phone number")
        try:
            number = phonenumbers.parse(text, self.region)
        except phonenumbers.NumberParseException as exc:
            raise RuleFailed(f"not a phone number: {exc}") from None
        if not phonenumbers.is_valid_number(number):
            raise RuleFailed(f"{text[:50]!r} is not a valid phone number")
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@register
class Url(Rule):
    """``{"rule": "url", "default_scheme": "https"}``: an http(s) URL with a host; scheme
    and host lower-cased, ``https://`` added when no scheme is given."""

    name = "url"
    params = ("default_scheme",)

    def __init__(self, params: Params) -> None:
        super().__init__(params)
        self.default_scheme = params.text("default_scheme", "https", choices=("http", "https"))

    def apply(self, value: Any) -> Any:
        text = text_of(value, "url")
        if text is None or not text.strip():
            return None
        text = text.strip()
        if "://" not in text:
            text = f"{self.default_scheme}://{text}"
        try:
            parts = urlsplit(text)
            host = parts.hostname
            port = parts.port
        except ValueError as exc:
            raise RuleFailed(f"not a valid URL: {exc}") from None
        if parts.scheme.lower() not in ("http", "https") or not host \
                or any(c.isspace() for c in text):
            raise RuleFailed(f"{text[:100]!r} is not an http(s) URL with a host")
        netloc = host.lower() if ":" not in host else f"[{host.lower()}]"
        if port is not None:
            netloc += f":{port}"
        if parts.username or parts.password:
            raise RuleFailed("a URL with a user name or password is not accepted")
        return urlunsplit((parts.scheme.lower(), netloc, parts.path or "/", parts.query,
                           parts.fragment))
