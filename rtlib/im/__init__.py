"""Instant messaging: sans-IO components, simulation scenarios and the live server.

The parts of an IM system, each a plain object fed with inputs and the current time
(no sockets, no clock), so the same code runs in simulation and live:

- :mod:`rtlib.im.protocol`: the JSON frames and their one validator (see ``PROTOCOL.md``);
- :mod:`rtlib.im.client`: a device: client message ids, acks and retries with backoff,
  dedupe, per-conversation cursors and in-order release, sync, read marks;
- :mod:`rtlib.im.gateway`: the access server: connections, auth, heartbeats, the
  session registry of online devices;
- :mod:`rtlib.im.logic`: the business server: membership, sequence numbers,
  store-then-ack (group commit), fan-out, push requests;
- :mod:`rtlib.im.store`: SQLite (``:memory:`` in simulation, a WAL file live);
- :mod:`rtlib.im.push`: a stand-in for APNs/FCM (delay, payload limit, coalescing);
- :mod:`rtlib.im.limits`: per-user rate limits (token buckets) and bounded per-connection
  outgoing queues: what keeps one hostile or slow client from hurting the others.

Around them:

- :mod:`rtlib.im.sim`: the whole system on :class:`rtlib.sim.EventLoop`, with faults
  (drop, duplicate, reorder, crashes before/after commit, devices offline) and what
  the applications see (lost, duplicated, out-of-order messages, latency);
- :mod:`rtlib.im.diffusion` (write vs read diffusion) and :mod:`rtlib.im.presence`
  (presence storms): cost models checked against counted runs;
- :mod:`rtlib.im.hostile`: a flood and a reader that never reads, against the defences;
- :mod:`rtlib.im.figures`: the experiments and figures of notebooks 02 and 03;
- :mod:`rtlib.im.server` (asyncio + websockets) and :mod:`rtlib.im.live` (a client
  class, the server as a child process): the live system, ``python -m rtlib im-server``;
- the cluster: :mod:`rtlib.im.pgstore` (the store on PostgreSQL, gapless seqs under a row
  lock), :mod:`rtlib.im.cluster` (presence with leases and cross-gateway delivery on
  Redis), :mod:`rtlib.im.engines` (throwaway Redis and PostgreSQL servers),
  :mod:`rtlib.im.local_cluster` (N gateways on one machine, ``python -m rtlib im-cluster``),
  :mod:`rtlib.im.chaos` (``kill -9`` experiments) and :mod:`rtlib.im.cluster_lab`
  (chapter 03's cluster experiments).

Used in: notebooks/02_im_store_forward.ipynb, notebooks/03_im_scale.ipynb.
"""
