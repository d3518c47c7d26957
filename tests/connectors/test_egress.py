"""The egress guard: provider URLs may not reach loopback, private, link-local, multicast,
metadata or unspecified addresses, judged after DNS resolution; the sandbox this process
started and CONNECTUS_ALLOW_PRIVATE_URLS are the only ways round it."""

import pytest

from connectors import egress
from connectors.egress import EgressRefused, check_public_url

REFUSED = [
    ("http://127.0.0.1:8765/", "127.0.0.1 is a loopback address"),
    ("http://127.1/", "loopback"),
    ("http://2130706433/", "loopback"),  # 127.0.0.1 as one decimal number
    ("http://0x7f000001/", "loopback"),
    ("http://localhost:9/", "loopback"),  # a name: judged by what it resolves to
    ("http://[::1]/", "loopback"),
    ("http://[::ffff:127.0.0.1]/", "loopback"),
    ("http://10.1.2.3/", "private"),
    ("http://172.16.0.1/", "private"),
    ("http://192.168.0.10/", "private"),
    ("http://[fd12:3456::1]/", "private"),
    ("http://100.64.0.1/", "not a public address"),  # carrier-grade NAT
    ("http://169.254.169.254/latest/meta-data/", "cloud metadata"),
    ("http://[fd00:ec2::254]/", "cloud metadata"),
    ("http://100.100.100.200/", "cloud metadata"),
    ("http://169.254.10.1/", "link-local"),
    ("http://[fe80::1]/", "link-local"),
    ("http://224.0.0.1/", "multicast"),
    ("http://[ff02::1]/", "multicast"),
    ("http://0.0.0.0:8000/", "unspecified"),
    ("http://[::]/", "unspecified"),
    ("http://[64:ff9b::a9fe:a9fe]/", "cloud metadata"),  # NAT64 of 169.254.169.254
]


@pytest.mark.parametrize(("url", "why"), REFUSED)
async def test_non_public_addresses_are_refused_with_the_field_and_the_reason(
        url: str, why: str) -> None:
    with pytest.raises(EgressRefused) as refused:
        await check_public_url(url, field="settings.base_url", allow_private=False)
    message = refused.value.message
    assert message.startswith("settings.base_url: ")
    assert why in message
    assert "CONNECTUS_ALLOW_PRIVATE_URLS=true" in message
    assert refused.value.details[0]["field"] == "settings.base_url"


@pytest.mark.parametrize("url", ["https://93.184.216.34/v1", "https://[2606:4700:4700::1111]/",
                                 "https://no-such-host.invalid/"])
async def test_public_or_unresolvable_addresses_pass(url: str) -> None:
    # a name that does not resolve cannot be reached either: the call fails as an outage
    await check_public_url(url, field="settings.base_url", allow_private=False)


async def test_the_operator_may_allow_private_addresses() -> None:
    await check_public_url("http://127.0.0.1:1/", field="settings.base_url", allow_private=True)
    await check_public_url("http://169.254.169.254/", field="x", allow_private=True)


async def test_only_this_process_s_own_sandbox_is_let_through() -> None:
    own = "http://127.0.0.1:45678"
    await check_public_url(own + "/hubspot", field="f", allow_private=False, allowed=[own])
    for other in ("http://127.0.0.1:45679/", "https://127.0.0.1:45678/",
                  "http://localhost:45678/"):
        with pytest.raises(EgressRefused):
            await check_public_url(other, field="f", allow_private=False, allowed=[own])


async def test_registering_the_sandbox_this_process_started() -> None:
    url = "http://127.0.0.1:45670"
    with pytest.raises(EgressRefused):
        await check_public_url(url, field="f", allow_private=False,
                               allowed=egress.own_sandboxes())
    egress.register_own_sandbox(url)
    try:
        await check_public_url(url + "/slack/api", field="f", allow_private=False,
                               allowed=egress.own_sandboxes())
    finally:
        egress.forget_own_sandbox(url)
    assert url not in egress.own_sandboxes()


@pytest.mark.parametrize("url", ["ftp://example.com/", "file:///etc/passwd", "http:///x",
                                 "gopher://127.0.0.1/"])
async def test_only_http_urls_with_a_host(url: str) -> None:
    with pytest.raises(EgressRefused):
        await check_public_url(url, field="f", allow_private=True)


@pytest.mark.parametrize(("value", "allowed"), [("true", True), ("1", True), ("False", False),
                                                ("", False), ("no", False)])
def test_the_setting_is_a_boolean(value: str, allowed: bool) -> None:
    from store.settings import Settings

    env = {"CONNECTUS_ALLOW_PRIVATE_URLS": value}
    assert Settings.from_env(env).allow_private_urls is allowed


def test_a_bad_setting_names_the_variable() -> None:
    from store.errors import SettingsError
    from store.settings import Settings

    with pytest.raises(SettingsError) as bad:
        Settings.from_env({"CONNECTUS_ALLOW_PRIVATE_URLS": "maybe"})
    assert str(bad.value).startswith("CONNECTUS_ALLOW_PRIVATE_URLS: must be true or false")
