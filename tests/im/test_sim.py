"""The fault matrix: with acks, retries, dedupe and in-order release nothing is lost,
duplicated or reordered; switching each one off brings back the failure it prevents."""

import numpy as np
import pytest

from rtlib.im.sim import (FAULTS, MECHANISM_LEVELS, NONE, Faults, Mechanisms, Timing, World, chat_world,
                          fault_matrix, pipeline, run_chat)

SEEDS = (0, 1, 2)
OFF = {
    "no retries": Mechanisms(retries=False),
    "no dedupe": Mechanisms(dedupe=False),
    "no in-order release": Mechanisms(in_order=False),
    "no pull": Mechanisms(pull=False),
}


def counts(rep):
    return rep["lost"], rep["duplicated"], rep["out_of_order"]


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("fault", list(FAULTS))
def test_all_mechanisms_on_nothing_lost_duplicated_or_reordered(fault, seed):
    rep = run_chat(users=3, messages_per_user=15, faults=FAULTS[fault], seed=seed)
    assert rep["expected"] == 90
    assert counts(rep) == (0, 0, 0), fault
    assert rep["failed_known_to_sender"] == 0


@pytest.mark.parametrize("seed", SEEDS)
def test_everything_at_once_with_offline_devices(seed):
    f = Faults(drop=0.1, duplicate=0.1, reorder=0.1, crash="logic_after_commit", crash_rate=0.05)
    for kind in ("no_network", "background"):
        rep = run_chat(users=5, messages_per_user=20, faults=f, seed=seed, offline=2, offline_kind=kind,
                       offline_s=30.0)
        assert counts(rep) == (0, 0, 0), kind
        assert rep["stored"] == 100


def test_without_retries_drops_lose_messages_and_senders_know():
    rep = run_chat(users=3, messages_per_user=15, faults=FAULTS["drop"], mechanisms=OFF["no retries"], seed=0)
    assert rep["lost"] > 0
    assert rep["failed_known_to_sender"] > 0
    none = run_chat(users=3, messages_per_user=15, faults=FAULTS["drop"], mechanisms=NONE, seed=0)
    assert none["lost"] > 0 and none["failed_known_to_sender"] == 0  # without acks nobody knows


def test_without_retries_a_crash_before_commit_loses_messages():
    for crash in ("crash logic before commit", "crash store before commit"):
        rep = run_chat(users=3, messages_per_user=15, faults=FAULTS[crash], mechanisms=OFF["no retries"], seed=0)
        assert rep["lost"] > 0 and rep["duplicated"] == 0


def test_without_dedupe_duplicates_reach_the_users():
    for fault in ("duplicate", "crash logic after commit", "crash store after commit", "drop"):
        rep = run_chat(users=3, messages_per_user=15, faults=FAULTS[fault], mechanisms=OFF["no dedupe"], seed=0)
        assert rep["duplicated"] > 0, fault
        assert rep["lost"] == 0, fault
    # and a crash after commit without server dedupe stores the message twice
    rep = run_chat(users=3, messages_per_user=15, faults=FAULTS["crash store after commit"],
                   mechanisms=OFF["no dedupe"], seed=0)
    assert rep["stored"] > rep["messages"]


def test_without_in_order_release_reordering_shows():
    rep = run_chat(users=3, messages_per_user=15, faults=FAULTS["reorder"], mechanisms=OFF["no in-order release"],
                   seed=0)
    assert rep["out_of_order"] > 0 and rep["lost"] == 0 and rep["duplicated"] == 0


def test_without_pull_offline_receivers_miss_messages():
    for kind in ("no_network", "background"):
        on = run_chat(users=4, messages_per_user=20, offline=2, offline_kind=kind, offline_s=30, seed=1)
        off = run_chat(users=4, messages_per_user=20, offline=2, offline_kind=kind, offline_s=30, seed=1,
                       mechanisms=OFF["no pull"])
        assert on["lost"] == 0 and off["lost"] > 0, kind


def test_offline_receivers_wait_seconds_online_ones_milliseconds():
    rep = run_chat(users=4, messages_per_user=20, offline=2, offline_kind="background", offline_s=30, seed=1)
    assert rep["pushes"] > 0 and rep["pushes_delivered"] > 0
    assert np.median(rep["latency_online_s"]) < 0.5
    assert np.median(rep["latency_offline_s"]) > 1.0


def test_fault_matrix_covers_every_pair_and_is_deterministic():
    fm = fault_matrix(seed=4)
    assert set(fm) == {(f, lv) for f in FAULTS for lv in MECHANISM_LEVELS}
    assert all(counts(fm[(f, "all (+ in-order release)")]) == (0, 0, 0) for f in FAULTS)
    again = fault_matrix(seed=4, faults={"drop": FAULTS["drop"]})
    assert counts(again[("drop", "nothing")]) == counts(fm[("drop", "nothing")])


def test_same_seed_same_run_other_seed_other_run():
    a = run_chat(faults=FAULTS["drop"], mechanisms=NONE, seed=7)
    b = run_chat(faults=FAULTS["drop"], mechanisms=NONE, seed=7)
    c = run_chat(faults=FAULTS["drop"], mechanisms=NONE, seed=8)
    assert counts(a) == counts(b)
    assert np.array_equal(a["latency_online_s"], b["latency_online_s"])
    assert not np.array_equal(a["latency_online_s"], c["latency_online_s"])


def test_pairs_world_and_the_pipeline():
    rep = run_chat(users=5, group=False, messages_per_user=5, seed=0)
    assert rep["expected"] == 2 * 5 * 1 + 3 * 5 * 2  # the odd user joined the last pair: 3 members there
    out = pipeline(2000, pairs=10, burst=5)
    assert out["stored"] == 2000 and out["acked"] == 2000 and out["released_to_receivers"] == 2000


def test_trace_of_one_message():
    from rtlib.im.figures import trace_path

    online, asleep = trace_path("online"), trace_path("asleep")
    assert 0.05 < online["latency_s"] < 0.5
    assert asleep["latency_s"] > online["latency_s"] + 0.5
    labels = [s["label"] for s in asleep["steps"]]
    for step in ("send", "store + commit", "ack", "push notice", "the app wakes up", "auth", "sync", "sync_ok",
                 "shown to the user"):
        assert step in labels
    assert labels.index("store + commit") < labels.index("push notice") < labels.index("shown to the user")


def test_bad_parameters():
    with pytest.raises(ValueError, match=r"drop must be in \[0, 1\]"):
        Faults(drop=1.5)
    with pytest.raises(ValueError, match="crash must be one of"):
        Faults(crash="meteor")
    with pytest.raises(ValueError, match="retries need acks"):
        Mechanisms(acks=False, retries=True)
    with pytest.raises(ValueError, match="delay_ms"):
        Timing(delay_ms=-1)
    with pytest.raises(ValueError, match="users"):
        chat_world(users=1)
    with pytest.raises(ValueError, match="offline"):
        chat_world(users=3, offline=4)
    with pytest.raises(ValueError, match="kind"):
        World().offline_at(1.0, "x", 1.0, kind="moon")
    with pytest.raises(ValueError, match="n_messages"):
        pipeline(0)
