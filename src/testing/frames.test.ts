/**
 * frames.ts against golden bytes: a tag lands after the MACs as 8100 + TCI (pcp << 13 | vid), and
 * stripping it gives back the original frame.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { addTag, stripTag } from './frames.js';

const hex = (f: Uint8Array) => Buffer.from(f).toString('hex');
const untagged = Buffer.from('ffffffffffff' + '02005e10000a' + '0800' + '6f76', 'hex');

test('addTag inserts 8100 + TCI after the MACs; stripTag removes it again', () => {
  const t = addTag(untagged, 5, 10);
  assert.equal(hex(t), 'ffffffffffff' + '02005e10000a' + '8100' + 'a00a' + '0800' + '6f76');
  assert.equal(hex(addTag(untagged, 0, 4094)), 'ffffffffffff' + '02005e10000a' + '8100' + '0ffe' + '0800' + '6f76');
  assert.equal(hex(addTag(untagged, 7, 1)), 'ffffffffffff' + '02005e10000a' + '8100' + 'e001' + '0800' + '6f76');
  assert.deepEqual(stripTag(t), new Uint8Array(untagged));
  assert.equal(untagged.length, 16, 'input untouched');
});
