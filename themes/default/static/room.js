// The visit room and "Testa video": camera and microphone, one
// RTCPeerConnection to Tillit's SFU, signalling over the page's WebSocket
// (messages as in kernel/sfu/src/signal.rs).
//
// Sends audio and three simulcast layers of video (q, h, f); receives each
// other participant's tracks in streams named "p<peer>". Tells the SFU how
// large each video is shown, so it forwards the layer that fits, and stops
// encoding a layer when the SFU says nobody watches it. Recovers
// from a dropped connection by itself: the SFU restarts ICE on the
// receiving connection, and the publishing one joins afresh.
"use strict";

(() => {
  const root = document.getElementById("room");
  if (!root) return;
  const mode = root.dataset.mode;
  const T = JSON.parse(root.dataset.texts || "{}");
  // STUN/TURN servers and transport policy, from the installation's config.
  const rtcConfig = JSON.parse(root.dataset.ice || "{}");
  const $ = (id) => document.getElementById(id);
  const status = (text) => { const s = $("room-status") || $("test-result"); if (s) s.textContent = text; };

  let local = null;          // our MediaStream
  let ws = null;
  let pc = null;             // the connection we publish on (our offers)
  let sub = null;            // the one we receive on (the SFU's offers)
  let me = null;             // our peer id
  let ended = false;
  let leaving = false;
  let restartTimer = null;
  let rejoinDelay = 500;
  const peers = new Map();   // peer id -> { name, clinician, tile, stream }
  const layers = new Map();  // rid -> whether the SFU wants it sent
  let layerUpdates = Promise.resolve();
  const trail = [];          // the last signalling events, for support
  const note = (...what) => {
    trail.push(what.join(" "));
    if (trail.length > 50) trail.shift();
    console.warn("room:", ...what);
  };

  // --- devices -----------------------------------------------------------

  async function openDevices(cameraId, micId) {
    const video = { width: { ideal: 1280 }, height: { ideal: 720 } };
    if (cameraId) video.deviceId = { exact: cameraId };
    const audio = micId ? { deviceId: { exact: micId } } : true;
    const stream = await navigator.mediaDevices.getUserMedia({ audio, video });
    $("self-video").srcObject = stream;
    await listDevices(stream);
    return stream;
  }

  async function listDevices(stream) {
    const devices = await navigator.mediaDevices.enumerateDevices();
    const fill = (select, kind, track) => {
      if (!select) return;
      const current = track && track.getSettings().deviceId;
      select.replaceChildren(...devices.filter((d) => d.kind === kind).map((d, i) => {
        const o = new Option(d.label || `${kind} ${i + 1}`, d.deviceId);
        o.selected = d.deviceId === current;
        return o;
      }));
    };
    fill($("camera-select"), "videoinput", stream.getVideoTracks()[0]);
    fill($("mic-select"), "audioinput", stream.getAudioTracks()[0]);
  }

  async function switchDevice() {
    const next = await openDevices($("camera-select").value, $("mic-select").value);
    const old = local;
    local = next;
    if (pc) {
      for (const sender of pc.getSenders()) {
        if (!sender.track) continue;
        const t = sender.track.kind === "audio" ? next.getAudioTracks()[0] : next.getVideoTracks()[0];
        if (t) await sender.replaceTrack(t);
      }
    }
    applyMute();
    if (old) old.getTracks().forEach((t) => t.stop());
    if (mode === "test") meter();
  }

  // --- signalling --------------------------------------------------------

  function send(msg) {
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(msg));
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    ws = new WebSocket(scheme + location.host + root.dataset.ws);
    ws.onopen = () => { rejoinDelay = 500; send({ type: "join" }); };
    ws.onmessage = (e) => {
      const m = JSON.parse(e.data);
      if (m.type !== "speaker") trail.push("< " + m.type + (m.message ? ": " + m.message : ""));
      handle(m).catch((err) => note("failed to handle", m.type, err));
    };
    ws.onclose = () => {
      if (ended || leaving) return;
      status(T.reconnecting);
      setTimeout(rejoin, rejoinDelay);
      rejoinDelay = Math.min(rejoinDelay * 2, 8000);
    };
  }

  function closeConnections() {
    if (pc) { pc.close(); pc = null; }
    if (sub) { sub.close(); sub = null; }
  }

  function rejoin() {
    if (ended || leaving) return;
    closeConnections();
    layers.clear();
    for (const id of [...peers.keys()]) removePeer(id);
    if (ws) { ws.onclose = null; ws.close(); }
    connect();
  }

  async function handle(m) {
    switch (m.type) {
      case "joined":
        me = m.peer;
        await negotiate();
        break;
      case "answer":
        await pc.setRemoteDescription({ type: "answer", sdp: m.sdp });
        // What was switched off before joining (or before a rejoin) stays
        // so for the others.
        if (micOff) send({ type: "mute", kind: "audio", muted: true });
        if (cameraOff) send({ type: "mute", kind: "video", muted: true });
        break;
      case "offer": {
        if (!sub) receiving();
        await sub.setRemoteDescription({ type: "offer", sdp: m.sdp });
        const answer = await sub.createAnswer();
        await sub.setLocalDescription(answer);
        send({ type: "answer", sdp: answer.sdp });
        reportSizes();
        break;
      }
      case "peer-joined": addPeer(m.peer, m.name, m.clinician); joined(m.name); break;
      case "peer-left": left(m.peer); break;
      case "muted": {
        const p = peers.get(m.peer);
        if (p) { p[m.kind + "Muted"] = m.muted; paint(p); }
        break;
      }
      case "speaker":
        for (const [id, p] of peers) p.tile.classList.toggle("speaking", id === m.peer);
        $("tile-self").classList.toggle("speaking", m.peer === me);
        break;
      case "quality": {
        const p = peers.get(m.peer);
        if (p) { p.poor = m.poor; paint(p); }
        break;
      }
      case "layer":
        layers.set(m.rid, m.active);
        // One update at a time: setParameters refuses parameters read
        // before another update landed.
        layerUpdates = layerUpdates.then(applyLayers).catch((err) => note("layer update failed", err));
        break;
      case "plugin":
        // For the plugin's panel (plugins.js): data-tillit-live elements.
        window.dispatchEvent(new CustomEvent("tillit:plugin", { detail: { plugin: m.plugin, message: m.message } }));
        break;
      case "media":
        status(m.flowing ? "" : T.reconnecting);
        if (mode === "test" && m.flowing) checkFlow();
        break;
      case "ended":
        ended = true;
        end(T.ended);
        break;
      // Closed by the kernel for good: rejoining would fail, or (replaced
      // by another window) take the room back from it, back and forth.
      case "replaced":
        ended = true;
        end(T.replaced);
        break;
      case "session-ended":
        ended = true;
        end(T.session_ended);
        break;
      case "rejoin":
        rejoin();
        break;
      case "error":
        if (m.code === "full") { ended = true; end(T.full); }
        console.warn("room: the server said", m.code, m.message);
        break;
    }
  }

  async function negotiate() {
    pc = new RTCPeerConnection({ ...rtcConfig, bundlePolicy: "max-bundle" });
    const [audio] = local.getAudioTracks();
    const [video] = local.getVideoTracks();
    if (audio) pc.addTransceiver(audio, { direction: "sendonly", streams: [local] });
    if (video) {
      pc.addTransceiver(video, {
        direction: "sendonly",
        streams: [local],
        sendEncodings: [
          { rid: "q", scaleResolutionDownBy: 4, maxBitrate: 150000 },
          { rid: "h", scaleResolutionDownBy: 2, maxBitrate: 500000 },
          { rid: "f", maxBitrate: 1500000 },
        ],
      });
    }
    pc.onicecandidate = (e) => trail.push("candidate " + (e.candidate ? e.candidate.candidate : "end"));
    pc.onicecandidateerror = (e) => trail.push("candidate error " + e.errorCode + " " + e.errorText);
    pc.oniceconnectionstatechange = () => {
      const s = pc && pc.iceConnectionState;
      trail.push("ice " + s);
      if (s === "connected" || s === "completed") {
        clearTimeout(restartTimer);
        restartTimer = null;
        status("");
      } else if ((s === "disconnected" || s === "failed") && !restartTimer) {
        // The SFU restarts ICE on the receiving connection; this one (ours)
        // is joined afresh, since renegotiating it would make the SFU lose
        // track of our simulcast streams.
        status(T.reconnecting);
        restartTimer = setTimeout(() => {
          restartTimer = null;
          const now = pc && pc.iceConnectionState;
          if (now !== "connected" && now !== "completed") rejoin();
        }, s === "failed" ? 0 : 3000);
      }
    };
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    send({ type: "offer", sdp: offer.sdp });
  }

  // Pauses or resumes our simulcast encodings as the SFU asked. A browser
  // that sends one encoding (no RIDs) sends the lowest layer, "q".
  async function applyLayers() {
    const sender = pc && pc.getSenders().find((s) => s.track && s.track.kind === "video");
    if (!sender) return;
    const params = sender.getParameters();
    const encodings = params.encodings || [];
    let changed = false;
    for (const e of encodings) {
      const rid = e.rid || (encodings.length === 1 ? "q" : null);
      const want = rid && layers.get(rid);
      if (want !== undefined && want !== null && e.active !== want) {
        e.active = want;
        changed = true;
      }
    }
    if (changed) {
      await sender.setParameters(params);
      trail.push("layers " + encodings.map((e) => (e.rid || "-") + (e.active ? "+" : "-")).join(" "));
    }
  }

  // The connection the others' media arrives on, offered by the SFU.
  function receiving() {
    sub = new RTCPeerConnection({ ...rtcConfig, bundlePolicy: "max-bundle" });
    sub.ontrack = (e) => {
      const stream = e.streams[0];
      if (!stream || !stream.id.startsWith("p")) return;
      const id = Number(stream.id.slice(1));
      const p = peers.get(id) || addPeer(id, "", false);
      p.stream = stream;
      p.tile.querySelector("video").srcObject = stream;
      // A muted video track sends no frames (the SFU stopped forwarding
      // it): show the initials until it comes back.
      if (e.track.kind === "video") {
        e.track.addEventListener("mute", () => { p.hasVideo = false; paint(p); });
        e.track.addEventListener("unmute", () => {
          p.hasVideo = p.tile.querySelector("video").videoWidth > 0;
          paint(p);
        });
      }
    };
    // The SFU restarts ICE on this connection itself; if media does not
    // come back within a while, join afresh.
    let stalled = null;
    sub.oniceconnectionstatechange = () => {
      const s = sub && sub.iceConnectionState;
      trail.push("receiving " + s);
      if (s === "connected" || s === "completed") {
        clearTimeout(stalled);
        stalled = null;
      } else if (s === "failed") {
        rejoin();
      } else if (s === "disconnected" && !stalled) {
        stalled = setTimeout(() => {
          const now = sub && sub.iceConnectionState;
          if (now !== "connected" && now !== "completed") rejoin();
        }, 12000);
      }
    };
  }

  // --- participants ------------------------------------------------------

  function addPeer(id, name, clinician) {
    let p = peers.get(id);
    if (!p) {
      const tile = document.createElement("figure");
      tile.className = "tile";
      tile.dataset.peer = String(id);
      const video = document.createElement("video");
      video.autoplay = true;
      video.playsInline = true;
      const avatar = document.createElement("span");
      avatar.className = "avatar";
      avatar.setAttribute("aria-hidden", "true");
      const caption = document.createElement("figcaption");
      caption.innerHTML = '<span class="name"></span> <span class="state"></span>';
      tile.append(video, avatar, caption);
      $("tiles").append(tile);
      p = { tile, stream: null, audioMuted: false, videoMuted: false, poor: false, hasVideo: false };
      peers.set(id, p);
      // Black until the first frame: initials until then.
      const shows = () => { p.hasVideo = video.videoWidth > 0; paint(p); };
      video.addEventListener("loadeddata", shows);
      video.addEventListener("resize", shows);
      video.addEventListener("emptied", shows);
      sizes.observe(tile);
    }
    if (name) { p.name = name; p.clinician = clinician; }
    paint(p);
    return p;
  }

  // "KL" for "Karin Lindblad"; a name that is already initials (how
  // patients see other patients) as it is.
  function initialsOf(name) {
    const words = (name || "").trim().split(/\s+/).filter(Boolean);
    if (!words.length) return "";
    if (words.length === 1) return words[0].slice(0, 3).toUpperCase();
    return (words[0][0] + words[words.length - 1][0]).toUpperCase();
  }

  function paint(p) {
    const name = p.tile.querySelector(".name");
    name.textContent = (p.name || "") + (p.clinician ? ` (${T.clinician})` : "");
    p.tile.querySelector(".avatar").textContent = initialsOf(p.name);
    p.tile.classList.toggle("no-video", p.videoMuted || !p.hasVideo);
    const states = [];
    if (p.poor) states.push(T.poor);
    if (p.audioMuted) states.push(T.muted);
    if (p.videoMuted) states.push(T.camera_off);
    p.tile.querySelector(".state").textContent = states.join(" · ");
    p.tile.classList.toggle("poor", p.poor);
    p.tile.classList.toggle("muted", p.audioMuted);
  }

  function removePeer(id) {
    const p = peers.get(id);
    if (!p) return;
    sizes.unobserve(p.tile);
    p.tile.remove();
    peers.delete(id);
  }

  // Who left, told to those who stay (in a live region). A moment's grace:
  // a participant whose connection drops and rejoins at once, or a visit
  // that is ending for everyone, is no news.
  const newsTimers = new Set();
  let lastLeft = null;       // the name the news last said had left
  function news(text) {
    const el = $("room-news");
    if (el) el.textContent = text;
  }

  function left(id) {
    const p = peers.get(id);
    removePeer(id);
    if (!p || !p.name) return;
    const timer = setTimeout(() => {
      newsTimers.delete(timer);
      if (ended || leaving) return;
      const back = [...peers.values()].some((q) => q.name === p.name && q.clinician === p.clinician);
      if (back) return;
      const clinicianStays = [...peers.values()].some((q) => q.clinician);
      const patient = root.dataset.viewer === "patient";
      news(p.clinician && patient && !clinicianStays
        ? T.clinician_left
        : (T.left_named || "").replace("{name}", p.name));
      lastLeft = p.name;
    }, 2000);
    newsTimers.add(timer);
  }

  function joined(name) {
    if (name && name === lastLeft) {
      lastLeft = null;
      news((T.returned || "").replace("{name}", name));
    }
  }

  // The size each video is shown at, so the SFU sends the layer that fits.
  const sizes = new ResizeObserver(() => reportSizes());
  function reportSizes() {
    for (const [id, p] of peers) {
      const r = p.tile.getBoundingClientRect();
      const scale = window.devicePixelRatio || 1;
      send({ type: "show", peer: id, width: Math.round(r.width * scale), height: Math.round(r.height * scale) });
    }
  }

  // --- controls ----------------------------------------------------------

  let micOff = false;
  let cameraOff = false;
  function applyMute() {
    if (!local) return;
    local.getAudioTracks().forEach((t) => { t.enabled = !micOff; });
    local.getVideoTracks().forEach((t) => { t.enabled = !cameraOff; });
  }

  // The button keeps its name ("Mikrofon av"); aria-pressed, its look and
  // the self tile say whether it is switched off.
  function toggle(button, isOff, kind) {
    button.setAttribute("aria-pressed", String(isOff));
    applyMute();
    send({ type: "mute", kind, muted: isOff });
    paintSelf();
  }

  function paintSelf() {
    const tile = $("tile-self");
    const self = tile.querySelector(".state");
    if (self) self.textContent = [micOff ? T.muted : "", cameraOff ? T.camera_off : ""].filter(Boolean).join(" · ");
    const video = local && local.getVideoTracks().length > 0;
    if (tile.querySelector(".avatar")) tile.classList.toggle("no-video", cameraOff || !video);
  }

  function end(text) {
    for (const t of newsTimers) clearTimeout(t);
    newsTimers.clear();
    const dialog = $("end-dialog");
    if (dialog && dialog.open) dialog.close();
    closeConnections();
    if (ws) { ws.onclose = null; ws.close(); }
    if (local) local.getTracks().forEach((t) => t.stop());
    for (const id of [...peers.keys()]) removePeer(id);
    const notice = $("room-ended");
    if (notice) {
      notice.hidden = false;
      notice.firstChild.textContent = text + " ";
    } else {
      status(text);
    }
    const controls = $("controls");
    if (controls) controls.hidden = true;
    // The control that had focus is gone: keyboard and screen-reader users
    // continue from what happened.
    if (notice) notice.focus();
  }

  // --- "Testa video" -----------------------------------------------------

  let meterTimer = null;
  function meter() {
    const AudioCtx = window.AudioContext || window.webkitAudioContext;
    if (!AudioCtx || !local.getAudioTracks().length) return;
    const ctx = new AudioCtx();
    const analyser = ctx.createAnalyser();
    ctx.createMediaStreamSource(local).connect(analyser);
    const data = new Float32Array(analyser.fftSize);
    clearInterval(meterTimer);
    meterTimer = setInterval(() => {
      analyser.getFloatTimeDomainData(data);
      let peak = 0;
      for (const v of data) peak = Math.max(peak, Math.abs(v));
      $("mic-level").value = Math.min(1, peak * 2);
    }, 100);
  }

  function testSound() {
    const AudioCtx = window.AudioContext || window.webkitAudioContext;
    const ctx = new AudioCtx();
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    osc.frequency.value = 440;
    gain.gain.setValueAtTime(0.2, ctx.currentTime);
    gain.gain.exponentialRampToValueAtTime(0.001, ctx.currentTime + 1);
    osc.connect(gain).connect(ctx.destination);
    osc.start();
    osc.stop(ctx.currentTime + 1);
  }

  // The SFU said the connection is up; media flows if what we send leaves.
  async function checkFlow() {
    const sent = async () => {
      let bytes = 0;
      (await pc.getStats()).forEach((r) => { if (r.type === "outbound-rtp") bytes += r.bytesSent || 0; });
      return bytes;
    };
    const first = await sent();
    await new Promise((r) => setTimeout(r, 1500));
    const ok = (await sent()) > first;
    const result = $("test-result");
    result.dataset.result = ok ? "ok" : "failed";
    result.textContent = ok ? T.flowing : T.lost;
    if (ws) { ws.onclose = null; ws.close(); }
    if (pc) { pc.close(); pc = null; }
  }

  // The side panel: plugin tabs, and a button that shows or hides it (the
  // call goes on either way). The tabs follow the ARIA tabs pattern: one
  // Tab stop, arrow keys (and Home, End) move between tabs and show each.
  function panel() {
    const aside = $("side-panel");
    if (!aside) return;
    const tabs = [...aside.querySelectorAll('[role="tab"]')];
    const select = (tab) => {
      for (const t of tabs) {
        const on = t === tab;
        t.setAttribute("aria-selected", on ? "true" : "false");
        t.tabIndex = on ? 0 : -1;
        $(t.getAttribute("aria-controls")).hidden = !on;
      }
    };
    for (const tab of tabs) {
      tab.addEventListener("click", () => select(tab));
      tab.addEventListener("keydown", (e) => {
        const i = tabs.indexOf(tab);
        const to = {
          ArrowRight: tabs[(i + 1) % tabs.length],
          ArrowLeft: tabs[(i - 1 + tabs.length) % tabs.length],
          Home: tabs[0],
          End: tabs[tabs.length - 1],
        }[e.key];
        if (!to) return;
        e.preventDefault();
        select(to);
        to.focus();
      });
    }
    const toggle = $("toggle-panel");
    if (toggle) {
      toggle.addEventListener("click", () => {
        aside.hidden = !aside.hidden;
        toggle.setAttribute("aria-expanded", aside.hidden ? "false" : "true");
        reportSizes();
      });
    }
  }

  // The planned time: before the planned start (a visit may be started
  // early) the minutes until it, then the minutes left of its planned
  // length, then minutes past (the visit goes on until a clinician ends it).
  function clock() {
    const el = $("room-time");
    if (!el || root.dataset.endsIn === undefined) return;
    const now = performance.now();
    const starts = now + Number(root.dataset.startsIn || 0);
    const ends = now + Number(root.dataset.endsIn);
    const show = () => {
      const t = performance.now();
      const left = ends - t;
      let text;
      if (starts - t > 0) {
        text = T.starts_in.replace("{minutes}", Math.ceil((starts - t) / 60000));
      } else if (left >= 0) {
        // Minutes begun before the end, minutes completed after it.
        text = T.time_left.replace("{minutes}", Math.ceil(left / 60000));
      } else {
        text = T.over_time.replace("{minutes}", Math.max(1, Math.floor(-left / 60000)));
      }
      el.textContent = text;
      el.classList.toggle("over", left < 0);
    };
    show();
    setInterval(show, 10000);
  }

  // Ending the visit for everyone asks first. Without scripts the control
  // is a link to the confirmation page; here it becomes a button that
  // opens the same question in a dialog (Esc or "Avbryt" cancels, and
  // focus returns to the button).
  function endDialog() {
    const link = $("end-visit");
    const dialog = $("end-dialog");
    if (!link || !dialog || typeof dialog.showModal !== "function") return;
    const button = document.createElement("button");
    button.type = "button";
    button.id = link.id;
    button.className = link.className;
    button.setAttribute("aria-haspopup", "dialog");
    button.append(...link.childNodes);
    link.replaceWith(button);
    button.addEventListener("click", () => dialog.showModal());
    $("end-cancel").addEventListener("click", () => dialog.close());
    dialog.addEventListener("close", () => { if (!ended) button.focus(); });
  }

  // Camera and microphone choice: a popover that Esc closes, as it does a
  // click elsewhere.
  function settings() {
    const details = $("device-settings");
    if (!details) return;
    const summary = details.querySelector("summary");
    details.addEventListener("keydown", (e) => {
      if (e.key === "Escape" && details.open) {
        e.preventDefault();
        details.open = false;
        summary.focus();
      }
    });
    document.addEventListener("click", (e) => {
      if (details.open && !details.contains(e.target)) details.open = false;
    });
  }

  // --- start -------------------------------------------------------------

  async function start() {
    // The room's own controls work before (and without) camera and
    // microphone: the panel, the time, leaving and ending.
    if (mode === "room") {
      $("toggle-mic").addEventListener("click", (e) => { micOff = !micOff; toggle(e.currentTarget, micOff, "audio"); });
      $("toggle-camera").addEventListener("click", (e) => { cameraOff = !cameraOff; toggle(e.currentTarget, cameraOff, "video"); });
      $("leave").addEventListener("click", () => {
        leaving = true;
        send({ type: "leave" });
        end(T.left);
      });
      window.addEventListener("pagehide", () => send({ type: "leave" }));
      panel();
      settings();
      endDialog();
      clock();
    }
    try {
      local = await openDevices();
    } catch (err) {
      status(T.no_devices);
      console.warn("room:", err);
      if (mode !== "test") return;
    }
    for (const id of ["camera-select", "mic-select"]) {
      const el = $(id);
      if (el) el.addEventListener("change", () => switchDevice().catch((e) => console.warn("room:", e)));
    }
    if (mode === "room") {
      applyMute();
      paintSelf();
      if (!leaving) connect();
    } else {
      if (local) meter();
      $("test-sound").addEventListener("click", testSound);
      $("test-connection").addEventListener("click", () => {
        const result = $("test-result");
        result.dataset.result = "running";
        result.textContent = T.connecting;
        if (local) connect();
      });
    }
  }

  // For support and tests: what this page receives, per participant.
  window.tillitRoom = {
    async inbound() {
      if (!sub) return [];
      const out = [];
      (await sub.getStats()).forEach((r) => {
        if (r.type === "inbound-rtp" && r.kind === "video") {
          out.push({
            framesDecoded: r.framesDecoded || 0, width: r.frameWidth || 0, height: r.frameHeight || 0,
            packetsReceived: r.packetsReceived, packetsLost: r.packetsLost, nackCount: r.nackCount,
            pliCount: r.pliCount, keyFramesDecoded: r.keyFramesDecoded, framesDropped: r.framesDropped,
          });
        }
      });
      return out;
    },
    // What we send, per simulcast layer: bytes so far.
    async outbound() {
      if (!pc) return [];
      const out = [];
      (await pc.getStats()).forEach((r) => {
        if (r.type === "outbound-rtp" && r.kind === "video") out.push({ rid: r.rid || "", bytesSent: r.bytesSent || 0 });
      });
      return out.sort((a, b) => a.rid.localeCompare(b.rid));
    },
    state: () => ({
      ws: ws && ws.readyState,
      pc: pc && pc.connectionState,
      ice: pc && pc.iceConnectionState,
      signaling: pc && pc.signalingState,
      receiving: sub && sub.connectionState,
      remote: sub && sub.remoteDescription && sub.remoteDescription.sdp,
      trail,
    }),
    // The kind of local candidate each connection uses (host, relay, …),
    // and its port.
    async routes() {
      // The local end of the pair media actually flows on. With several
      // host candidates (one per interface, each its own port) more than
      // one pair can be nominated, and the browser's "selected" pair need
      // not be the one the SFU sends to: the bytes tell.
      const local = async (c, bytes) => {
        if (!c) return null;
        const stats = await c.getStats();
        let best = null;
        stats.forEach((r) => {
          if (r.type === "candidate-pair" && r.state === "succeeded" && (!best || (r[bytes] || 0) > (best[bytes] || 0))) best = r;
        });
        return best ? stats.get(best.localCandidateId) || null : null;
      };
      const [p, r] = [await local(pc, "bytesSent"), await local(sub, "bytesReceived")];
      // Every local port a succeeded pair of the receiving connection has:
      // the SFU may move to another of them (as ICE allows) when one fails.
      const receivePorts = [];
      if (sub) {
        const stats = await sub.getStats();
        stats.forEach((x) => {
          const l = x.type === "candidate-pair" && x.state === "succeeded" && stats.get(x.localCandidateId);
          if (l && !receivePorts.includes(l.port)) receivePorts.push(l.port);
        });
      }
      return {
        publish: p && p.candidateType, receive: r && r.candidateType,
        publishPort: p && p.port, receivePort: r && r.port, receivePorts,
      };
    },
    peers: () => [...peers.entries()].map(([id, p]) => ({ id, name: p.name, poor: !!p.poor, width: p.tile.querySelector("video").videoWidth })),
  };

  start();
})();
