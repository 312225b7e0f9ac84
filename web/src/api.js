// The REST API of PROTOCOL.md §4. Errors are {"error": {"code", "message"}}; they become
// ApiError. A 401 on an authenticated call refreshes the access token once and retries.

import { SignedOut, accessToken, clearSession, loadSession, saveSession } from './auth.js';

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
  }
}

async function send(method, path, { body, token } = {}) {
  const headers = {};
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (token) headers.Authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetch(path, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (error) {
    throw new ApiError(0, 'network', `cannot reach the server (${error.message})`);
  }
  if (response.status === 204) return { response, data: null };
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (!response.ok) {
    const error = data?.error ?? {};
    throw new ApiError(response.status, error.code ?? 'http_error',
                       error.message ?? `${method} ${path} failed with ${response.status}`);
  }
  return { response, data };
}

async function call(method, path, body) {
  let token = await accessToken();
  try {
    return (await send(method, path, { body, token })).data;
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 401) throw error;
    token = await accessToken({ stale: token });
    try {
      return (await send(method, path, { body, token })).data;
    } catch (retryError) {
      if (retryError instanceof ApiError && retryError.status === 401) {
        clearSession();
        throw new SignedOut(retryError.message);
      }
      throw retryError;
    }
  }
}

const enc = encodeURIComponent;

export const api = {
  config: async () => (await send('GET', '/v1/config')).data,

  register: async (email, password, name) =>
    (await send('POST', '/v1/auth/register', { body: { email, password, name } })).data,
  login: async (email, password) => {
    const pair = (await send('POST', '/v1/auth/login', { body: { email, password } })).data;
    saveSession(pair);
    return pair;
  },
  logout: async () => {
    const session = loadSession();
    clearSession();
    if (session === null) return;
    try {
      await send('POST', '/v1/auth/logout', { body: { refresh_token: session.refresh_token },
                                            token: session.access_token });
    } catch {
      // signing out locally is what matters; the refresh token expires anyway
    }
  },
  me: () => call('GET', '/v1/auth/me'),
  verifyEmail: async (token) =>
    (await send('POST', '/v1/auth/verify', { body: { token } })).data,
  resendVerification: () => call('POST', '/v1/auth/verify/resend'),
  oauthProviders: async () => (await send('GET', '/v1/auth/oauth/providers')).data.providers,

  listDocuments: (cursor = null, limit = 50) =>
    call('GET', `/v1/documents?limit=${limit}${cursor ? `&cursor=${enc(cursor)}` : ''}`),
  createDocument: (title, content) =>
    call('POST', '/v1/documents', content === undefined ? { title } : { title, content }),
  getDocument: (id) => call('GET', `/v1/documents/${enc(id)}`),
  renameDocument: (id, title) => call('PATCH', `/v1/documents/${enc(id)}`, { title }),
  deleteDocument: (id) => call('DELETE', `/v1/documents/${enc(id)}`),

  members: (id) => call('GET', `/v1/documents/${enc(id)}/members`),
  share: (id, email, role) => call('PUT', `/v1/documents/${enc(id)}/members/${enc(email)}`, { role }),
  unshare: (id, email) => call('DELETE', `/v1/documents/${enc(id)}/members/${enc(email)}`),

  ops: (id, from, to) => call('GET', `/v1/documents/${enc(id)}/ops?from=${from}&to=${to}`),
  version: (id, version) => call('GET', `/v1/documents/${enc(id)}/versions/${version}`),
  restore: (id, version) => call('POST', `/v1/documents/${enc(id)}/restore`, { version }),
  presence: (id) => call('GET', `/v1/documents/${enc(id)}/presence`),
};
