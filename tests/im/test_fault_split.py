"""What the sender sees when a delivery is lost (notebook 02's fault widget and its prose)."""

from rtlib.im.sim import Faults, fault_matrix


def test_lost_deliveries_split_by_what_the_sender_saw():
    m = fault_matrix(faults={"drop": Faults(drop=0.1)}, seed=0)
    for level in ("nothing", "acks"):
        r = m["drop", level]
        assert r["lost"] == r["lost_sender_told"] + r["lost_sender_saw_ack"] > 0
    # without acks nobody is told; with acks most losses are known, but an acked message
    # whose live msg frame was dropped is lost although the sender saw a tick
    assert m["drop", "nothing"]["lost_sender_told"] == 0
    acks = m["drop", "acks"]
    assert acks["lost_sender_told"] > acks["lost_sender_saw_ack"] > 0
    assert m["drop", "acks + retries"]["lost"] == 0


def test_a_crash_before_commit_is_always_reported_to_the_sender():
    m = fault_matrix(faults={"crash": Faults(crash="logic_before_commit", crash_rate=0.05)}, seed=0)
    r = m["crash", "acks"]
    assert r["lost"] > 0 and r["lost_sender_saw_ack"] == 0  # nothing stored, so no ack was ever sent
