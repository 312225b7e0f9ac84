// Reconnect delays: exponential backoff with jitter (PROTOCOL.md §3). Pure.

/** The delay before reconnect `attempt` (0-based): 1 s, 2 s, 4 s, … at most `maxMs`.
 *  Jitter only shortens the nominal delay, by up to `jitter` of it, so clients that lost
 *  the same server spread out without any of them waiting past `maxMs`. */
export function backoffDelayMs(attempt, {
  initialMs = 1000, maxMs = 30000, jitter = 0.5, random = Math.random,
} = {}) {
  const nominalMs = Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 64));
  return nominalMs * (1 - jitter * random());
}
