"""Contact details, validated and normalised: e-mail (email-validator, no DNS), phone
(phonenumbers, E.164) and URL."""

from __future__ import annotations

import functools
import re
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from email_validator.rfc_constants import ATEXT, CASE_INSENSITIVE_MAILBOX_NAMES

from jobs.mapping.model import Params, Rule, RuleFailed, register, text_of

# a plain ASCII dot-atom before the @: email-validator keeps such a local part as it is
_PLAIN_ADDRESS = re.compile(rf"([{ATEXT}]+(?:\.[{ATEXT}]+)*)@([A-Za-z0-9.-]+)")
_MAX_LOCAL, _MAX_ADDRESS = 64, 254  # RFC 5321, as email-validator counts them


@functools.lru_cache(maxsize=4096)
def _domain(domain: str) -> str:
    """A domain as email-validator normalises it. Its checks of a domain do not depend on
    the local part, and addresses share few domains, so each is checked once."""
    return validate_email(f"a@{domain}", check_deliverability=False).domain


def normalise_email(text: str) -> str:
    """``validate_email(text).normalized``, with most of its cost cut for the common case
    (a plain ASCII address): the local part is checked by one pattern, the domain once
    per domain. Anything else, and every failure, goes through email-validator whole."""
    plain = _PLAIN_ADDRESS.fullmatch(text)
    if plain is not None and len(plain.group(1)) <= _MAX_LOCAL \
            and len(text) <= _MAX_ADDRESS \
            and plain.group(1).lower() not in CASE_INSENSITIVE_MAILBOX_NAMES:
        try:
            return f"{plain.group(1)}@{_domain(plain.group(2))}"
        except EmailNotValidError:
            pass  # raised again below, with the message for the whole address
    return validate_email(text, check_deliverability=False).normalized


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
            found = normalise_email(text.strip())
        except EmailNotValidError as exc:
            raise RuleFailed(f"not a valid e-mail address: {exc}") from None
        return found.lower() if self.lower else found


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
