"""The online class: which machine serves each feature, its architecture, budget and cost.

One teacher and 30 students.  Each feature gets a **machine** (RTC: media and
signals that lose their value within a second; IM: things that must arrive, in
order, even to someone offline now) and a **latency budget**; the RTC part gets an
**architecture** from chapter 10's calculator (:func:`rtlib.conf.topology.load`)
and a **deployment** from chapter 11's (:func:`rtlib.conf.edge.central_call`,
:func:`rtlib.conf.edge.edge_call`).

The money is an estimate with its inputs in the open: the server's egress in GB
per class hour, times a price per GB that the caller gives (``price_per_gb``; cloud
providers list their egress prices, and they change).

Used in: notebooks/13_capstone.ipynb.
"""

from __future__ import annotations

from dataclasses import dataclass

from rtlib.validate import check_number

MACHINES = ("rtc", "im")

#: each feature of the online class: (machine, the delay past which the feature fails, why)
FEATURES = {
    "lecture video": ("rtc", 400.0, "live and interactive: students answer what they just saw and heard"),
    "hand raising": ("rtc", 400.0, "a raised hand is worth something only while the teacher is talking"),
    "live Q&A": ("rtc", 150.0, "a conversation: turn-taking breaks down as delay grows (G.114)"),
    "course forum": ("im", 60_000.0, "threads read over days: every post must be kept and arrive, in order"),
    "homework": ("im", 3_600_000.0, "a file handed in must never be lost; minutes do not matter"),
    "notifications": ("im", 60_000.0, "must reach a student whose app is closed: push, stored until read"),
}


def machine_for(feature: str) -> str:
    """The machine (``"rtc"`` or ``"im"``) that serves ``feature`` of :data:`FEATURES`."""
    if feature not in FEATURES:
        raise ValueError(f"feature must be one of {list(FEATURES)}, got {feature!r}")
    return FEATURES[feature][0]


@dataclass(frozen=True)
class ClassPlan:
    """Load of the live lesson under one topology, and what it costs per class hour."""

    topology: str
    teacher_up_kbps: float
    student_down_kbps: float
    student_up_kbps: float
    server_in_kbps: float
    server_out_kbps: float
    server_cpu_cores: float
    egress_gb_per_hour: float
    cost_per_hour: float


def lesson_plan(topology: str = "sfu", *, students: int = 30, video_kbps: float = 1200.0, audio_kbps: float = 32.0,
                price_per_gb: float = 0.08) -> ClassPlan:
    """The live lesson: everyone sends audio, only the speaker's video is forwarded (last_n = 1).

    Built on :func:`rtlib.conf.topology.load` with ``last_n=1`` for SFU and MCU (the
    teacher, or the one student asking a question, is on screen); a mesh has no
    such server-side choice, so every client sends its video to all.
    """
    from rtlib.conf.topology import load

    if isinstance(students, bool) or not isinstance(students, int) or not 1 <= students <= 999:
        raise ValueError(f"students must be an integer in [1, 999], got {students!r}")
    check_number("price_per_gb", price_per_gb, 0, 100, "per GB")
    n = students + 1
    kw = {} if topology == "mesh" else {"last_n": 1}
    ld = load(topology, n, video_kbps, audio_kbps=audio_kbps, **kw)
    egress_gb = ld.server_out_kbps * 1000 / 8 * 3600 / 1e9
    return ClassPlan(topology, ld.client_up_kbps, ld.client_down_kbps, ld.client_up_kbps, ld.server_in_kbps,
                     ld.server_out_kbps, ld.server_cpu_cores, egress_gb, egress_gb * price_per_gb)


def im_load(*, students: int = 30, posts_per_student: float = 5.0, post_bytes: float = 2000.0) -> dict:
    """The forum's traffic for one course week: each post stored once and pushed to every member."""
    check_number("posts_per_student", posts_per_student, 0, 10_000)
    check_number("post_bytes", post_bytes, 1, 1e8, "bytes")
    posts = (students + 1) * posts_per_student
    fanout = posts * students  # each post to the other members
    return {"posts": posts, "deliveries": fanout, "stored_mb": posts * post_bytes / 1e6,
            "delivered_mb": fanout * post_bytes / 1e6}
