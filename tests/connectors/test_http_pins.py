"""The one HTTP path, pinned through a Connector whose provider is an httpx.MockTransport:
the provider's own words in every error, which failures are retried and how often, a long
Retry-After turned into a resumable quota stop that every caller of the account honours,
usage headers holding back syncs, next links only to trusted hosts, one token refresh per
call, and batch writes that count a refused batch and stop on anything else."""

from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import format_datetime

import httpx
import pytest

from connectors.errors import (
    BadRequest,
    MissingScope,
    NotFoundAtProvider,
    ProviderDown,
    QuotaExhausted,
    RateLimited,
    ReconnectNeeded,
)
from connectors.http import Attempts
from connectors.quota import Priority
from tests.connectors.conftest import Recorder, oauth_tokens

ZAPIER = {"access_token": "sandbox"}
HUBSPOT = {"access_token": "sandbox"}
NO_ZAPS = {"data": [], "meta": {"count": 0}}

Handler = Callable[[httpx.Request], httpx.Response]


class Provider:
    """A scripted provider: answers in turn from ``answers`` (the last one repeats)."""

    def __init__(self, *answers: httpx.Response | Handler) -> None:
        self.answers = list(answers)
        self.seen: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        answer = self.answers[min(len(self.seen), len(self.answers)) - 1]
        return answer(request) if callable(answer) else answer

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(self))


def _attempts(n: int = 4) -> Attempts:
    return Attempts(max_attempts=n, base_wait_s=0.001, max_wait_s=2)


@pytest.mark.parametrize(("body", "said"), [
    ({"message": "Property 'x' does not exist"}, "Property 'x' does not exist"),
    ({"detail": "limit must be 1..1000"}, "limit must be 1..1000"),
    ({"title": "Invalid Resource"}, "Invalid Resource"),
    ({"error_description": "unsupported grant"}, "unsupported grant"),
    ({"error": {"message": "Invalid OAuth access token"}}, "Invalid OAuth access token"),
    ({"error": "invalid_request"}, "invalid_request"),
    ([{"message": "Malformed query", "errorCode": "MALFORMED_QUERY"}], "Malformed query"),
    ([{"errorCode": "INVALID_FIELD"}], "INVALID_FIELD"),
    ("<html>nginx</html>", "Bad Request"),
])
async def test_a_refused_request_carries_the_providers_own_words(connect, body, said) -> None:
    answer = (httpx.Response(400, json=body) if not isinstance(body, str)
              else httpx.Response(400, text=body))
    provider = Provider(answer)
    connector = connect("zapier", ZAPIER, http=provider.client(), attempts=_attempts())
    with pytest.raises(BadRequest) as info:
        await connector.read_all("zaps")
    assert info.value.provider_message == said
    assert said in info.value.message and info.value.http_status == 400
    assert len(provider.seen) == 1  # a refusal is never retried


@pytest.mark.parametrize(("status", "kind"), [
    (403, MissingScope), (404, NotFoundAtProvider), (409, BadRequest), (422, BadRequest),
])
async def test_client_errors_are_classed_and_not_retried(connect, status, kind) -> None:
    provider = Provider(httpx.Response(status, json={"message": "no"}))
    connector = connect("zapier", ZAPIER, http=provider.client(), attempts=_attempts())
    with pytest.raises(kind):
        await connector.read_all("zaps")
    assert len(provider.seen) == 1


async def test_an_outage_is_retried_up_to_the_attempts_then_reported(connect) -> None:
    provider = Provider(httpx.Response(503, json={"message": "maintenance"}))
    recorder = Recorder()
    connector = connect("zapier", ZAPIER, http=provider.client(), attempts=_attempts(3),
                        observer=recorder)
    with pytest.raises(ProviderDown, match="HTTP 503"):
        await connector.read_all("zaps")
    assert len(provider.seen) == 3
    assert [status for status, _ in recorder.calls] == [503, 503, 503]


async def test_an_outage_that_ends_is_ridden_out(connect) -> None:
    provider = Provider(httpx.Response(502), httpx.Response(500),
                        httpx.Response(200, json=NO_ZAPS))
    recorder = Recorder()
    connector = connect("zapier", ZAPIER, http=provider.client(), attempts=_attempts(3),
                        observer=recorder)
    assert await connector.read_all("zaps") == []
    assert [status for status, _ in recorder.calls] == [502, 500, 200]
    assert recorder.calls[-1][1] is None


async def test_a_timeout_is_an_outage_naming_the_deadline(connect) -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    provider = Provider(slow)
    recorder = Recorder()
    connector = connect("zapier", ZAPIER, http=provider.client(), attempts=_attempts(2),
                        observer=recorder, timeout_s=7)
    with pytest.raises(ProviderDown, match="did not answer within 7s"):
        await connector.read_all("zaps")
    assert len(provider.seen) == 2
    assert [status for status, _ in recorder.calls] == [None, None]


async def test_an_unreachable_provider_is_an_outage(connect) -> None:
    def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    provider = Provider(refused)
    connector = connect("zapier", ZAPIER, http=provider.client(), attempts=_attempts(2))
    with pytest.raises(ProviderDown, match="could not reach zapier: connection refused"):
        await connector.read_all("zaps")
    assert len(provider.seen) == 2


async def test_a_short_retry_after_is_waited_out_and_the_call_repeated(connect) -> None:
    provider = Provider(httpx.Response(429, headers={"retry-after": "0"}),
                        httpx.Response(200, json=NO_ZAPS))
    recorder = Recorder()
    connector = connect("zapier", ZAPIER, http=provider.client(), attempts=_attempts(),
                        observer=recorder)
    assert await connector.read_all("zaps") == []
    assert [status for status, _ in recorder.calls] == [429, 200]
    assert isinstance(recorder.calls[0][1], RateLimited)


async def test_a_retry_after_date_is_read_as_seconds_from_now(connect) -> None:
    later = format_datetime(datetime.fromtimestamp(datetime.now(UTC).timestamp() + 3600, UTC),
                            usegmt=True)
    provider = Provider(httpx.Response(429, headers={"retry-after": later}))
    connector = connect("zapier", ZAPIER, http=provider.client(), attempts=_attempts())
    with pytest.raises(QuotaExhausted) as info:
        await connector.read_all("zaps")
    wait = (info.value.resets_at - datetime.now(UTC)).total_seconds()
    assert 3500 < wait <= 3600


async def test_a_long_retry_after_stops_every_caller_of_the_account_until_then(connect) -> None:
    provider = Provider(httpx.Response(429, headers={"retry-after": "600"}))
    connector = connect("zapier", ZAPIER, http=provider.client(), attempts=_attempts(),
                        priority=Priority.chat)
    with pytest.raises(QuotaExhausted) as info:
        await connector.read_all("zaps")
    assert len(provider.seen) == 1  # a stop for ten minutes is not retried now
    wait = (info.value.resets_at - datetime.now(UTC)).total_seconds()
    assert 590 < wait <= 600
    assert "600s" in info.value.message

    other = Provider(httpx.Response(200, json=NO_ZAPS))
    same_account = connect("zapier", ZAPIER, http=other.client(), attempts=_attempts(1),
                           max_wait_s=1)
    with pytest.raises(RateLimited):
        await same_account.read_all("zaps")
    assert other.seen == []  # told to wait before it ever called

    elsewhere = connect("zapier", {"access_token": "another-account"}, http=other.client(),
                        attempts=_attempts(1), max_wait_s=1)
    assert await elsewhere.read_all("zaps") == []


async def test_usage_headers_saying_little_is_left_hold_back_syncs_not_chat(connect) -> None:
    headers = {"x-hubspot-ratelimit-daily": "1000", "x-hubspot-ratelimit-daily-remaining": "250"}
    provider = Provider(httpx.Response(200, json={"results": []}, headers=headers))
    chat = connect("hubspot", HUBSPOT, http=provider.client(), priority=Priority.chat)
    diagnosis = await chat.test_connection()
    assert diagnosis.ok
    assert diagnosis.details["quota"]["provider_remaining_fraction"] == 0.25

    sync = connect("hubspot", HUBSPOT, http=provider.client(), priority=Priority.sync)
    calls = len(provider.seen)
    with pytest.raises(QuotaExhausted):
        await sync.read_all("contacts")
    assert len(provider.seen) == calls  # 25% left: a sync does not even ask
    assert await chat.read_all("contacts") == []


async def test_next_links_may_point_only_at_the_api_or_a_trusted_host(connect) -> None:
    connector = connect("zapier", ZAPIER)
    client = connector.client
    same = client.base_url + "/v2/zaps?offset=100"
    assert client.url(same) == same
    assert client.url("https://hooks.zapier.com/hooks/catch/1/x/") == \
        "https://hooks.zapier.com/hooks/catch/1/x/"
    assert client.url("/v2/zaps") == client.base_url + "/v2/zaps"
    with pytest.raises(BadRequest, match="next link to another host"):
        client.url("https://hooks.zapier.com.evil.example/x")
    with pytest.raises(BadRequest, match="next link to another host"):
        client.url("http://attacker.example/v2/zaps")


async def test_a_token_is_refreshed_once_per_call_and_again_on_a_later_call(sandbox,
                                                                           connect) -> None:
    saved: list[dict] = []

    async def save(credentials: dict) -> None:
        saved.append(credentials)

    credentials = await oauth_tokens(sandbox, "zapier")
    provider = Provider(httpx.Response(401, json={"errors": [{"detail": "expired"}]}),
                        httpx.Response(200, json=NO_ZAPS),
                        httpx.Response(401, json={"errors": [{"detail": "expired"}]}),
                        httpx.Response(200, json=NO_ZAPS))
    connector = connect("zapier", credentials, http=provider.client(), save_credentials=save,
                        attempts=_attempts())
    assert await connector.read_all("zaps") == []
    assert len(saved) == 1 and saved[0]["access_token"] != credentials["access_token"]
    assert await connector.read_all("zaps") == []  # a later expiry is refreshed too
    assert len(saved) == 2 and len(provider.seen) == 4
    sent = [r.headers["authorization"] for r in provider.seen]
    assert sent[1] == f"Bearer {saved[0]['access_token']}"
    assert sent[3] == f"Bearer {saved[1]['access_token']}"


async def test_a_token_still_refused_after_a_refresh_means_reconnect(sandbox, connect) -> None:
    saved: list[dict] = []

    async def save(credentials: dict) -> None:
        saved.append(credentials)

    credentials = await oauth_tokens(sandbox, "zapier")
    provider = Provider(httpx.Response(401, json={"errors": [{"detail": "revoked"}]}))
    connector = connect("zapier", credentials, http=provider.client(), save_credentials=save,
                        attempts=_attempts(6))
    with pytest.raises(ReconnectNeeded):
        await connector.read_all("zaps")
    assert len(saved) == 1  # one refresh, not one per attempt
    assert len(provider.seen) == 2  # the call, and its one repeat with the new token


def _upsert_answer(request: httpx.Request) -> httpx.Response:
    import json

    inputs = json.loads(request.content)["inputs"]
    if any(i["id"].startswith("bad") for i in inputs):
        return httpx.Response(400, json={"message": "Property values were not valid"})
    return httpx.Response(200, json={"results": [{"id": i["id"]} for i in inputs]})


async def test_a_refused_batch_is_counted_and_the_write_goes_on(connect) -> None:
    records = [{"email": f"{'bad' if i >= 100 else 'ok'}{i}@x.example"} for i in range(250)]
    provider = Provider(_upsert_answer)
    connector = connect("hubspot", HUBSPOT, http=provider.client())
    result = await connector.write("contacts.upsert", records)
    assert (result.ok, result.failed) == (100, 150)  # two refused batches: 100 and 50
    assert [e["batch_start"] for e in result.errors] == [100, 200]
    assert all("Property values were not valid" in e["message"] for e in result.errors)
    assert len(result.ids) == 100 and len(provider.seen) == 3


async def test_a_write_stops_at_a_failure_a_person_must_fix(connect) -> None:
    provider = Provider(httpx.Response(200, json={"results": [{"id": "1"}]}),
                        httpx.Response(403, json={"message": "missing scopes",
                                                  "category": "MISSING_SCOPES"}))
    connector = connect("hubspot", HUBSPOT, http=provider.client())
    records = [{"email": f"p{i}@x.example"} for i in range(300)]
    with pytest.raises(MissingScope):
        await connector.write("contacts.upsert", records)
    assert len(provider.seen) == 2  # the third batch was never sent

