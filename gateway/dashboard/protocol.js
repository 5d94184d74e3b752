/* The websocket client: the gateway's public protocol, as every other client speaks it
 * (gateway/messages.py, gateway/client.py, gateway/resume.py; README "Websocket
 * gateway").
 *
 * welcome -> (auth) -> subscribe with `since` -> subscribed -> per channel a `snapshot`
 * or `resumed` header and its `count` catch-up messages -> live data. Heartbeats keep
 * the line provably alive; three heartbeat intervals of silence close and reconnect.
 * Reconnects back off exponentially with jitter and resume from the last complete
 * position of each channel, so the gateway sends exactly what was missed (or says why
 * it cannot, with a fresh snapshot). */
"use strict";
(function (R) {
  const CHANNELS = ["signals", "metrics"];
  const TOKEN_KEY = "rotation.gateway-token";
  const RECEIVED_MAX = 100000;
  const REMEMBER_SIGNALS = 10000;
  const BACKOFF_FIRST = 0.4; // s; times 0.6..1.2 of jitter: the first retry after 0.24-0.48 s
  const BACKOFF_CAP = 10; // s

  /** Every signal message as it came off the wire, before de-duplication (for tests). */
  R.received = R.received || [];

  /** Positions per channel and the signal ids delivered, across connections: a port of
   * gateway/resume.py. A snapshot's position counts only once all its messages are in. */
  class Resume {
    constructor() {
      this.positions = new Map(); // channel -> {epoch, seq}
      this.catchingUp = new Map(); // channel -> {header, left}
      this.signalIds = new Set();
      this.signalOrder = [];
    }

    since(channels) {
      const out = {};
      for (const c of channels) if (this.positions.has(c)) out[c] = this.positions.get(c);
      return out;
    }

    disconnected() {
      this.catchingUp.clear();
    }

    isCatchingUp(channel) {
      return this.catchingUp.has(channel);
    }

    header(message) {
      const channel = message.channel;
      const snapshot = message.type === "snapshot";
      const head = snapshot ? message.seq : message.to_seq;
      if (snapshot) this.positions.delete(channel);
      if (message.count === 0) {
        this.catchingUp.delete(channel);
        this.positions.set(channel, { epoch: message.epoch, seq: head });
      } else {
        this.catchingUp.set(channel, { header: message, left: message.count });
      }
    }

    /** "live", "catch_up" or "seen" (a signal already delivered). */
    data(message) {
      const channel = message.channel;
      const catchUp = this.catchingUp.get(channel);
      if (catchUp === undefined || catchUp.header.type === "resumed") {
        this.positions.set(channel, { epoch: message.epoch, seq: message.seq });
      }
      const delivery = catchUp === undefined ? "live" : "catch_up";
      if (catchUp !== undefined) {
        catchUp.left -= 1;
        if (catchUp.left <= 0) {
          const h = catchUp.header;
          this.positions.set(channel, { epoch: h.epoch, seq: h.type === "snapshot" ? h.seq : h.to_seq });
          this.catchingUp.delete(channel);
        }
      }
      if (message.type === "signal") {
        const id = message.data && message.data.id;
        if (this.signalIds.has(id)) return "seen";
        this.signalIds.add(id);
        this.signalOrder.push(id);
        if (this.signalOrder.length > REMEMBER_SIGNALS * 1.5) {
          for (const old of this.signalOrder.splice(0, this.signalOrder.length - REMEMBER_SIGNALS)) {
            this.signalIds.delete(old);
          }
        }
      }
      return delivery;
    }
  }

  function gatewayUrl() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    return `${scheme}//${location.host}/ws`;
  }

  function storedToken() {
    try { return sessionStorage.getItem(TOKEN_KEY); } catch (e) { return null; }
  }

  function storeToken(token) {
    try {
      if (token === null) sessionStorage.removeItem(TOKEN_KEY);
      else sessionStorage.setItem(TOKEN_KEY, token);
    } catch (e) { /* storage refused (private mode): the token lives in memory only */ }
  }

  function isPosition(v) {
    return v && typeof v.epoch === "string" && Number.isInteger(v.seq) && v.seq >= 0;
  }

  /**
   * The connection. `handlers`:
   *   status(state, text)  state: connecting | live | reconnecting | auth | refused
   *   notice(kind, text)   the latest notice (kind: slow_client, shutdown, resume_refused,
   *                        unauthorized, resumed, error, connect_failed)
   *   data(message, catchUp)  a signal or metrics message to show (signals once per id)
   *   heartbeat()          any message arrived (the wall clock of the last one)
   */
  class Gateway {
    constructor(handlers, url) {
      this.handlers = handlers;
      this.url = url || gatewayUrl();
      this.resume = new Resume();
      this.ws = null;
      this.token = storedToken();
      this.attempt = 0;
      this.retryTimer = null;
      this.silenceTimer = null;
      this.heartbeatInterval = 5;
      this.waitingForToken = false;
      this.everLive = false;
      this.closeNotice = null; // what the next close means, said by the gateway first
      this.caughtUp = { resumed: 0, refused: null };
    }

    start() {
      this.connect();
    }

    position(channel) {
      return this.resume.positions.get(channel) || { epoch: "", seq: 0 };
    }

    /** The user typed a token into the auth form. */
    submitToken(token) {
      this.token = token;
      storeToken(token);
      this.waitingForToken = false;
      const ws = this.ws;
      if (ws && ws.readyState === WebSocket.OPEN && this.awaitingAuth) {
        this.sendAuthAndSubscribe(ws);
      } else {
        this.reconnectNow();
      }
    }

    reconnectNow() {
      clearTimeout(this.retryTimer);
      this.retryTimer = null;
      this.detach();
      this.connect();
    }

    connect() {
      this.retryTimer = null;
      this.status(this.everLive ? "reconnecting" : "connecting", this.everLive ? "reconnecting…" : "connecting…");
      let ws;
      try {
        ws = new WebSocket(this.url);
      } catch (e) {
        console.warn("rotation: cannot open", this.url, e);
        this.scheduleRetry("cannot open the websocket");
        return;
      }
      this.ws = ws;
      this.opened = false;
      this.awaitingAuth = false;
      this.closeNotice = null;
      ws.onopen = () => { this.opened = true; this.watch(); };
      ws.onmessage = (event) => { if (this.ws === ws) this.onFrame(ws, event.data); };
      ws.onerror = () => { /* the close event that follows says what happened */ };
      ws.onclose = (event) => { if (this.ws === ws) this.onClose(event); };
    }

    /** Forget the current socket (its late events are ignored) and close it. */
    detach() {
      clearTimeout(this.silenceTimer);
      const ws = this.ws;
      this.ws = null;
      this.resume.disconnected();
      if (ws) {
        ws.onopen = ws.onmessage = ws.onerror = ws.onclose = null;
        try { ws.close(); } catch (e) { /* already closed */ }
      }
    }

    /** Restart the silence timer: 3 heartbeat intervals without a message is a dead line. */
    watch() {
      clearTimeout(this.silenceTimer);
      const ws = this.ws;
      this.silenceTimer = setTimeout(() => {
        if (this.ws !== ws) return;
        const quiet = (3 * this.heartbeatInterval).toFixed(0);
        this.notice("connect_failed", `no heartbeat for ${quiet} s: reconnecting`);
        this.detach();
        this.scheduleRetry(`no heartbeat for ${quiet} s`);
      }, 3 * this.heartbeatInterval * 1000 + 500);
    }

    send(ws, request) {
      ws.send(JSON.stringify(request));
    }

    sendAuthAndSubscribe(ws) {
      if (this.awaitingAuth) {
        this.send(ws, { op: "auth", token: this.token || "" });
        this.awaitingAuth = false;
      }
      const request = { op: "subscribe", channels: CHANNELS.slice() };
      const since = this.resume.since(CHANNELS);
      if (Object.keys(since).length) request.since = since;
      this.resuming = "since" in request;
      this.caughtUp = { resumed: 0, refused: null };
      this.send(ws, request);
    }

    onFrame(ws, frame) {
      this.watch();
      let message;
      try {
        message = JSON.parse(frame);
      } catch (e) {
        console.warn("rotation: a frame that is not JSON, skipped", String(frame).slice(0, 200));
        return;
      }
      try {
        this.handle(ws, message);
      } catch (e) {
        console.warn("rotation: a message could not be used, skipped", e, message);
      }
    }

    handle(ws, m) {
      if (!m || typeof m !== "object" || typeof m.type !== "string") {
        console.warn("rotation: a message without a type, skipped", m);
        return;
      }
      if (this.handlers.heartbeat) this.handlers.heartbeat();
      switch (m.type) {
        case "welcome": {
          const hb = Number(m.heartbeat_interval);
          this.heartbeatInterval = Number.isFinite(hb) && hb > 0 ? hb : 5;
          this.watch();
          if (m.auth_required) {
            this.awaitingAuth = true;
            if (!this.token) {
              this.waitingForToken = true;
              this.status("auth", "token needed");
              return;
            }
          }
          this.sendAuthAndSubscribe(ws);
          return;
        }
        case "authenticated":
          return;
        case "subscribed":
          this.attempt = 0;
          this.everLive = true;
          this.status("live", "live");
          return;
        case "snapshot":
        case "resumed":
          if (typeof m.channel !== "string" || typeof m.epoch !== "string" || !Number.isInteger(m.count)) {
            console.warn("rotation: a catch-up header without channel, epoch or count, skipped", m);
            return;
          }
          this.resume.header(m);
          if (m.type === "snapshot" && m.reason) {
            this.caughtUp.refused = m.reason;
            this.notice("resume_refused", `history no longer reaches back (${m.reason}): fresh snapshot`);
          } else if (m.type === "resumed") {
            this.caughtUp.resumed += m.count;
            if (this.caughtUp.refused === null) {
              this.notice("resumed", `resumed: ${this.caughtUp.resumed} missed message${this.caughtUp.resumed === 1 ? "" : "s"} caught up`);
            }
          }
          return;
        case "signal":
        case "metrics":
          this.onData(m);
          return;
        case "heartbeat":
        case "pong":
        case "conflated":
          return;
        case "error":
          this.onError(m);
          return;
        case "shutdown":
          if (m.code === 1012) {
            this.closeNotice = ["shutdown", "gateway restarting, reconnecting"];
          } else {
            this.closeNotice = ["shutdown", "gateway went away"];
          }
          this.notice(this.closeNotice[0], this.closeNotice[1]);
          return;
        default:
          console.warn("rotation: unknown message type, skipped:", m.type);
      }
    }

    onData(m) {
      if (typeof m.channel !== "string" || !Number.isInteger(m.seq) || typeof m.epoch !== "string") {
        console.warn("rotation: a data message without channel, seq or epoch, skipped", m);
        return;
      }
      const catchUp = this.resume.isCatchingUp(m.channel);
      if (m.type === "signal") {
        const received = R.received;
        received.push({
          channel: m.channel, epoch: m.epoch, seq: m.seq,
          id: m.data && typeof m.data === "object" ? m.data.id : undefined, catchUp,
        });
        if (received.length > RECEIVED_MAX) received.splice(0, received.length - RECEIVED_MAX);
      }
      const delivery = this.resume.data(m);
      if (delivery === "seen") return;
      this.handlers.data(m, delivery === "catch_up");
    }

    onError(m) {
      const code = m.code;
      if (code === "unauthorized") {
        this.token = null;
        storeToken(null);
        this.waitingForToken = true;
        this.notice("unauthorized", "the gateway refused the token: enter it again");
        this.status("auth", "token refused");
        return;
      }
      if (code === "slow_client") {
        this.closeNotice = ["slow_client", "fell behind, resuming"];
        this.notice("slow_client", "fell behind, resuming");
        return;
      }
      if (code === "too_many_connections") {
        this.closeNotice = ["refused", "the gateway has too many connections"];
      }
      this.notice("error", `gateway error ${code}: ${m.message || ""}`.trim());
    }

    onClose(event) {
      const wasOpen = this.opened;
      this.detach();
      if (this.waitingForToken) {
        this.status("auth", "token needed");
        return; // the auth form's submit reconnects
      }
      const code = event.code;
      let reason;
      if (this.closeNotice) {
        reason = this.closeNotice[1];
      } else if (code === 1012) {
        reason = "gateway restarting, reconnecting";
        this.notice("shutdown", reason);
      } else if (code === 1001) {
        reason = "gateway went away";
        this.notice("shutdown", reason);
      } else if (code === 1013) {
        reason = "fell behind, resuming";
        this.notice("slow_client", reason);
      } else if (!wasOpen) {
        reason = "cannot connect to the gateway";
        this.notice("connect_failed", `cannot connect to ${this.url}`);
      } else {
        reason = `connection closed (${code}${event.reason ? " " + event.reason : ""})`;
        this.notice("connect_failed", reason);
      }
      const refused = code === 1008 || (this.closeNotice && this.closeNotice[0] === "refused");
      this.scheduleRetry(reason, refused);
    }

    scheduleRetry(reason, refused = false) {
      clearTimeout(this.retryTimer);
      const delay = Math.min(BACKOFF_CAP, BACKOFF_FIRST * 2 ** this.attempt * (0.6 + 0.6 * Math.random()));
      this.attempt += 1;
      this.status(refused ? "refused" : "reconnecting", `${reason}; retrying in ${delay.toFixed(1)} s`);
      this.retryTimer = setTimeout(() => this.connect(), delay * 1000);
    }

    status(state, text) {
      this.handlers.status(state, text);
    }

    notice(kind, text) {
      this.handlers.notice(kind, text);
    }
  }

  R.protocol = { Gateway, Resume, CHANNELS, gatewayUrl, isPosition };
})(window.Rotation = window.Rotation || {});
