"""Helpers for the sans-IO IM tests: one frame through gateway and logic, and who got what."""


def login_frames(gw, logic, user, device="phone", now=0.0):
    """Open a connection and authenticate ``user`` (token ``tok-<user>``); returns (conn, auth_ok)."""
    conn = gw.open(now)
    outs = gw.on_frame(conn, {"type": "auth", "user": user, "token": f"tok-{user}", "device": device}, now)
    replies = logic.on_requests([(o[1], o[2]) for o in outs if o[0] == "logic"], now)
    assert replies[0][2]["type"] == "auth_ok"
    return conn, replies[0][2]


def run(gw, logic, conn, frame, now=1.0):
    """One frame through gateway and logic; returns every output."""
    outs = gw.on_frame(conn, frame, now)
    reqs = [(o[1], o[2]) for o in outs if o[0] == "logic"]
    return [o for o in outs if o[0] != "logic"] + logic.on_requests(reqs, now)


def sent_to(outs, conn):
    """The frames sent to ``conn``."""
    return [o[2] for o in outs if o[0] == "send" and o[1] == conn]


def make_system(*, group: bool = False, revalidate: bool = False):
    """A store with alice, bob and carol (token ``tok-<user>``), the direct conversation
    ``ab`` (and the group ``all`` when ``group``), a gateway and the logic over them."""
    from rtlib.im.gateway import Gateway
    from rtlib.im.logic import Logic
    from rtlib.im.store import Store

    store = Store()
    for u in ("alice", "bob", "carol"):
        store.create_user(u)
        store.new_token(u, token=f"tok-{u}")
    store.create_conversation("ab", ["alice", "bob"], kind="direct")
    if group:
        store.create_conversation("all", ["alice", "bob", "carol"])
    extra = {"revalidate": store.check_token, "tokens_version": store.tokens_version} if revalidate else {}
    gw = Gateway(store.check_token, idle_timeout_s=10, auth_timeout_s=5, **extra)
    return store, gw, Logic(store, gw.registry)
