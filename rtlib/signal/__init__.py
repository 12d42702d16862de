"""Call signalling over the course's IM server: the ``call`` bodies, a sans-IO call state machine,
an aiortc peer that signals through :class:`rtlib.im.live.IMClient`, and a browser page.

- :mod:`rtlib.signal.body`: the JSON bodies (offer, ring, accept, answer, candidate,
  reject, hangup) and the loopback-only candidate filter;
- :mod:`rtlib.signal.machine`: :class:`CallMachine` (idle → ringing → connecting →
  in call → ended, ring and connect timeouts, glare);
- :mod:`rtlib.signal.peer`: :class:`CallPeer`, the machine driven over a live IM
  connection with an aiortc ``RTCPeerConnection``;
- :mod:`rtlib.signal.setup_time`: a delaying TCP proxy for the IM path and
  :func:`~rtlib.signal.setup_time.measure_call`, the setup time split into its parts;
- :mod:`rtlib.signal.web` serves ``rtlib/signal/static/``, the page a browser opens
  (plain JavaScript, no CDN), on 127.0.0.1; :mod:`rtlib.signal.browser` drives a
  headless Chromium with fake camera and microphone.

The protocol is specified in ``rtlib/im/PROTOCOL.md`` ("Calls: signalling over IM").

Used in: notebooks/12_live_call.ipynb, ``python -m rtlib call-demo``.
"""

from rtlib.signal.body import (KINDS, is_loopback_candidate, loopback_sdp, make_body, new_call_id,  # noqa: F401
                               parse_body)
from rtlib.signal.machine import (CONNECTING, ENDED, IDLE, IN_CALL, RINGING, CallMachine)  # noqa: F401
