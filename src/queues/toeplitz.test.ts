import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { parseIpv4, parseIpv6 } from '../packet/ipaddr.js';
import { referenceToeplitz } from './toeplitz.reference.js';
import { kDefaultToeplitz, keyFromHex, kKeyLen, kMaxInput, kMicrosoftKeyHex, Toeplitz } from './toeplitz.js';

/** Microsoft's input: src addr, dst addr, then (optionally) src port, dst port, all big-endian. */
function tuple(src: Uint8Array, dst: Uint8Array, ports?: [number, number]): Uint8Array {
  const out = new Uint8Array(src.length + dst.length + (ports ? 4 : 0));
  out.set(src, 0);
  out.set(dst, src.length);
  if (ports) {
    const p = src.length + dst.length;
    out[p] = ports[0] >> 8;
    out[p + 1] = ports[0] & 0xff;
    out[p + 2] = ports[1] >> 8;
    out[p + 3] = ports[1] & 0xff;
  }
  return out;
}

function v4(text: string): Uint8Array {
  const a = parseIpv4(text);
  return Uint8Array.of(a >>> 24, (a >>> 16) & 0xff, (a >>> 8) & 0xff, a & 0xff);
}

// "Verifying the RSS Hash Calculation" (Microsoft, windows-driver-docs), every row of both tables:
// [destination, dst port, source, src port, IP only, with TCP].
const kIpv4Vectors: [string, number, string, number, number, number][] = [
  ['161.142.100.80', 1766, '66.9.149.187', 2794, 0x323e8fc2, 0x51ccc178],
  ['65.69.140.83', 4739, '199.92.111.2', 14230, 0xd718262a, 0xc626b0ea],
  ['12.22.207.184', 38024, '24.19.198.95', 12898, 0xd2d0a5de, 0x5c2b394a],
  ['209.142.163.6', 2217, '38.27.205.30', 48228, 0x82989176, 0xafc7327f],
  ['202.188.127.2', 1303, '153.39.163.191', 44251, 0x5d1809c5, 0x10e828a2],
];
const kIpv6Vectors: [string, number, string, number, number, number][] = [
  ['3ffe:2501:200:3::1', 1766, '3ffe:2501:200:1fff::7', 2794, 0x2cc18cd5, 0x40207d3d],
  ['ff02::1', 4739, '3ffe:501:8::260:97ff:fe40:efab', 14230, 0x0f0c461c, 0xdde51bbf],
  ['fe80::200:f8ff:fe21:67cf', 38024, '3ffe:1900:4545:3:200:f8ff:fe21:67cf', 44251, 0x4b61e985, 0x02d1feef],
];

const kKey = keyFromHex(kMicrosoftKeyHex);
const hex = (h: number) => `0x${h.toString(16).padStart(8, '0')}`;

test('Microsoft default key decodes to the 40 published bytes', () => {
  assert.equal(kKey.length, kKeyLen);
  assert.deepEqual(Array.from(kKey.subarray(0, 4)), [0x6d, 0x5a, 0x56, 0xda]);
  assert.deepEqual(Array.from(kKey.subarray(36)), [0xbe, 0xac, 0x01, 0xfa]);
  assert.deepEqual(kDefaultToeplitz.key, kKey);
});

for (const [dst, dport, src, sport, ipOnly, withTcp] of kIpv4Vectors) {
  test(`Microsoft IPv4 vector ${src}:${sport} -> ${dst}:${dport}: ${hex(ipOnly)} / ${hex(withTcp)}`, () => {
    const a = tuple(v4(src), v4(dst));
    const b = tuple(v4(src), v4(dst), [sport, dport]);
    assert.equal(referenceToeplitz(kKey, a), ipOnly, 'reference, IPv4 only');
    assert.equal(referenceToeplitz(kKey, b), withTcp, 'reference, IPv4 with TCP');
    assert.equal(kDefaultToeplitz.hashBytes(a, 0, a.length), ipOnly, 'table, IPv4 only');
    assert.equal(kDefaultToeplitz.hashBytes(b, 0, b.length), withTcp, 'table, IPv4 with TCP');
    assert.equal(kDefaultToeplitz.hashAddrs(a, 0, 8), ipOnly);
    // addresses and ports from separate places, as in a frame (ports 20 bytes after the addresses)
    const frame = new Uint8Array(40);
    frame.set(a, 4);
    frame.set(b.subarray(8), 24);
    assert.equal(kDefaultToeplitz.hashAddrsPorts(frame, 4, 8, 24), withTcp, 'table, addresses and ports apart');
  });
}

for (const [dst, dport, src, sport, ipOnly, withTcp] of kIpv6Vectors) {
  test(`Microsoft IPv6 vector [${src}]:${sport} -> [${dst}]:${dport}: ${hex(ipOnly)} / ${hex(withTcp)}`, () => {
    const a = tuple(parseIpv6(src), parseIpv6(dst));
    const b = tuple(parseIpv6(src), parseIpv6(dst), [sport, dport]);
    assert.equal(b.length, kMaxInput);
    assert.equal(referenceToeplitz(kKey, a), ipOnly, 'reference, IPv6 only');
    assert.equal(referenceToeplitz(kKey, b), withTcp, 'reference, IPv6 with TCP');
    assert.equal(kDefaultToeplitz.hashBytes(a, 0, a.length), ipOnly, 'table, IPv6 only');
    assert.equal(kDefaultToeplitz.hashBytes(b, 0, b.length), withTcp, 'table, IPv6 with TCP');
    const frame = new Uint8Array(80);
    frame.set(a, 8);
    frame.set(b.subarray(32), 48);
    assert.equal(kDefaultToeplitz.hashAddrsPorts(frame, 8, 32, 48), withTcp, 'table, addresses and ports apart');
  });
}

test('property: the table hash equals the bit-by-bit reference for random keys and inputs up to 36 bytes', () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: kKeyLen, maxLength: kKeyLen }),
      fc.array(fc.uint8Array({ minLength: 0, maxLength: kMaxInput }), { minLength: 1, maxLength: 8 }),
      (key, inputs) => {
        const t = new Toeplitz(key);
        for (const input of inputs) {
          const h = t.hashBytes(input, 0, input.length);
          assert.ok(h >= 0 && h <= 0xffffffff && Number.isInteger(h), 'unsigned 32-bit');
          assert.equal(h, referenceToeplitz(key, input));
        }
      },
    ),
    { numRuns: 200 },
  );
});

test('property: hashAddrsPorts over split regions equals hashing the concatenation', () => {
  fc.assert(
    fc.property(
      fc.constantFrom(8, 32),
      fc.uint8Array({ minLength: 64, maxLength: 64 }),
      fc.nat(20),
      (addrLen, buf, gap) => {
        const portsOff = addrLen + gap;
        const cat = new Uint8Array(addrLen + 4);
        cat.set(buf.subarray(0, addrLen));
        cat.set(buf.subarray(portsOff, portsOff + 4), addrLen);
        assert.equal(kDefaultToeplitz.hashAddrsPorts(buf, 0, addrLen, portsOff), referenceToeplitz(kKey, cat));
      },
    ),
    { numRuns: 500 },
  );
});

test('the empty input hashes to 0, and a key of the wrong size is refused', () => {
  assert.equal(kDefaultToeplitz.hashBytes(new Uint8Array(0), 0, 0), 0);
  assert.throws(() => new Toeplitz(new Uint8Array(39)), /RSS Toeplitz key must be 40 bytes, got 39/);
  assert.throws(() => keyFromHex('abc'), /RSS key must be hex digits in pairs, got 'abc'/);
  assert.throws(() => keyFromHex('zz'), /hex digits/);
});
