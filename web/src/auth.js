// The signed-in session: `localStorage['editor.session']` holds
// {"access_token": …, "refresh_token": …} (external tests rely on that key and shape).
//
// Refresh tokens are single-use and reusing a spent one revokes the whole family
// (PROTOCOL.md §4), and every tab shares this storage: so a refresh runs under a Web Lock
// shared by the tabs, and first re-reads the storage in case another tab has already
// refreshed.

export const SESSION_KEY = 'editor.session';
const REFRESH_LOCK = 'editor.session.refresh';
const EXPIRY_MARGIN_S = 30;

export class SignedOut extends Error {
  constructor(message = 'signed out') {
    super(message);
    this.name = 'SignedOut';
  }
}

/** The stored session, or null. */
export function loadSession() {
  try {
    const session = JSON.parse(localStorage.getItem(SESSION_KEY) ?? 'null');
    if (session && typeof session.access_token === 'string'
        && typeof session.refresh_token === 'string') {
      return session;
    }
  } catch {
    // a corrupt entry counts as signed out
  }
  return null;
}

export function saveSession({ access_token, refresh_token }) {
  localStorage.setItem(SESSION_KEY, JSON.stringify({ access_token, refresh_token }));
}

/**
 * The token pair in a URL fragment (`#access_token=…&refresh_token=…`, where an OpenID
 * Connect sign-in lands on /login), or null.
 */
export function fragmentSession(hash) {
  const params = new URLSearchParams(hash.replace(/^#/, ''));
  const access_token = params.get('access_token');
  const refresh_token = params.get('refresh_token');
  return access_token && refresh_token ? { access_token, refresh_token } : null;
}

export function clearSession() {
  localStorage.removeItem(SESSION_KEY);
}

/** The `exp` claim of a JWT (seconds since the epoch), or null if unreadable. */
export function tokenExpiry(jwt) {
  try {
    const payload = jwt.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    const claims = JSON.parse(atob(payload.padEnd(payload.length + ((4 - (payload.length % 4)) % 4), '=')));
    return typeof claims.exp === 'number' ? claims.exp : null;
  } catch {
    return null;
  }
}

function expiresSoon(jwt, nowS = Date.now() / 1000) {
  const exp = tokenExpiry(jwt);
  return exp !== null && exp - EXPIRY_MARGIN_S <= nowS;
}

async function withRefreshLock(fn) {
  if (globalThis.navigator?.locks?.request) {
    return navigator.locks.request(REFRESH_LOCK, fn);
  }
  return fn();
}

async function postRefresh(refreshToken) {
  let response;
  try {
    response = await fetch('/v1/auth/refresh', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ refresh_token: refreshToken }),
    });
  } catch (error) {
    throw new Error(`cannot reach the server: ${error.message}`);
  }
  if (response.status === 401 || response.status === 400) {
    clearSession();
    throw new SignedOut('your session has expired; sign in again');
  }
  if (!response.ok) throw new Error(`refresh failed with ${response.status}`);
  const pair = await response.json();
  saveSession(pair);
  return pair.access_token;
}

/**
 * A usable access token: the stored one, or a new one from the refresh token when it
 * is about to expire or when `stale` (a token the server refused) is still the stored one.
 * Throws SignedOut when there is no session or the refresh token was refused, and a
 * plain Error when the server cannot be reached (the caller retries later).
 */
export async function accessToken({ stale = null } = {}) {
  const session = loadSession();
  if (session === null) throw new SignedOut();
  if (session.access_token !== stale && !expiresSoon(session.access_token)) {
    return session.access_token;
  }
  return withRefreshLock(async () => {
    const current = loadSession();
    if (current === null) throw new SignedOut();
    if (current.access_token !== stale && !expiresSoon(current.access_token)) {
      return current.access_token; // another tab refreshed meanwhile
    }
    return postRefresh(current.refresh_token);
  });
}
