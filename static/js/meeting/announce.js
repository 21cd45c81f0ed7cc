// Polite announcements for screen readers, and the brief highlight of a field someone
// else changed.  No inline styles (the CSP forbids them): classes and text only.

const FLASH_MS = 4000;
const KEEP = 5;

export class Announcer {
  constructor(region, { now = () => Date.now() } = {}) {
    this.region = region;
    this.now = now;
    this.recent = new Map();
  }

  /**
   * Say `text` politely.  With `key`, the same key is said at most once per `every` ms
   * (someone typing a sentence is announced once, not per keystroke).
   */
  say(text, { key = null, every = 10000 } = {}) {
    if (!this.region || !text) return;
    if (key !== null) {
      const last = this.recent.get(key);
      if (last !== undefined && this.now() - last < every) return;
      this.recent.set(key, this.now());
    }
    // A new node each time, so the same sentence twice is still read twice.
    const p = this.region.ownerDocument.createElement('p');
    p.textContent = text;
    this.region.append(p);
    while (this.region.children.length > KEEP) this.region.firstElementChild.remove();
  }
}

const timers = new WeakMap();

/** Highlight a live field's wrapper for a moment with a label naming who changed it. */
export function flash(wrapper, label) {
  if (!wrapper) return;
  const by = wrapper.querySelector('[data-changed-by]');
  wrapper.classList.add('lfield--changed');
  if (by) by.textContent = label;
  clearTimeout(timers.get(wrapper));
  timers.set(
    wrapper,
    setTimeout(() => {
      wrapper.classList.remove('lfield--changed');
      if (by) by.textContent = '';
    }, FLASH_MS),
  );
}
