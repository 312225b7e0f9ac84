// The network shell around SessionMachine: one WebSocket at a time, hello/welcome,
// reconnect with backoff (1, 2, 4 … 30 s, jittered) and resume, access-token refresh,
// a heartbeat, and the connection state the page shows. Every protocol decision is the
// machine's; this file only does I/O and timing.
//
// States: connecting (first load) → connected → reconnecting (the connection dropped; the
// first retry is under way) → offline (a retry failed, or the browser is offline) → …;
// closed when the session cannot go on without the user (4400/4403/4404/1000, signed out).

import { SignedOut, accessToken } from './auth.js';
import { api } from './api.js';
import { backoffDelayMs } from './backoff.js';
import { classifyClose } from './session.js';

const WELCOME_TIMEOUT_MS = 15000;
const PING_INTERVAL_MS = 20000;
const PONG_TIMEOUT_MS = 10000;
const STABLE_SESSION_MS = 3000; // a session that lasted this long resets the backoff
const CURSOR_INTERVAL_MS = 50;

let cachedWsUrl = null;

async function wsBaseUrl() {
  if (cachedWsUrl === null) {
    const config = await api.config();
    cachedWsUrl = config.ws_url.replace(/\/+$/, '');
  }
  return cachedWsUrl;
}

export class Connection {
  /**
   * @param {object} options
   * @param {string} options.docId
   * @param {import('./session.js').SessionMachine} options.machine
   * @param {(events: object[]) => void} options.onEvents  events of one message, in order
   * @param {() => void} options.onStatus  the state or the unsent count may have changed
   * @param {(failure: {reason: string, message: string}) => void} options.onFatal
   */
  constructor({ docId, machine, onEvents, onStatus, onFatal, backoff = backoffDelayMs }) {
    this.docId = docId;
    this.machine = machine;
    this.onEvents = onEvents;
    this.onStatus = onStatus;
    this.onFatal = onFatal;
    this.backoff = backoff;
    this.state = 'connecting';
    this.ws = null;
    this.attempt = 0; // backoff exponent
    this.failedAttempts = 0; // connection attempts in a row that never got a welcome
    this.reloadsInARow = 0;
    this.welcomedAt = null;
    this.staleToken = null;
    this.authRetried = false;
    this.stopped = false;
    this.retryTimer = null;
    this.retryAt = null;
    this.timers = new Set();
    this.lastCursorSentAt = 0;
    this.cursorTimer = null;
    this.onOnline = () => this.connectNow();
    this.onOffline = () => {
      if (this.state !== 'connected' && this.state !== 'closed') this.setState('offline');
    };
  }

  start() {
    window.addEventListener('online', this.onOnline);
    window.addEventListener('offline', this.onOffline);
    this.connect();
  }

  stop() {
    this.stopped = true;
    window.removeEventListener('online', this.onOnline);
    window.removeEventListener('offline', this.onOffline);
    this.clearRetry();
    this.abandon();
  }

  /** Retry at once (new input: the browser is back online, the user asked). */
  connectNow() {
    if (this.stopped || this.retryTimer === null) return;
    this.clearRetry();
    this.connect();
  }

  setState(state) {
    if (this.state === state) return;
    this.state = state;
    this.onStatus();
  }

  // --- connecting ------------------------------------------------------------------

  async connect() {
    if (this.stopped) return;
    this.setState(this.welcomedAt === null && !this.machine.loaded ? 'connecting'
      : this.failedAttempts > 0 || navigator.onLine === false ? 'offline' : 'reconnecting');
    let token;
    let base;
    try {
      token = await accessToken({ stale: this.staleToken });
      base = await wsBaseUrl();
    } catch (error) {
      if (this.stopped) return;
      if (error instanceof SignedOut) {
        this.fail({ reason: 'signed_out', message: error.message });
      } else {
        this.failedAttempts += 1;
        this.scheduleRetry();
      }
      return;
    }
    if (this.stopped) return;
    this.staleToken = null;
    const ws = new WebSocket(`${base}/v1/docs/${encodeURIComponent(this.docId)}/ws`);
    this.ws = ws;
    this.welcomedAt = null;
    this.lastError = null;
    ws.onopen = () => ws.send(JSON.stringify(this.machine.hello(token)));
    ws.onmessage = (event) => this.receive(ws, event.data);
    ws.onclose = (event) => this.closed(ws, event.code, event.reason, token);
    this.later(WELCOME_TIMEOUT_MS, () => {
      if (this.ws === ws && this.welcomedAt === null) this.drop({ kind: 'resync', reason: 'no welcome' });
    });
  }

  later(ms, fn) {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, ms);
    this.timers.add(timer);
    return timer;
  }

  clearRetry() {
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.retryAt = null;
  }

  scheduleRetry() {
    if (this.stopped) return;
    const delayMs = this.backoff(this.attempt);
    this.attempt += 1;
    this.retryAt = Date.now() + delayMs;
    this.setState(this.failedAttempts > 0 || navigator.onLine === false ? 'offline' : 'reconnecting');
    this.onStatus();
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.retryAt = null;
      this.connect();
    }, delayMs);
  }

  /** Forget the current socket without waiting for its close handshake. */
  abandon() {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    if (this.cursorTimer !== null) clearTimeout(this.cursorTimer);
    this.cursorTimer = null;
    const ws = this.ws;
    this.ws = null;
    if (ws !== null) {
      ws.onopen = ws.onmessage = ws.onclose = null;
      try {
        ws.close(1000);
      } catch {
        // already closed
      }
    }
    this.machine.disconnected();
  }

  /** End this connection by our own decision and act on it at once. */
  drop(action) {
    const wasStable = this.welcomedAt !== null && Date.now() - this.welcomedAt >= STABLE_SESSION_MS;
    if (this.welcomedAt === null) this.failedAttempts += 1;
    this.abandon();
    this.follow(action, wasStable);
  }

  follow(action, wasStable) {
    if (wasStable) this.attempt = 0;
    if (action.kind === 'reload') {
      this.machine.requestReload(action.reason);
      this.reloadsInARow += 1;
      if (this.reloadsInARow <= 2) {
        this.connect();
        return;
      }
    }
    this.scheduleRetry();
  }

  fail(failure) {
    this.stop();
    this.state = 'closed';
    this.onStatus();
    this.onFatal(failure);
  }

  // --- receiving ---------------------------------------------------------------------

  receive(ws, data) {
    if (ws !== this.ws) return;
    this.armHeartbeat();
    let message;
    try {
      message = JSON.parse(data);
    } catch {
      return; // not a frame; the server never sends these
    }
    const frames = Array.isArray(message) ? message : [message];
    const events = [];
    let action = null;
    for (const frame of frames) {
      if (frame === null || typeof frame !== 'object') continue;
      let reaction;
      if (this.welcomedAt === null) {
        if (frame.type === 'welcome') {
          reaction = this.machine.welcome(frame);
          if (reaction.action === null) this.welcomed();
        } else if (frame.type === 'error') {
          this.machine.lastError = frame;
          continue;
        } else {
          continue;
        }
      } else {
        reaction = this.machine.handle(frame);
      }
      events.push(...reaction.events);
      if (reaction.action !== null) {
        action = reaction.action;
        break;
      }
    }
    if (events.length) this.onEvents(events);
    if (action !== null) {
      this.drop(action);
      return;
    }
    this.flush();
    this.onStatus();
  }

  welcomed() {
    this.welcomedAt = Date.now();
    this.failedAttempts = 0;
    this.reloadsInARow = 0;
    this.authRetried = false;
    this.setState('connected');
  }

  armHeartbeat() {
    if (this.heartbeatTimer) {
      clearTimeout(this.heartbeatTimer);
      this.timers.delete(this.heartbeatTimer);
    }
    const ws = this.ws;
    this.heartbeatTimer = this.later(PING_INTERVAL_MS, () => {
      if (this.ws !== ws || ws.readyState !== WebSocket.OPEN) return;
      ws.send(JSON.stringify({ type: 'ping', t: Date.now() }));
      this.heartbeatTimer = this.later(PONG_TIMEOUT_MS, () => {
        if (this.ws === ws) this.drop({ kind: 'resync', reason: 'no pong' });
      });
    });
  }

  closed(ws, code, reason, token) {
    if (ws !== this.ws) return;
    const wasStable = this.welcomedAt !== null && Date.now() - this.welcomedAt >= STABLE_SESSION_MS;
    if (this.welcomedAt === null) this.failedAttempts += 1;
    const lastError = this.machine.lastError;
    this.abandon();
    if (this.stopped) return;
    const decision = classifyClose(code, reason, lastError);
    if (decision.kind === 'unauthorized') {
      if (this.authRetried) {
        this.fail({ reason: 'signed_out', message: decision.message });
        return;
      }
      this.authRetried = true; // a refreshed token is the new input that allows one retry
      this.staleToken = token;
      this.failedAttempts = 0;
      this.connect();
      return;
    }
    if (decision.kind === 'fatal') {
      this.fail({ reason: decision.reason, message: decision.message });
      return;
    }
    this.follow(decision, wasStable);
  }

  // --- sending -----------------------------------------------------------------------

  /** Send what the protocol allows now: the pending op, and the selection (throttled). */
  flush() {
    const ws = this.ws;
    if (ws === null || ws.readyState !== WebSocket.OPEN || this.welcomedAt === null) return;
    const sinceCursorMs = Date.now() - this.lastCursorSentAt;
    const cursorAllowed = sinceCursorMs >= CURSOR_INTERVAL_MS;
    for (const frame of this.machine.outgoing({ cursor: cursorAllowed })) {
      ws.send(JSON.stringify(frame));
      if (frame.type === 'cursor') this.lastCursorSentAt = Date.now();
    }
    if (!cursorAllowed && this.machine.cursorDirty && this.cursorTimer === null) {
      this.cursorTimer = setTimeout(() => {
        this.cursorTimer = null;
        this.flush();
      }, CURSOR_INTERVAL_MS - sinceCursorMs);
    }
  }
}
