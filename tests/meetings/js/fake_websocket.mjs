// A WebSocket stand-in for the client tests: records what is sent, and lets the test
// open it, deliver frames and drop it. `FakeWebSocket.made` lists every socket made.

export class FakeWebSocket {
  static made = [];

  constructor(url) {
    this.url = url;
    this.readyState = 0;
    this.sent = [];
    FakeWebSocket.made.push(this);
  }

  send(data) {
    this.sent.push(JSON.parse(data));
  }

  close(code = 1000) {
    this.readyState = 3;
    if (this.onclose) this.onclose({ code });
  }

  // test helpers
  open() {
    this.readyState = 1;
    this.onopen();
  }

  frame(msg) {
    this.onmessage({ data: JSON.stringify(msg) });
  }

  drop(code = 1006) {
    this.readyState = 3;
    this.onclose({ code });
  }

  /** What was sent since the last take(), parsed. */
  take() {
    const out = this.sent;
    this.sent = [];
    return out;
  }
}

/** A window that is online and ignores listeners. */
export const win = { navigator: { onLine: true }, addEventListener() {} };
