import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fragmentSession } from '../src/auth.js';

test('an OpenID Connect landing fragment gives the token pair', () => {
  const hash = '#access_token=a.b.c&refresh_token=r%2Bt&token_type=bearer&expires_in=900';
  assert.deepEqual(fragmentSession(hash), { access_token: 'a.b.c', refresh_token: 'r+t' });
});

test('fragments without both tokens give no session', () => {
  assert.equal(fragmentSession(''), null);
  assert.equal(fragmentSession('#token=x'), null);
  assert.equal(fragmentSession('#access_token=a'), null);
  assert.equal(fragmentSession('#access_token=&refresh_token=r'), null);
});
