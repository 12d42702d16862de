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
from rtlib.conf.call import ConfCall, ConfResult, simulate  # noqa: E402
from rtlib.conf.mcu import Mcu, compose_tiles, mix_minus, mix_minus_demo  # noqa: E402
from rtlib.conf.sfu import Sfu  # noqa: E402
from rtlib.conf.simulcast import LayerSelector, over_estimate_spans, replay, vp8_keyframe_start  # noqa: E402
from rtlib.conf.speaker import DominantSpeaker  # noqa: E402
from rtlib.conf.topology import TOPOLOGIES, Load, load, mesh_saturation_n  # noqa: E402

__all__ = [  # noqa: PLE0605
    *globals().get("__all__", ()),
    "ConfCall",
    "ConfResult",
    "DominantSpeaker",
    "LayerSelector",
    "Load",
    "Mcu",
    "Sfu",
    "TOPOLOGIES",
    "compose_tiles",
    "load",
    "mesh_saturation_n",
    "mix_minus",
    "mix_minus_demo",
    "over_estimate_spans",
    "replay",
    "simulate",
    "vp8_keyframe_start",
]

# Edges and global latency
from rtlib.conf.edge import (  # noqa: E402
    CallLatency,
    Participant,
    Placement,
    central_call,
    delay_matrix_ms,
    edge_call,
    exact_k_center,
    floor_mouth_to_ear_ms,
    greedy_k_center,
    marginal_gains,
    nearest_site,
    pairs_never_within,
    place_edges,
    placement_cost_ms,
)
from rtlib.conf.geo import (  # noqa: E402
    ACCESS_RTT_MS,
    BACKBONE_INFLATION,
    EARTH_RADIUS_KM,
    FIBRE_US_PER_KM,
    PUBLIC_INTERNET_INFLATION,
    distance_km,
    fibre_floor_rtt_ms,
    fibre_one_way_ms,
    great_circle_points,
    model_residuals,
    model_rtt_ms,
)
from rtlib.conf.geodata import City, city, load_cities, load_land, load_measured_rtts  # noqa: E402
from rtlib.conf.overlay import Backbone, Link, Route, loss_equivalent_ms  # noqa: E402
from rtlib.conf.worldmap import draw_world  # noqa: E402

__all__ = [  # noqa: PLE0605
    *globals().get("__all__", ()),
    "ACCESS_RTT_MS",
    "BACKBONE_INFLATION",
    "Backbone",
    "CallLatency",
    "City",
    "EARTH_RADIUS_KM",
    "FIBRE_US_PER_KM",
    "Link",
    "PUBLIC_INTERNET_INFLATION",
    "Participant",
    "Placement",
    "Route",
    "central_call",
    "city",
    "delay_matrix_ms",
    "distance_km",
    "draw_world",
    "edge_call",
    "exact_k_center",
    "fibre_floor_rtt_ms",
    "fibre_one_way_ms",
    "floor_mouth_to_ear_ms",
    "great_circle_points",
    "greedy_k_center",
    "load_cities",
    "load_land",
    "load_measured_rtts",
    "loss_equivalent_ms",
    "marginal_gains",
    "model_residuals",
    "model_rtt_ms",
    "nearest_site",
    "pairs_never_within",
    "place_edges",
    "placement_cost_ms",
]
