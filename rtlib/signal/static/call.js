// The course's browser peer: call signalling over the IM server's WebSocket, media over the
// browser's own WebRTC stack. The same rules as rtlib.signal (rtlib/im/PROTOCOL.md, section
// "Calls: signalling over IM"): call bodies in the 1:1 conversation, ring timeout from the
// offer's server time, first accept wins, glare keeps the lower call id, 127.0.0.1 UDP
// candidates only. Settings come from the page's URL fragment:
//   #ws=ws://127.0.0.1:8765&user=bob&token=...&peer=alice&conv=alice-bob&device=browser[&auto=1]
"use strict";

const P = Object.fromEntries(new URLSearchParams(location.hash.slice(1)));
const RING_TIMEOUT_S = Number(P.ring_timeout_s || 30);
const CONNECT_TIMEOUT_S = 15;
const MAX_BODY_BYTES = 4096;
const DEVICE = P.device || "browser";
const $ = (id) => document.getElementById(id);

const call = {
  state: "idle", direction: null, id: null, reason: null, offerSdp: null, offerTs: null,
  remoteDevice: null, deadline: null, missed: [], log: [], marks: {}, errors: [],
};
window.rtlibCall = call;  // read by tests and by the curious learner (DevTools console)

let ws = null, pc = null, localStream = null, cidCounter = 0, auto = P.auto === "1";
const seen = new Set();       // conversation seqs already handled
const handled = new Set();    // "id/kind/device/sender" already handled (at-least-once delivery)
const cidPrefix = DEVICE + "-" + Math.random().toString(16).slice(2, 10) + "-";
const pendingCids = {};       // cid -> body, until acked

function now() { return Date.now() / 1000; }  // the same clock as the server's ts (one machine)
function show() {
  $("state").textContent = call.state + (call.direction ? " (" + call.direction + ")" : "");
  $("reason").textContent = call.reason ? "- " + call.reason : "";
  $("call").disabled = !(ws && (call.state === "idle" || call.state === "ended"));
  $("answer").disabled = $("reject").disabled = !(call.state === "ringing" && call.direction === "in");
  $("hangup").disabled = !(call.state === "ringing" || call.state === "connecting" || call.state === "in_call");
}
function note(dir, sender, body) {
  call.log.push({t: now(), dir, sender, body});
  const short = Object.assign({}, body);
  for (const k of ["sdp", "sdpz"]) if (short[k]) short[k] = "(" + short[k].length + " characters)";
  $("log").textContent += (dir === "out" ? "→ " : "← ") + sender + " " + JSON.stringify(short) + "\n";
}
function go(state, reason) {
  call.state = state;
  if (reason !== undefined) call.reason = reason;
  call.marks[state] = now();
  show();
}

// -- loopback only: keep UDP candidates on 127.0.0.1, drop every other one ---------------
const CAND = /^(?:a=)?candidate:(\S+) (\d+) (\S+) (\d+) (\S+) (\d+) typ (\S+)/;
function isLoopbackCandidate(line) {
  const m = CAND.exec(line.trim());
  return !!m && m[3].toLowerCase() === "udp" && m[5] === "127.0.0.1";
}
function loopbackSdp(sdp) {
  return sdp.split(/\r?\n/).filter((l) => l && (!l.startsWith("a=candidate:") || isLoopbackCandidate(l)))
            .join("\r\n") + "\r\n";
}

// -- SDP compression (sdpz: base64 of raw DEFLATE) -------------------------------------------
async function deflate(text) {
  const s = new Blob([text]).stream().pipeThrough(new CompressionStream("deflate-raw"));
  const bytes = new Uint8Array(await new Response(s).arrayBuffer());
  let bin = ""; for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin);
}
async function inflate(b64) {
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const s = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate-raw"));
  return await new Response(s).text();
}

// -- the IM connection ---------------------------------------------------------------------
function sendFrame(f) { ws.send(JSON.stringify(f)); }
async function sendCall(kind, fields) {
  const body = Object.assign({call: kind, id: call.id, device: DEVICE}, fields || {});
  if (body.sdp) body.sdp = loopbackSdp(body.sdp);
  let text = JSON.stringify(body);
  if (body.sdp && new TextEncoder().encode(text).length > MAX_BODY_BYTES) {
    body.sdpz = await deflate(body.sdp);
    delete body.sdp;
    text = JSON.stringify(body);
  }
  const cid = cidPrefix + (++cidCounter);
  pendingCids[cid] = text;
  note("out", P.user, body);
  sendFrame({type: "send", conv: P.conv, cid, body: text});
}
function connect() {
  ws = new WebSocket(P.ws);
  ws.onopen = () => sendFrame({type: "auth", user: P.user, token: P.token, device: DEVICE});
  ws.onmessage = (ev) => onFrame(JSON.parse(ev.data));
  ws.onclose = () => { ws = null; show(); setTimeout(connect, 500); };
}
let queue = Promise.resolve();  // handle frames one at a time, in arrival order
function onFrame(f) { queue = queue.then(() => handleFrame(f)).catch((e) => call.errors.push(String(e))); }
async function handleFrame(f) {
  if (f.type === "auth_ok") {
    $("me").textContent = f.user; show();
    sendFrame({type: "sync", conv: P.conv, since: 0});  // pull what was stored while away
  } else if (f.type === "msg") {
    await onMessage(f);
  } else if (f.type === "sync_ok") {
    for (const m of f.messages) await onMessage(Object.assign({conv: f.conv}, m));
    if (f.more && f.messages.length) sendFrame({type: "sync", conv: f.conv, since: f.messages[f.messages.length - 1].seq});
  } else if (f.type === "ack") {
    seen.add(f.seq);
    const text = pendingCids[f.cid]; delete pendingCids[f.cid];
    if (text) {
      const b = JSON.parse(text);
      if (b.call === "offer" && b.id === call.id && call.direction === "out" && call.offerTs === null) {
        call.offerTs = f.ts; call.marks.offer_stored = now();
        if (call.state === "ringing") call.deadline = f.ts + RING_TIMEOUT_S;
      }
      if (b.call === "accept" && b.id === call.id) call.marks.accept_stored = now();
    }
  } else if (f.type === "error") {
    call.errors.push(f.code + ": " + f.reason);
  }
}

// -- the call state machine (as rtlib.signal.machine.CallMachine) ---------------------------
async function parseBody(text) {
  if (typeof text !== "string" || !text.trimStart().startsWith("{")) return null;
  let b; try { b = JSON.parse(text); } catch (e) { return null; }
  if (!b || typeof b !== "object" || !("call" in b)) return null;
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(b.id || "") || typeof b.device !== "string") throw new Error("bad call body");
  if (b.sdpz) { b.sdp = await inflate(b.sdpz); delete b.sdpz; }
  if (b.sdp) b.sdp = loopbackSdp(b.sdp);
  if (b.call === "candidate" && !isLoopbackCandidate(b.candidate || "")) throw new Error("non-loopback candidate");
  return b;
}
async function onMessage(m) {
  if (m.conv !== P.conv || seen.has(m.seq)) return;
  seen.add(m.seq);
  let b;
  try { b = await parseBody(m.body); } catch (e) { call.errors.push(String(e)); return; }
  if (!b) return;
  const key = [b.id, b.call, b.device, m.sender].join("/");
  if (handled.has(key) && b.call !== "candidate") return;
  handled.add(key);
  note("in", m.sender, b);
  if (m.sender === P.user) return ownMessage(b);
  if (m.sender !== P.peer) return;
  if (b.call === "offer") return peerOffer(b, m.ts);
  if (b.id !== call.id || call.state === "idle" || call.state === "ended") return;
  if (b.call === "ring") { if (call.state === "ringing") call.marks.remote_ringing = call.marks.remote_ringing || now(); }
  else if (b.call === "accept" && call.direction === "out") {
    if (call.state === "ringing") { call.remoteDevice = b.device; call.deadline = now() + CONNECT_TIMEOUT_S; go("connecting"); }
  } else if (b.call === "answer" && call.direction === "out") {
    if (call.state === "connecting" && b.device === call.remoteDevice && !call.marks.answer) {
      call.marks.answer = now();
      await pc.setRemoteDescription({type: "answer", sdp: b.sdp});
    }
  } else if (b.call === "candidate") {
    if (pc && (call.remoteDevice === null || b.device === call.remoteDevice)) await pc.addIceCandidate({candidate: b.candidate, sdpMid: "0"});
  } else if (b.call === "reject" && call.direction === "out") {
    if (call.state === "ringing") end(b.reason);
  } else if (b.call === "hangup") {
    if (call.direction === "out" && call.remoteDevice && b.device !== call.remoteDevice) return;
    if (call.state === "ringing" && call.direction === "in") { call.missed.push(b.id); end("missed"); }
    else end("remote_hangup");
  }
}
function ownMessage(b) {
  if (b.id !== call.id || b.device === DEVICE) return;
  if (call.state === "ringing" && call.direction === "in" && (b.call === "accept" || b.call === "reject")) {
    end(b.call === "accept" ? "answered_elsewhere" : "declined_elsewhere");
  } else if (call.state === "connecting" && call.direction === "in" && b.call === "accept" && !call.marks.accept_stored) {
    end("answered_elsewhere");
  }
}
async function peerOffer(b, ts) {
  if (b.id === call.id) return;
  if (now() - ts > RING_TIMEOUT_S) { if (!call.missed.includes(b.id)) call.missed.push(b.id); return; }
  if (call.state === "ringing" && call.direction === "out") {
    if (call.id < b.id) return;  // glare: our call id sorts first, we keep our offer
    await sendCall("hangup", {reason: "glare"});
    closeMedia();
    return incoming(b, ts, true);
  }
  if (call.state === "idle" || call.state === "ended") return incoming(b, ts, auto);
  if (call.state !== "ringing" || call.direction !== "out") {  // busy
    const mine = call.id; call.id = b.id; await sendCall("reject", {reason: "busy"}); call.id = mine;
  }
}
async function incoming(b, ts, answerNow) {
  Object.assign(call, {id: b.id, direction: "in", reason: null, offerSdp: b.sdp, offerTs: ts,
                       remoteDevice: b.device, deadline: ts + RING_TIMEOUT_S, marks: {offer_received: now()}});
  go("ringing");
  await sendCall("ring");
  if (answerNow) await answer();
}
function end(reason) {
  call.deadline = null;
  go("ended", reason);
  closeMedia();
}
setInterval(() => {
  if (call.deadline === null || now() < call.deadline) return;
  if (call.state === "ringing" && call.direction === "out") { sendCall("hangup", {reason: "timeout"}); end("no_answer"); }
  else if (call.state === "ringing") { call.missed.push(call.id); end("missed"); }
  else if (call.state === "connecting") { sendCall("hangup", {reason: "failed"}); end("failed"); }
}, 100);

// -- media -------------------------------------------------------------------------------
async function newPc() {
  closeMedia();
  pc = new RTCPeerConnection({iceServers: [], bundlePolicy: "max-bundle"});
  const thisPc = pc;
  pc.ontrack = (ev) => { $("remote").srcObject = ev.streams[0] || new MediaStream([ev.track]); };
  pc.onconnectionstatechange = () => {
    if (thisPc !== pc) return;
    call.marks["pc_" + pc.connectionState] = call.marks["pc_" + pc.connectionState] || now();
    if (pc.connectionState === "connected" && call.state === "connecting") { call.deadline = null; go("in_call"); }
    if (pc.connectionState === "failed" && (call.state === "connecting" || call.state === "in_call")) {
      sendCall("hangup", {reason: "failed"}); end("failed");
    }
  };
  if (!localStream) localStream = await navigator.mediaDevices.getUserMedia({audio: true, video: {width: 320, height: 240}});
  $("local").srcObject = localStream;
  return pc;
}
function gathered(p) {  // vanilla ICE: send the SDP once every (loopback) candidate is in it
  if (p.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(resolve, 3000);
    p.addEventListener("icegatheringstatechange", () => { if (p.iceGatheringState === "complete") { clearTimeout(t); resolve(); } });
  });
}
function closeMedia() {
  if (pc) { const p = pc; pc = null; p.close(); }
  $("remote").srcObject = null;
}
async function placeCall() {
  call.marks = {start: now()};
  const p = await newPc();
  for (const t of localStream.getTracks()) p.addTrack(t, localStream);
  await p.setLocalDescription(await p.createOffer());
  await gathered(p);
  Object.assign(call, {id: Array.from(crypto.getRandomValues(new Uint8Array(8)), (x) => x.toString(16).padStart(2, "0")).join(""),
                       direction: "out", reason: null, remoteDevice: null, offerTs: null,
                       deadline: now() + RING_TIMEOUT_S});
  go("ringing");
  await sendCall("offer", {sdp: p.localDescription.sdp});
}
async function answer() {
  if (call.state !== "ringing" || call.direction !== "in") return;
  const p = await newPc();
  await p.setRemoteDescription({type: "offer", sdp: call.offerSdp});
  for (const t of localStream.getTracks()) p.addTrack(t, localStream);
  await p.setLocalDescription(await p.createAnswer());
  await gathered(p);
  await sendCall("accept");
  await sendCall("answer", {sdp: p.localDescription.sdp});
  call.deadline = now() + CONNECT_TIMEOUT_S;
  go("connecting");
}
async function reject() {
  if (call.state !== "ringing" || call.direction !== "in") return;
  await sendCall("reject", {reason: "declined"}); end("declined");
}
async function hangup() {
  if (call.state === "ringing" && call.direction === "in") return reject();
  if (call.state === "idle" || call.state === "ended") return;
  await sendCall("hangup", {reason: "hangup"}); end("hangup");
}

// What the tests read: the browser's own getStats() counters for what it received.
window.rtlibStats = async function () {
  const out = {state: call.state, reason: call.reason};
  if (!pc) return out;
  (await pc.getStats()).forEach((s) => {
    if (s.type === "inbound-rtp") {
      out[s.kind] = {packetsReceived: s.packetsReceived, framesDecoded: s.framesDecoded,
                     totalSamplesReceived: s.totalSamplesReceived, bytesReceived: s.bytesReceived};
    }
    if (s.type === "transport" && s.selectedCandidatePairId) out.selectedPair = s.selectedCandidatePairId;
  });
  if (out.selectedPair) {  // the pair the media actually uses: both ends should be 127.0.0.1
    const all = await pc.getStats(), pair = all.get(out.selectedPair);
    const addr = (id) => { const c = all.get(id); return c.address + ":" + c.port + "/" + c.protocol; };
    out.selectedPair = {local: addr(pair.localCandidateId), remote: addr(pair.remoteCandidateId)};
  }
  return out;
};
for (const [id, fn] of [["call", placeCall], ["answer", answer], ["reject", reject], ["hangup", hangup]]) {
  $(id).onclick = () => { queue = queue.then(fn).catch((e) => call.errors.push(String(e))); };
}
$("device").textContent = DEVICE; $("peer").textContent = P.peer || "?";
show();
if (P.ws) connect(); else $("state").textContent = "no server: open the URL python -m rtlib call-demo prints";
