"""XelionClient against the simulated Xelion server over loopback HTTP."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from afas_tray.demo.xelion import SimulatorThread, XelionSimulator
from afas_tray.xelion import (
    XelionAlreadyLoggedIn,
    XelionAuthError,
    XelionClient,
    XelionConfigError,
    XelionError,
    XelionMfaRequired,
    XelionNoPermission,
    XelionRequestError,
    XelionUnavailable,
)
from tests.helpers.xelion import MFA_PASSWORD, MFA_USER, PASSWORD, USER

Factory = Callable[..., XelionClient]


async def test_login_then_calls_use_the_session(xelion_sim: XelionSimulator,
                                                xelion_client_factory: Factory) -> None:
    client = xelion_client_factory()
    page = await client.communications(None)  # logs in on first use
    assert page.items == []
    assert client.logged_in and client.valid_until is not None
    assert client.valid_until > datetime.now(UTC)
    assert xelion_sim.counts["POST me/login"] == 1


async def test_each_login_refusal_has_its_own_error(xelion_sim: XelionSimulator,
                                                    xelion_client_factory: Factory) -> None:
    with pytest.raises(XelionAuthError) as wrong:
        await xelion_client_factory(password="not-the-password").login()
    assert wrong.value.code == 10004 and wrong.value.needs_user
    assert USER in wrong.value.text.en and USER in wrong.value.text.nl
    assert "wachtwoord" in wrong.value.text.nl

    with pytest.raises(XelionMfaRequired) as mfa:
        await xelion_client_factory(MFA_USER, MFA_PASSWORD).login()
    assert mfa.value.code == 10013 and "MFA" in mfa.value.text.en

    first = xelion_client_factory(user_space="afas-tray-PC1")
    await first.login()
    with pytest.raises(XelionAlreadyLoggedIn) as twice:
        await xelion_client_factory(user_space="afas-tray-PC1").login()
    assert twice.value.code == 10005
    assert "afas-tray-PC1" in twice.value.text.en and "afas-tray-PC1" in twice.value.text.nl
    assert "device name" in twice.value.text.en  # says what to do about it

    # Once the first one logs out, the same userSpace is free again.
    await first.logout()
    second = xelion_client_factory(user_space="afas-tray-PC1")
    await second.login()
    assert second.logged_in


async def test_session_is_renewed_before_valid_until_without_a_new_login(
        xelion_sim: XelionSimulator, xelion_client_factory: Factory) -> None:
    xelion_sim.session_seconds = 1.5
    client = xelion_client_factory()
    await client.login()
    await asyncio.sleep(2.2)  # past the first validUntil
    await client.communications(None)
    assert xelion_sim.counts["POST me/renew"] >= 1
    assert xelion_sim.counts["POST me/login"] == 1  # never had to log in again
    assert client.last_error is None


async def test_renewal_failure_logs_in_again_silently(xelion_sim: XelionSimulator,
                                                      xelion_client_factory: Factory) -> None:
    xelion_sim.session_seconds = 1.5
    xelion_sim.fail_renewals = True
    client = xelion_client_factory()
    await client.login()
    await asyncio.sleep(2.2)
    page = await client.communications(None)  # no exception reaches the user
    assert page.items == []
    assert xelion_sim.counts["POST me/renew"] >= 1
    # The re-login ended the old session first, so the same userSpace was not "already in use".
    assert xelion_sim.counts["POST me/login"] >= 2
    assert client.last_error is None


async def test_a_401_leads_to_exactly_one_new_login(xelion_sim: XelionSimulator,
                                                    xelion_client_factory: Factory) -> None:
    client = xelion_client_factory()
    await client.login()
    xelion_sim.expire_sessions()
    await client.communications(None)
    assert xelion_sim.counts["POST me/login"] == 2

    # Now the password changes on the server: one login attempt, then a clear error; no loop.
    xelion_sim.users[USER] = "changed-by-admin"
    xelion_sim.expire_sessions()
    with pytest.raises(XelionAuthError):
        await client.communications(None)
    assert xelion_sim.counts["POST me/login"] == 3
    # Three GETs in all: a 401 and its one retry, then a 401 whose re-login was refused.
    assert xelion_sim.counts["GET communications"] == 3


async def test_paging_descends_by_date_with_the_servers_cursors(
        xelion_sim: XelionSimulator, xelion_client_factory: Factory) -> None:
    now = time.time()
    batch = [xelion_sim.log_call(f"+31201234{i:03d}", started=now - 100 + i) for i in range(23)]
    client = xelion_client_factory()
    seen: list[str] = []
    cursor: str | None = None
    while True:
        page = await client.communications(cursor, limit=5)
        seen += [item.oid for item in page.items]
        cursor = page.next_cursor
        if not page.has_more:
            break
    assert seen == batch[::-1]  # newest first
    assert xelion_sim.counts["GET communications"] == 5  # 23 calls in pages of 5


async def test_a_call_is_found_by_its_sip_call_id_and_its_report_patched(
        xelion_sim: XelionSimulator, xelion_client_factory: Factory) -> None:
    client = xelion_client_factory()
    out = xelion_sim.ring("+31651112223", incoming=False)
    xelion_sim.answer(out)
    oid = xelion_sim.hangup(out)
    assert oid
    details = await client.call_by_id(out)  # the log has it as caller_<id>
    assert details is not None and details.oid == oid and details.call_id == "caller_" + out
    await client.update_report(oid, "Offerte", "Belt morgen terug.")
    assert xelion_sim.report_of(oid) == ("Offerte", "Belt morgen terug.")
    again = await client.communication(oid)
    assert (again.subject, again.contents) == ("Offerte", "Belt morgen terug.")
    assert await client.call_by_id("SIP/trunk-kpn-000001d8") is None  # a channel id is not it


async def test_429_backs_off_and_403_on_recordings_is_final(
        xelion_sim: XelionSimulator, xelion_client_factory: Factory) -> None:
    client = xelion_client_factory()
    await client.login()
    xelion_sim.busy_requests = 1
    with pytest.raises(XelionUnavailable):
        await client.communications(None, 5)
    with pytest.raises(XelionUnavailable):  # not even sent: backing off
        await client.communications(None, 5)
    assert xelion_sim.counts["GET communications"] == 1
    xelion_sim.recordings_licensed = False
    oid = xelion_sim.log_call("+31201234567")
    other = xelion_client_factory(user_space="afas-tray-test-2")
    for _ in range(3):
        with pytest.raises(XelionNoPermission):
            await other.audio(oid)
    assert xelion_sim.counts["GET communications/{oid}/audio"] == 1


async def test_user_space_problems_are_configuration_errors(
        xelion_sim: XelionSimulator, xelion_client_factory: Factory) -> None:
    client = xelion_client_factory(user_space="x" * 201)
    with pytest.raises(XelionConfigError) as info:
        await client.login()
    assert "200" in info.value.text.en and "200" in info.value.text.nl
    assert xelion_sim.counts["POST me/login"] == 0  # refused before it was sent

async def test_call_details_after_a_real_call(xelion_sim: XelionSimulator,
                                              xelion_client_factory: Factory) -> None:
    call_id = xelion_sim.ring("+31201234567", name="Bakkerij de Vries")
    xelion_sim.answer(call_id)
    oid = xelion_sim.hangup(call_id)
    assert oid is not None
    client = xelion_client_factory()

    page = await client.communications(None)
    assert [item.oid for item in page.items] == [oid]
    details = await client.communication(oid)
    assert details.call_id == call_id
    assert details.incoming is True
    assert details.number == "+31201234567"
    assert details.other_name == "Bakkerij de Vries"
    assert details.operator == USER
    assert details.duration_sec == 1  # hung up right after answering: Xelion counts a second
    assert details.date is not None and details.date.tzinfo is UTC
    assert details.end_time is not None and details.end_time >= details.date

    outgoing = xelion_sim.ring("+31651112223", incoming=False)
    out_oid = xelion_sim.hangup(outgoing)
    assert out_oid is not None
    out = await client.communication(out_oid)
    assert out.incoming is False and out.number == "+31651112223" and out.operator == USER

    long_call = await client.communication(xelion_sim.log_call("+31201234567", duration=42))
    assert long_call.duration_sec == 42

    with pytest.raises(XelionRequestError) as missing:
        await client.communication("999999")
    assert missing.value.code == 10100


async def test_audio_bytes_file_and_missing_recording(xelion_sim: XelionSimulator,
                                                      xelion_client_factory: Factory,
                                                      tmp_path: Path) -> None:
    xelion_sim.audio_size = 2_000_000
    with_rec = xelion_sim.log_call("+31201234567", recording=True)
    without = xelion_sim.log_call("+31201234568", recording=False)
    client = xelion_client_factory()

    data = await client.audio(with_rec)
    assert data is not None and data.startswith(b"ID3") and len(data) == 2_000_000
    assert await client.audio(without) is None

    target = tmp_path / "call.mp3"
    assert await client.audio_to_file(with_rec, target) == 2_000_000
    assert target.read_bytes() == data
    assert not (tmp_path / "call.mp3.part").exists()
    missing = tmp_path / "none.mp3"
    assert await client.audio_to_file(without, missing) is None
    assert not missing.exists()


async def test_a_late_recording_appears_after_its_delay(xelion_sim: XelionSimulator,
                                                        xelion_client_factory: Factory) -> None:
    xelion_sim.recording_delay = 0.8
    oid = xelion_sim.log_call("+31201234567")
    client = xelion_client_factory()
    assert await client.audio(oid) is None
    await asyncio.sleep(0.9)
    assert (await client.audio(oid) or b"").startswith(b"ID3")


async def test_unreachable_server_gives_unavailable() -> None:
    with socket.socket() as s:  # a port where nothing listens
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    async with XelionClient(f"http://127.0.0.1:{port}", "demo", USER, PASSWORD, "x") as client:
        with pytest.raises(XelionUnavailable) as exc:
            await client.login()
    assert f"127.0.0.1:{port}" in exc.value.text.en
    assert not exc.value.needs_user


async def test_secrets_never_reach_errors_or_logs(xelion_sim: XelionSimulator,
                                                  xelion_client_factory: Factory,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    xelion_sim.session_seconds = 1.5
    errors: list[XelionError] = []
    for password in ("wrong-" + PASSWORD, PASSWORD + "x"):
        try:
            await xelion_client_factory(password=password).login()
        except XelionError as exc:
            errors.append(exc)
    client = xelion_client_factory()
    await client.login()
    try:
        await xelion_client_factory().login()  # same userSpace: refused
    except XelionError as exc:
        errors.append(exc)
    await asyncio.sleep(1.2)  # a renewal happens
    await client.websocket_url()
    assert len(errors) == 3 and xelion_sim.issued_secrets
    secrets = [PASSWORD, "wrong-" + PASSWORD, *xelion_sim.issued_secrets]
    texts = [caplog.text] + [f"{e} {e.text.en} {e.text.nl} {e!r}" for e in errors]
    for secret in secrets:
        for text in texts:
            assert secret not in text
    assert "Logged in to Xelion" in caplog.text  # the log does say what happened


def test_simulator_in_a_thread_is_controlled_over_http() -> None:
    runner = SimulatorThread(XelionSimulator({USER: PASSWORD}))
    url = runner.start()
    try:
        with httpx.Client(base_url=url, timeout=5) as http:
            call_id = http.post("/_sim/ring", json={"number": "+31201234567"}).json()["callId"]
            assert http.post("/_sim/answer", json={"callId": call_id}).status_code == 200
            oid = http.post("/_sim/hangup", json={"callId": call_id}).json()["oid"]
            assert http.post("/_sim/hangup", json={}).status_code == 400
            login = http.post("/api/v1/demo/me/login", json={
                "userName": USER, "password": PASSWORD, "userSpace": "t"}).json()
            auth = {"Authorization": f"xelion {login['authentication']}"}
            listed = http.get("/api/v1/demo/communications", headers=auth).json()
            assert [row["object"]["oid"] for row in listed["data"]] == [oid]
            assert http.get("/_sim/counts").json()["GET communications"] == 1
        assert runner.call(runner.sim.log_call, "+31651112223") == str(int(oid) + 1)
    finally:
        runner.stop()


async def test_trigger_create_needs_administration_rights(
        xelion_sim: XelionSimulator, xelion_client_factory: Factory) -> None:
    from afas_tray.xelion import is_ours, recommended_trigger

    client = xelion_client_factory()
    with pytest.raises(XelionNoPermission) as info:
        await client.create_trigger(recommended_trigger())
    assert "beheer" in info.value.text.nl and "administration" in info.value.text.en
    xelion_sim.admins.add(USER)
    xelion_sim.triggers.clear()
    created = await client.create_trigger(recommended_trigger())
    assert created["oid"] and any(is_ours(t) for t in await client.triggers())
    # The trigger made this way is what the simulator fires on a ring, placeholders filled.
    assert xelion_sim.triggers[0]["value"] == recommended_trigger()["value"]
