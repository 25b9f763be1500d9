/** The error table and the kErr* constants must agree: code = -(index + 1). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as e from './errors.js';

test('error constants match the table order and names', () => {
  const pairs: [number, string][] = [
    [e.kErrCsumBadOffset, 'csum-bad-offset'],
    [e.kErrGsoMalformed, 'gso-malformed'],
    [e.kErrGsoUnsupported, 'gso-unsupported'],
    [e.kErrNoBuffer, 'no-buffer'],
    [e.kErrOutFull, 'gso-out-full'],
  ];
  assert.equal(pairs.length, e.offloadErrors.length);
  for (const [code, name] of pairs) assert.equal(e.offloadErrorName(code), name);
  assert.equal(e.offloadErrorName(0), '');
  assert.equal(e.offloadErrorName(3), '', 'a segment count is not an error');
  assert.equal(e.offloadErrorName(-99), '');
});
