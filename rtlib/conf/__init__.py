"""Multi-party calls: mesh, SFU, MCU, edges and cascades.

Used in: notebooks/10_many_participants.ipynb, notebooks/11_edge_latency.ipynb.
"""

# P2P and NAT traversal
from rtlib.conf.ice import (  # noqa: E402
    Candidate,
    IceAgent,
    IceResult,
    PairOutcome,
    candidate_priority,
    gather_candidates,
    nat_pair_outcome,
    pair_priority,
    pair_table,
    simulate_ice,
)
from rtlib.conf.nat import NAT_PRESETS, Nat, NatBehaviour, NatDependence, nat_preset  # noqa: E402
from rtlib.conf.stun import (  # noqa: E402
    StunClass,
    StunMessage,
    StunMethod,
    binding_error,
    binding_request,
    binding_success,
    parse_message,
    short_term_key,
)
from rtlib.conf.turn import TurnCost, turn_cost  # noqa: E402

__all__ = [  # noqa: PLE0605 - extends whatever __all__ the other blocks of this file define
    *globals().get("__all__", ()),
    "Candidate",
    "IceAgent",
    "IceResult",
    "PairOutcome",
    "candidate_priority",
    "gather_candidates",
    "nat_pair_outcome",
    "pair_priority",
    "pair_table",
    "simulate_ice",
    "NAT_PRESETS",
    "Nat",
    "NatBehaviour",
    "NatDependence",
    "StunClass",
    "StunMessage",
    "StunMethod",
    "binding_error",
    "binding_request",
    "binding_success",
    "nat_preset",
    "parse_message",
    "short_term_key",
    "TurnCost",
    "turn_cost",
]

# Topologies: mesh, SFU, MCU
from rtlib.conf.topology import TOPOLOGIES, Load, load, mesh_saturation_n  # noqa: E402

__all__ = [  # noqa: PLE0605
    *globals().get("__all__", ()),
    "Load",
    "TOPOLOGIES",
    "load",
    "mesh_saturation_n",
]
