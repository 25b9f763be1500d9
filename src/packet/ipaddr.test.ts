import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatIpv4, formatIpv6, parseIpv4, parseIpv6, pseudoSumText } from './ipaddr.js';

test('IPv4 text <-> unsigned number', () => {
  assert.equal(parseIpv4('192.0.2.1'), 0xc0000201);
  assert.equal(parseIpv4('255.255.255.255'), 0xffffffff);
  assert.equal(formatIpv4(0xc0a800c7), '192.168.0.199');
  assert.equal(formatIpv4(0xffffffff), '255.255.255.255');
  for (const bad of ['1.2.3', '1.2.3.4.5', '256.1.1.1', '1.2.3.-4', 'a.b.c.d', '1..2.3', ''])
    assert.throws(() => parseIpv4(bad), {
      message: `invalid IPv4 address '${bad}': expected four decimal octets like 192.0.2.1`,
    });
});

test('IPv6 formatting follows RFC 5952 (section 4 examples)', () => {
  const cases: [string, string][] = [
    ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], // 4.2.3: first of two equal runs
    ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'], // 4.2.3: the longest run
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'], // 4.2.2: a single zero group is not shortened
    ['2001:DB8::AAAA', '2001:db8::aaaa'], // 4.3: lower case
    ['0:0:0:0:0:0:0:0', '::'],
    ['::1', '::1'],
    ['fe80::5054:ff:fe65:4321', 'fe80::5054:ff:fe65:4321'],
    ['ff02::1:ff00:2', 'ff02::1:ff00:2'],
    ['1::', '1::'],
    ['::ffff:192.0.2.1', '::ffff:c000:201'], // dotted tail accepted on input; output stays hex
  ];
  for (const [input, want] of cases) assert.equal(formatIpv6(parseIpv6(input)), want, input);
  assert.deepEqual(Array.from(parseIpv6('2001:db8::2')), [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
});

test('IPv6 parse errors are clear', () => {
  assert.throws(() => parseIpv6('1::2::3'), /invalid IPv6 address '1::2::3': '::' may appear only once/);
  assert.throws(() => parseIpv6('1:2:3:4:5:6:7'), /expected 8 groups, got 7/);
  assert.throws(() => parseIpv6('1:2:3:4:5:6:7:8:9'), /expected 8 groups, got 9/);
  assert.throws(() => parseIpv6('1:2:3:4::5:6:7:8'), /'::' must stand for at least one zero group/);
  assert.throws(() => parseIpv6('12345::'), /group '12345' is not 1-4 hex digits/);
  assert.throws(() => parseIpv6(':1::'), /group '' is not 1-4 hex digits/);
  assert.throws(() => parseIpv6('::1.2.3'), /dotted-quad tail '1.2.3'/);
  assert.throws(() => parseIpv6('1.2.3.4::'), /group '1.2.3.4' is not 1-4 hex digits/);
});

test('pseudoSumText picks the family and refuses a mix', () => {
  assert.equal(pseudoSumText('10.9.0.1', '10.9.0.2', 6, 40), 0x1443); // matches the captured partial SYN checksum
  assert.throws(() => pseudoSumText('10.9.0.1', '::1', 6, 40), /different families/);
});
