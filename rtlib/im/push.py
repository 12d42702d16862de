"""A stand-in for a mobile push service (Apple APNs, Google FCM).

A phone app in the background has no connection of its own: the operating system
keeps one connection to the platform's push service, and the IM server asks that
service to wake the app.  Three properties matter for IM, and this model has them:

- **Delay.**  A push takes from a fraction of a second to several seconds, and is
  not guaranteed; here a log-normal delay with median ``median_delay_s``.
- **A small payload.**  APNs and FCM accept at most 4096 bytes of payload, so a push
  carries a notice and a preview, never the conversation; here a payload
  whose JSON exceeds ``payload_limit_bytes`` has its preview cut to fit.  The app,
  once awake, *pulls* the messages from the server (``sync``).
- **Store only the last one.**  When the device is offline, APNs stores one
  notification per app (in most cases the latest) and delivers it when the device
  comes back (Apple developer documentation, "Sending notification requests to
  APNs"); FCM *collapses* notices that share a collapse key the same way.  Earlier
  notices are lost, which is harmless for IM because a push only says "come and pull".

Sans-IO: :meth:`PushService.notify` returns when the notice reaches the device, or
``None`` when the device is unreachable and the notice is held; :meth:`device_back`
returns the held notice.

Used in: notebooks/02_im_store_forward.ipynb.
"""

from __future__ import annotations

import json
import math

import numpy as np

from rtlib.sim import make_rng
from rtlib.validate import check_number


class PushService:
    def __init__(self, *, median_delay_s: float = 1.0, sigma: float = 0.5, payload_limit_bytes: int = 4096,
                 seed: int = 0):
        check_number("median_delay_s", median_delay_s, 0, 3600, unit="s")
        check_number("sigma", sigma, 0, 3)
        if isinstance(payload_limit_bytes, bool) or not isinstance(payload_limit_bytes, int) or not 64 <= payload_limit_bytes <= 65536:
            raise ValueError(f"payload_limit_bytes must be an integer in [64, 65536], got {payload_limit_bytes!r}")
        self.median_delay_s = float(median_delay_s)
        self.sigma = float(sigma)
        self.payload_limit_bytes = payload_limit_bytes
        self.rng = make_rng(seed, "push")
        self._held: dict[tuple, dict] = {}
        self.sent = 0
        self.coalesced = 0
        self.truncated = 0

    def delay_s(self) -> float:
        """One push delay draw (seconds)."""
        if self.median_delay_s == 0:
            return 0.0
        return float(self.median_delay_s * math.exp(self.sigma * self.rng.standard_normal()))

    def fit(self, payload: dict) -> dict:
        """The payload, with its preview shortened until its JSON fits the limit."""
        data = json.dumps(payload, ensure_ascii=False).encode()
        if len(data) <= self.payload_limit_bytes:
            return payload
        self.truncated += 1
        preview = payload.get("preview", "")
        excess = len(data) - self.payload_limit_bytes
        # Cut characters until it fits (UTF-8 characters are 1-4 bytes, so loop).
        keep = max(0, len(preview) - excess - 1)
        while True:
            trimmed = {**payload, "preview": preview[:keep] + "…", "truncated": True}
            if len(json.dumps(trimmed, ensure_ascii=False).encode()) <= self.payload_limit_bytes or keep == 0:
                return trimmed
            keep = max(0, keep - max(1, (keep // 8)))

    def notify(self, user: str, device: str, payload: dict, now: float, reachable: bool = True):
        """Ask the service to wake ``user``'s ``device``.

        Returns ``(deliver_at_s, payload)`` when the device is reachable, or ``None``
        when it is not: the notice is then held (replacing any older held one) until
        :meth:`device_back`.
        """
        payload = self.fit(payload)
        self.sent += 1
        if reachable:
            return now + self.delay_s(), payload
        key = (user, device)
        if key in self._held:
            self.coalesced += 1
        self._held[key] = payload
        return None

    def device_back(self, user: str, device: str, now: float):
        """The device is reachable again: ``(deliver_at_s, payload)`` of the held notice, or ``None``."""
        payload = self._held.pop((user, device), None)
        if payload is None:
            return None
        return now + self.delay_s(), payload


def push_delays_s(n: int, median_delay_s: float = 1.0, sigma: float = 0.5, seed: int = 0) -> np.ndarray:
    """``n`` push delays (seconds), vectorised, for plots."""
    rng = make_rng(seed, "push")
    return median_delay_s * np.exp(sigma * rng.standard_normal(n))
