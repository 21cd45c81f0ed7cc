// The WebSocket to the plan, kept open: reconnects with exponential backoff and jitter,
// notices a silent network (heartbeat), and reports its state for the indicator.
//
// States: 'connecting' (first attempt), 'open' (socket open), 'reconnecting' (lost, trying
// again), 'offline' (the browser says so, or several attempts failed; still trying),
// 'ended' (session over: 4401), 'forbidden' (4403/4404: access gone; no retries).
//
// The backoff starts over only when a frame arrives on a socket, not when it opens: the
// server accepts a socket before it has joined the plan and may close it at once (1011
// while the database is down), and resetting on open would turn a server restart into a
// tight reconnect loop from every open page.

const BASE_DELAY = 500;
const MAX_DELAY = 30000;
const OFFLINE_AFTER_ATTEMPTS = 3;
const TICK = 5000;
const IDLE_PING = 25000; // ping after this long without any frame
const PONG_WAIT = 10000; // no frame this long after a ping: the socket is dead

export const CLOSE_UNAUTHENTICATED = 4401;
export const CLOSE_FORBIDDEN = 4403;
export const CLOSE_NOT_FOUND = 4404;
export const CLOSE_TOO_LARGE = 4413;
export const CLOSE_RATE_LIMITED = 4429;

/** Full-jitter backoff: random in [d/2, d] with d doubling per attempt up to MAX_DELAY. */
export function backoffDelay(attempt, random = Math.random) {
  const d = Math.min(MAX_DELAY, BASE_DELAY * 2 ** Math.min(attempt, 16));
  return Math.round(d / 2 + random() * (d / 2));
}

export class Connection {
  /**
   * @param {string|() => string} url  ws(s) URL, or a function giving it for each attempt
   *   (so a reconnect can name the revision to resume from)
   * @param {object} handlers  onOpen(), onMessage(obj), onState(state), onClose(code)
   */
  constructor(url, { onOpen, onMessage, onState, onClose } = {}, { WebSocketImpl = globalThis.WebSocket, win = globalThis } = {}) {
    this.url = url;
    this.onOpen = onOpen || (() => {});
    this.onMessage = onMessage || (() => {});
    this.onState = onState || (() => {});
    this.onClose = onClose || (() => {});
    this.WebSocketImpl = WebSocketImpl;
    this.win = win;
    this.ws = null;
    this.state = 'connecting';
    this.attempt = 0;
    this.everOpened = false;
    this.heard = false; // a frame arrived on the current socket (see the note at the top)
    this.stopped = false;
    this.retryTimer = null;
    this.pingTimer = null;
    this.lastFrameAt = 0;
    this._online = () => this.reconnectNow();
    this._offline = () => {
      if (this.ws) this.ws.close();
      this._setState('offline');
    };
    if (win && win.addEventListener) {
      win.addEventListener('online', this._online);
      win.addEventListener('offline', this._offline);
    }
  }

  start() {
    this.stopped = false;
    this._connect();
  }

  /** Close for good (page unload, access removed). */
  stop() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearInterval(this.pingTimer);
    if (this.ws) this.ws.close(1000);
    this.ws = null;
  }

  get isOpen() {
    return this.ws !== null && this.ws.readyState === 1;
  }

  /** Send one message; returns false (and sends nothing) while not connected. */
  send(message) {
    if (!this.isOpen) return false;
    this.ws.send(JSON.stringify(message));
    return true;
  }

  /** Try at once (the network is back, or the person pressed "try again"). */
  reconnectNow() {
    if (this.stopped || this.isOpen) return;
    clearTimeout(this.retryTimer);
    this.attempt = 0;
    if (this.ws) {
      const old = this.ws;
      this.ws = null;
      old.onclose = null;
      old.close();
    }
    this._connect();
  }

  _setState(state) {
    if (this.state === state) return;
    this.state = state;
    this.onState(state);
  }

  _connect() {
    if (this.stopped) return;
    let ws;
    try {
      ws = new this.WebSocketImpl(typeof this.url === 'function' ? this.url() : this.url);
    } catch {
      this._scheduleRetry();
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      if (this.ws !== ws) return;
      this.heard = false;
      this.everOpened = true;
      this.lastFrameAt = Date.now();
      this.pingAt = 0;
      this._setState('open');
      clearInterval(this.pingTimer);
      this.pingTimer = setInterval(() => this._heartbeat(), TICK);
      this.onOpen();
    };
    ws.onmessage = (event) => {
      if (this.ws !== ws) return;
      this.lastFrameAt = Date.now();
      if (!this.heard) {
        // The server joined us to the plan (snapshot, or you/ops on a resume).
        this.heard = true;
        this.attempt = 0;
      }
      let data;
      try {
        data = JSON.parse(event.data);
      } catch {
        return;
      }
      this.onMessage(data);
    };
    ws.onclose = (event) => {
      if (this.ws !== ws) return;
      this.ws = null;
      clearInterval(this.pingTimer);
      this.onClose(event.code);
      if (event.code === CLOSE_UNAUTHENTICATED) {
        this.stopped = true;
        this._setState('ended');
        return;
      }
      if (event.code === CLOSE_FORBIDDEN || event.code === CLOSE_NOT_FOUND) {
        this.stopped = true;
        this._setState('forbidden');
        return;
      }
      if (event.code === CLOSE_RATE_LIMITED) this.attempt = Math.max(this.attempt, 4);
      this._scheduleRetry();
    };
    // onerror is always followed by onclose; nothing to do here.
    ws.onerror = () => {};
  }

  _scheduleRetry() {
    if (this.stopped) return;
    const offline = this.win && this.win.navigator && this.win.navigator.onLine === false;
    this._setState(offline || this.attempt >= OFFLINE_AFTER_ATTEMPTS ? 'offline' : 'reconnecting');
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this._connect(), backoffDelay(this.attempt));
    this.attempt += 1;
  }

  _heartbeat() {
    if (!this.isOpen) return;
    const now = Date.now();
    if (this.pingAt && this.lastFrameAt < this.pingAt && now - this.pingAt > PONG_WAIT) {
      // A half-open TCP connection never fires onclose by itself: give up on it.
      const ws = this.ws;
      this.ws = null;
      ws.onclose = null;
      ws.close();
      clearInterval(this.pingTimer);
      this.onClose(1006);
      this._scheduleRetry();
      return;
    }
    if (now - this.lastFrameAt > IDLE_PING && !(this.pingAt > this.lastFrameAt)) {
      this.pingAt = now;
      this.send({ type: 'ping' });
    }
  }
}
