"""aioice gathers 127.0.0.1 inside loopback_candidates() only, and is restored after."""

import asyncio

import aioice.ice as ice
import pytest

from rtlib.live.loopback import is_patched, loopback_candidates


def test_patch_scoped_and_restored():
    original = ice.get_host_addresses
    outside = original(True, False)
    assert "127.0.0.1" not in outside  # aioice's own rule (RFC 8445 5.1.1.1)
    with loopback_candidates():
        assert is_patched()
        assert ice.get_host_addresses(True, True) == ["127.0.0.1"]
        with loopback_candidates():  # nesting is fine
            assert ice.get_host_addresses(True, False) == ["127.0.0.1"]
        assert is_patched()
    assert ice.get_host_addresses is original and not is_patched()
    assert ice.get_host_addresses(True, False) == outside


def test_restored_after_an_error():
    original = ice.get_host_addresses
    with pytest.raises(RuntimeError):
        with loopback_candidates():
            raise RuntimeError("boom")
    assert ice.get_host_addresses is original


def test_other_tasks_see_the_real_answer():
    """While one call's block is open, a task that did not enter it gets aioice's own list."""

    async def main():
        original_answer = ice.get_host_addresses(True, False)
        entered, done = asyncio.Event(), asyncio.Event()

        async def bystander():
            await entered.wait()
            got = ice.get_host_addresses(True, False)
            done.set()
            return got

        task = asyncio.create_task(bystander())  # created outside the block
        with loopback_candidates():
            entered.set()
            await done.wait()
            mine = ice.get_host_addresses(True, False)
        return original_answer, await task, mine

    original_answer, theirs, mine = asyncio.run(main())
    assert theirs == original_answer and mine == ["127.0.0.1"]


def test_aiortc_gathers_only_loopback():
    from aiortc import RTCConfiguration, RTCPeerConnection

    async def main():
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        pc.createDataChannel("x")
        with loopback_candidates():
            await pc.setLocalDescription(await pc.createOffer())
        sdp = pc.localDescription.sdp
        await pc.close()
        return [line for line in sdp.splitlines() if line.startswith("a=candidate:")]

    cands = asyncio.run(main())
    assert cands and all(" 127.0.0.1 " in c and " typ host" in c for c in cands)
