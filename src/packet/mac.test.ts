import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  formatMac,
  formatMacWords,
  isBroadcastWords,
  isGroupHi16,
  isLocalHi16,
  isZeroWords,
  macHi16,
  macLo32,
  parseMac,
  parseMacWords,
  writeMac,
} from './mac.js';

test('macHi16/macLo32 split six bytes at an offset into 16 + 32 bits', () => {
  const b = new Uint8Array([0xaa, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 0xbb]);
  const v = new DataView(b.buffer);
  assert.equal(macHi16(v, 1), 0x5254);
  assert.equal(macLo32(v, 1), 0x00123456);
  const f = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
  assert.equal(macLo32(new DataView(f.buffer), 0), 0xffffffff, 'unsigned, not -1');
  writeMac(v, 1, 0x0200, 0xdeadbeef);
  assert.deepEqual(b, new Uint8Array([0xaa, 0x02, 0x00, 0xde, 0xad, 0xbe, 0xef, 0xbb]));
});

test('formatMac and parseMac are inverses; dashes and bare Hyper-V form are accepted', () => {
  const m = parseMac('52:54:00:AB:cd:0f');
  assert.deepEqual(m, new Uint8Array([0x52, 0x54, 0x00, 0xab, 0xcd, 0x0f]));
  assert.equal(formatMac(m), '52:54:00:ab:cd:0f');
  assert.deepEqual(parseMac('00-15-5D-01-02-03'), new Uint8Array([0x00, 0x15, 0x5d, 0x01, 0x02, 0x03]));
  assert.deepEqual(parseMac('00155D010203'), new Uint8Array([0x00, 0x15, 0x5d, 0x01, 0x02, 0x03]));
  assert.equal(formatMac(new Uint8Array([9, 9, 1, 2, 3, 4, 5, 6]), 2), '01:02:03:04:05:06');
});

test('parseMac rejects malformed text with the documented message', () => {
  for (const bad of [
    '52:54:00:12:34',
    '52:54:00:12:34:56:78',
    '52:54:00:12:34:5g',
    '52:54-00:12:34:56',
    '5:54:00:12:34:56',
    '',
    ' 52:54:00:12:34:56',
  ]) {
    assert.throws(() => parseMac(bad), {
      message: `invalid MAC '${bad}': expected six hex pairs like 52:54:00:12:34:56`,
    });
  }
});

test('words <-> text, and address classes', () => {
  assert.deepEqual(parseMacWords('52:54:00:12:34:56'), { hi16: 0x5254, lo32: 0x00123456 });
  assert.equal(formatMacWords(0x3333, 0x00000001), '33:33:00:00:00:01');
  assert.ok(isGroupHi16(0x0100)); // 01:00:5e:... IPv4 multicast
  assert.ok(isGroupHi16(0x3333)); // IPv6 multicast
  assert.ok(!isGroupHi16(0x5254));
  assert.ok(isLocalHi16(0x5254)); // QEMU's 52:54:00 is locally administered
  assert.ok(!isLocalHi16(0x0015)); // Hyper-V's 00:15:5d is an OUI
  assert.ok(isBroadcastWords(0xffff, 0xffffffff));
  assert.ok(!isBroadcastWords(0xffff, 0xfffffffe));
  assert.ok(isZeroWords(0, 0));
});
