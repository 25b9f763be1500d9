import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { formatIpv4, formatIpv6 } from '../packet/ipaddr.js';
import { aclRule, extAclRule, ipPrefix, portPolicy, portRange, pvlanConfig } from './validate-policy.js';
import { refuses } from '../testing/refuses.js';

test('IP prefixes: canonical spelling, host prefixes written bare, IPv6 in RFC 5952 form', () => {
  assert.equal(ipPrefix('any', 'f'), 'any');
  assert.equal(ipPrefix('10.0.0.0/8', 'f'), '10.0.0.0/8');
  assert.equal(ipPrefix('10.0.0.1', 'f'), '10.0.0.1');
  assert.equal(ipPrefix('10.0.0.1/32', 'f'), '10.0.0.1');
  assert.equal(ipPrefix('010.000.0.0/8', 'f'), '10.0.0.0/8');
  assert.equal(ipPrefix('0.0.0.0/0', 'f'), '0.0.0.0/0');
  assert.equal(ipPrefix('192.168.1.128/25', 'f'), '192.168.1.128/25');
  assert.equal(ipPrefix('FD00::/8', 'f'), 'fd00::/8');
  assert.equal(ipPrefix('2001:0db8:0:0:0:0:0:1', 'f'), '2001:db8::1');
  assert.equal(ipPrefix('2001:db8::1/128', 'f'), '2001:db8::1');
  assert.equal(ipPrefix('::/0', 'f'), '::/0');
  assert.equal(ipPrefix('2001:db8:8000::/33', 'f'), '2001:db8:8000::/33');
});

test('IP prefixes: host bits, bad lengths and bad addresses are refused with the right form', () => {
  refuses(
    () => ipPrefix('10.0.0.1/8', 'acl.remoteIp'),
    'acl.remoteIp',
    /^acl\.remoteIp: 10\.0\.0\.1\/8 has host bits set; did you mean 10\.0\.0\.0\/8\?$/,
  );
  refuses(() => ipPrefix('192.168.1.129/25', 'f'), 'f', /did you mean 192\.168\.1\.128\/25\?/);
  refuses(() => ipPrefix('1.2.3.4/0', 'f'), 'f', /did you mean 0\.0\.0\.0\/0\?/);
  refuses(() => ipPrefix('fd00::1/8', 'f'), 'f', /fd00::1\/8 has host bits set; did you mean fd00::\/8\?/);
  refuses(() => ipPrefix('2001:db8:ffff::/33', 'f'), 'f', /did you mean 2001:db8:8000::\/33\?/);
  refuses(
    () => ipPrefix('10.0.0.0/33', 'f'),
    'f',
    /prefix length "33" in 10\.0\.0\.0\/33 must be a whole number from 0 to 32/,
  );
  refuses(() => ipPrefix('fd00::/129', 'f'), 'f', /from 0 to 128/);
  refuses(() => ipPrefix('10.0.0.0/', 'f'), 'f', /prefix length "" .* from 0 to 32/);
  refuses(() => ipPrefix('10.0.0.0/x', 'f'), 'f', /prefix length "x"/);
  refuses(
    () => ipPrefix('10.0.0.256', 'f'),
    'f',
    /not an IPv4 address or prefix; expected four decimal octets 0-255 and an optional \/0-32, like 10\.0\.0\.0\/8/,
  );
  refuses(() => ipPrefix('10.0.0/8', 'f'), 'f', /not an IPv4 address/);
  refuses(() => ipPrefix('fd00:::1', 'f'), 'f', /not an IPv6 address or prefix \(.*\); expected a form like fd00::\/8/);
  refuses(() => ipPrefix('fe80::1%eth0', 'f'), 'f', /not an IPv6 address/);
  refuses(() => ipPrefix('', 'f'), 'f', /IP prefix like 10\.0\.0\.0\/8 or fd00::\/8, an address, or "any", got ""/);
  refuses(() => ipPrefix(10, 'f'), 'f', /got 10/);
  refuses(() => ipPrefix('ANY', 'f'), 'f', /not an IPv4 address/);
});

test('port ranges: numbers and text, canonical form', () => {
  assert.equal(portRange(80, 'p'), '80');
  assert.equal(portRange(0, 'p'), '0');
  assert.equal(portRange('443', 'p'), '443');
  assert.equal(portRange('1024-65535', 'p'), '1024-65535');
  assert.equal(portRange('80-80', 'p'), '80');
  assert.equal(portRange('0080', 'p'), '80');
  refuses(
    () => portRange('90-80', 'r.localPort'),
    'r.localPort',
    /range 90-80 is backwards; write it low-high \(80-90\)/,
  );
  refuses(() => portRange('65536', 'p'), 'p', /"65536" is out of range; ports are 0 to 65535/);
  refuses(() => portRange('1-70000', 'p'), 'p', /out of range/);
  refuses(() => portRange(70000, 'p'), 'p', /integer from 0 to 65535, got 70000/);
  refuses(() => portRange(-1, 'p'), 'p', /0 to 65535/);
  refuses(() => portRange(1.5, 'p'), 'p', /integer/);
  for (const bad of ['http', '80,443', ' 80', '80-', '-80', '80 - 90', ''])
    refuses(() => portRange(bad, 'p'), 'p', /must be a port 0-65535 or a range "low-high" like "1024-65535"/);
});

test('port ACLs: valid shapes, canonical addresses', () => {
  assert.deepEqual(aclRule({ action: 'deny', direction: 'inbound', remoteIp: '10.1.0.0/16' }, 'a'), {
    action: 'deny',
    direction: 'inbound',
    remoteIp: '10.1.0.0/16',
  });
  assert.deepEqual(
    aclRule(
      { id: 3, action: 'meter', direction: 'both', localMac: '52-54-00-AA-BB-CC', remoteMac: 'ff:ff:ff:ff:ff:ff' },
      'a',
    ),
    {
      id: 3,
      action: 'meter',
      direction: 'both',
      localMac: '52:54:00:aa:bb:cc',
      remoteMac: 'ff:ff:ff:ff:ff:ff',
    },
  );
  assert.deepEqual(aclRule({ action: 'allow', direction: 'outbound', localIp: 'any', remoteIp: 'FD00::/8' }, 'a'), {
    action: 'allow',
    direction: 'outbound',
    localIp: 'any',
    remoteIp: 'fd00::/8',
  });
});

test('port ACLs: refusals name the field and the right form', () => {
  const base = { action: 'deny', direction: 'inbound' };
  refuses(() => aclRule({ ...base }, 'acls[0]'), 'acls[0]', /at least one of localMac, remoteMac, localIp, remoteIp/);
  refuses(
    () => aclRule({ ...base, localMac: '52:54:00:00:00:01', remoteIp: '10.0.0.0/8' }, 'acls[0]'),
    'acls[0]',
    /mixes MAC and IP selectors/,
  );
  refuses(
    () => aclRule({ ...base, action: 'drop', remoteIp: 'any' }, 'a'),
    'a.action',
    /one of allow, deny, meter, got "drop"/,
  );
  refuses(
    () => aclRule({ ...base, direction: 'in', remoteIp: 'any' }, 'a'),
    'a.direction',
    /one of inbound, outbound, both, got "in"/,
  );
  refuses(() => aclRule({ ...base, id: 0, remoteIp: 'any' }, 'a'), 'a.id', /integer from 1 to 4294967295, got 0/);
  refuses(() => aclRule({ ...base, id: '7', remoteIp: 'any' }, 'a'), 'a.id', /integer from 1/);
  refuses(() => aclRule({ ...base, remoteIp: '10.0.0.1/8' }, 'a'), 'a.remoteIp', /did you mean 10\.0\.0\.0\/8\?/);
  refuses(() => aclRule({ ...base, localMac: '52:54:00:00:00' }, 'a'), 'a.localMac', /six hex pairs/);
  refuses(
    () => aclRule({ ...base, localIp: '10.0.0.0/8', remoteIp: 'fd00::/8' }, 'a'),
    'a.remoteIp',
    /fd00::\/8 is IPv6 but localIp 10\.0\.0\.0\/8 is IPv4/,
  );
  refuses(() => aclRule({ ...base, remoteIp: 'any', weight: 5 }, 'a'), 'a.weight', /unknown setting/);
  refuses(() => aclRule('deny', 'a'), 'a', /must be an object/);
});

test('extended ACLs: valid shapes, protocol numbers with a name become the name', () => {
  assert.deepEqual(
    extAclRule(
      {
        action: 'allow',
        direction: 'outbound',
        weight: 100,
        protocol: 6,
        remoteIp: '192.0.2.0/24',
        remotePort: '443',
        localPort: 1024,
        stateful: true,
        idleTimeout: 300,
      },
      'r',
    ),
    {
      action: 'allow',
      direction: 'outbound',
      weight: 100,
      protocol: 'tcp',
      remoteIp: '192.0.2.0/24',
      localPort: '1024',
      remotePort: '443',
      stateful: true,
      idleTimeout: 300,
    },
  );
  assert.deepEqual(extAclRule({ action: 'deny', direction: 'inbound', weight: 1 }, 'r'), {
    action: 'deny',
    direction: 'inbound',
    weight: 1,
  });
  assert.equal(extAclRule({ action: 'deny', direction: 'both', weight: 2, protocol: 17 }, 'r').protocol, 'udp');
  assert.equal(extAclRule({ action: 'deny', direction: 'both', weight: 2, protocol: 1 }, 'r').protocol, 'icmp');
  assert.equal(extAclRule({ action: 'deny', direction: 'both', weight: 2, protocol: 58 }, 'r').protocol, 'icmpv6');
  assert.equal(extAclRule({ action: 'deny', direction: 'both', weight: 2, protocol: 47 }, 'r').protocol, 47);
  assert.equal(
    extAclRule({ action: 'deny', direction: 'both', weight: 2, protocol: 'icmpv6', remoteIp: 'fd00::/8' }, 'r')
      .protocol,
    'icmpv6',
  );
  assert.equal(extAclRule({ action: 'deny', direction: 'both', weight: 2, stateful: false }, 'r').stateful, false);
});

test('extended ACLs: refusals name the field and the right form', () => {
  const base = { action: 'allow', direction: 'inbound', weight: 10 };
  refuses(() => extAclRule({ ...base, action: 'meter' }, 'r'), 'r.action', /one of allow, deny, got "meter"/);
  refuses(() => extAclRule({ ...base, weight: 0 }, 'r'), 'r.weight', /integer from 1 to 65535, got 0/);
  refuses(() => extAclRule({ ...base, weight: 65536 }, 'r'), 'r.weight', /1 to 65535/);
  refuses(() => extAclRule({ action: 'allow', direction: 'inbound' }, 'r'), 'r.weight', /got undefined/);
  refuses(
    () => extAclRule({ ...base, protocol: 'sctp' }, 'r'),
    'r.protocol',
    /one of tcp, udp, icmp, icmpv6, got "sctp"/,
  );
  refuses(() => extAclRule({ ...base, protocol: 256 }, 'r'), 'r.protocol', /integer from 0 to 255, got 256/);
  refuses(
    () => extAclRule({ ...base, localPort: '80' }, 'r'),
    'r.localPort',
    /ports apply only to protocol tcp or udp, got no protocol \(any\)/,
  );
  refuses(
    () => extAclRule({ ...base, protocol: 'icmp', remotePort: '80' }, 'r'),
    'r.remotePort',
    /tcp or udp, got protocol icmp/,
  );
  refuses(() => extAclRule({ ...base, protocol: 'tcp', remotePort: '80-70' }, 'r'), 'r.remotePort', /backwards/);
  refuses(
    () => extAclRule({ ...base, action: 'deny', stateful: true }, 'r'),
    'r.stateful',
    /only an allow rule can be stateful/,
  );
  refuses(() => extAclRule({ ...base, stateful: 'yes' }, 'r'), 'r.stateful', /true or false/);
  refuses(() => extAclRule({ ...base, idleTimeout: 60 }, 'r'), 'r.idleTimeout', /applies only to stateful rules/);
  refuses(() => extAclRule({ ...base, stateful: false, idleTimeout: 60 }, 'r'), 'r.idleTimeout', /only to stateful/);
  refuses(
    () => extAclRule({ ...base, stateful: true, idleTimeout: 0 }, 'r'),
    'r.idleTimeout',
    /integer from 1 to 86400, got 0/,
  );
  refuses(() => extAclRule({ ...base, stateful: true, idleTimeout: 86401 }, 'r'), 'r.idleTimeout', /1 to 86400/);
  refuses(() => extAclRule({ ...base, protocol: 'icmp', remoteIp: 'fd00::/8' }, 'r'), 'r.protocol', /use icmpv6/);
  refuses(() => extAclRule({ ...base, protocol: 'icmpv6', localIp: '10.0.0.0/8' }, 'r'), 'r.protocol', /use icmp$/);
  refuses(
    () => extAclRule({ ...base, localIp: 'fd00::/8', remoteIp: '10.0.0.0/8' }, 'r'),
    'r.remoteIp',
    /is IPv4 but localIp fd00::\/8 is IPv6/,
  );
  refuses(() => extAclRule({ ...base, localMac: '52:54:00:00:00:01' }, 'r'), 'r.localMac', /unknown setting/);
});

test('port policy: every key, canonical nested rules', () => {
  const p = portPolicy(
    {
      macAddressSpoofing: false,
      dhcpGuard: true,
      routerGuard: true,
      ieeePriorityTag: false,
      stormLimit: 1000,
      maximumBandwidth: 50_000_000,
      maximumBurst: 65536,
      minimumBandwidthWeight: 10,
      mirror: 'source',
      mirrorDirection: 'egress',
      acls: [{ action: 'deny', direction: 'both', remoteIp: 'FD00::/8' }],
      extendedAcls: [
        { action: 'allow', direction: 'inbound', weight: 10, protocol: 6, localPort: 22 },
        { action: 'deny', direction: 'outbound', weight: 10 },
      ],
    },
    'policy',
    'weight',
  );
  assert.deepEqual(p, {
    macAddressSpoofing: false,
    dhcpGuard: true,
    routerGuard: true,
    ieeePriorityTag: false,
    stormLimit: 1000,
    maximumBandwidth: 50_000_000,
    maximumBurst: 65536,
    minimumBandwidthWeight: 10,
    mirror: 'source',
    mirrorDirection: 'egress',
    acls: [{ action: 'deny', direction: 'both', remoteIp: 'fd00::/8' }],
    extendedAcls: [
      { action: 'allow', direction: 'inbound', weight: 10, protocol: 'tcp', localPort: '22' },
      { action: 'deny', direction: 'outbound', weight: 10 },
    ],
  });
  assert.deepEqual(portPolicy({}, 'policy'), {});
  assert.deepEqual(portPolicy({ maximumBandwidth: 0, stormLimit: 0 }, 'policy'), {
    maximumBandwidth: 0,
    stormLimit: 0,
  });
  assert.deepEqual(portPolicy({ minimumBandwidthAbsolute: 1000 }, 'policy', 'absolute'), {
    minimumBandwidthAbsolute: 1000,
  });
  assert.deepEqual(portPolicy({ mirror: 'destination' }, 'policy'), { mirror: 'destination' });
});

test('port policy: bounds, modes and cross-field rules', () => {
  const P = 'policy';
  refuses(() => portPolicy({ dhcpGuard: 'on' }, P), 'policy.dhcpGuard', /true or false, got "on"/);
  refuses(() => portPolicy({ stormLimit: -1 }, P), 'policy.stormLimit', /integer from 0 to 10000000, got -1/);
  refuses(() => portPolicy({ stormLimit: 10_000_001 }, P), 'policy.stormLimit', /0 to 10000000/);
  refuses(
    () => portPolicy({ maximumBandwidth: 999 }, P),
    'policy.maximumBandwidth',
    /0 \(off\) or a whole number of bits\/s from 1000 to 100000000000 \(1k to 100G\), got 999/,
  );
  refuses(
    () => portPolicy({ maximumBandwidth: 100_000_000_001 }, P),
    'policy.maximumBandwidth',
    /1000 to 100000000000/,
  );
  refuses(() => portPolicy({ maximumBandwidth: 1.5e6 + 0.5 }, P), 'policy.maximumBandwidth', /whole number/);
  refuses(
    () => portPolicy({ maximumBurst: 1513 }, P),
    'policy.maximumBurst',
    /integer from 1514 to 1000000000, got 1513/,
  );
  refuses(
    () => portPolicy({ minimumBandwidthWeight: 0 }, P),
    'policy.minimumBandwidthWeight',
    /integer from 1 to 100, got 0/,
  );
  refuses(() => portPolicy({ minimumBandwidthWeight: 101 }, P, 'weight'), 'policy.minimumBandwidthWeight', /1 to 100/);
  refuses(
    () => portPolicy({ minimumBandwidthAbsolute: 999 }, P),
    'policy.minimumBandwidthAbsolute',
    /integer from 1000 to 100000000000/,
  );
  refuses(
    () => portPolicy({ minimumBandwidthWeight: 5 }, P, 'absolute'),
    'policy.minimumBandwidthWeight',
    /mode is absolute; give minimumBandwidthAbsolute \(bits\/s\) instead/,
  );
  refuses(
    () => portPolicy({ minimumBandwidthAbsolute: 1e6 }, P, 'weight'),
    'policy.minimumBandwidthAbsolute',
    /mode is weight; give minimumBandwidthWeight \(1-100\) instead/,
  );
  refuses(
    () => portPolicy({ minimumBandwidthWeight: 5, minimumBandwidthAbsolute: 1e6 }, P),
    'policy.minimumBandwidthAbsolute',
    /not both/,
  );
  refuses(() => portPolicy({ mirror: 'both' }, P), 'policy.mirror', /one of none, source, destination, got "both"/);
  refuses(
    () => portPolicy({ mirrorDirection: 'egress' }, P),
    'policy.mirrorDirection',
    /only to a mirroring source \(mirror "source"\), got no mirror setting/,
  );
  refuses(
    () => portPolicy({ mirror: 'destination', mirrorDirection: 'egress' }, P),
    'policy.mirrorDirection',
    /got mirror "destination"/,
  );
  refuses(
    () => portPolicy({ mirror: 'source', mirrorDirection: 'out' }, P),
    'policy.mirrorDirection',
    /one of ingress, egress, both/,
  );
  refuses(() => portPolicy({ acls: {} }, P), 'policy.acls', /must be a list of port ACL rules/);
  refuses(
    () =>
      portPolicy(
        {
          acls: [
            { action: 'deny', direction: 'inbound', remoteIp: 'any' },
            { action: 'deny', direction: 'inbound' },
          ],
        },
        P,
      ),
    'policy.acls[1]',
    /at least one of/,
  );
  refuses(
    () => portPolicy({ extendedAcls: [{ action: 'deny', direction: 'inbound', weight: 1, protocol: 'gre' }] }, P),
    'policy.extendedAcls[0].protocol',
    /tcp, udp/,
  );
  refuses(() => portPolicy({ qos: 1 }, P), 'policy.qos', /unknown setting; expected one of macAddressSpoofing/);
  refuses(() => portPolicy(null, P), 'policy', /must be an object, got null/);
});

test('port policy: extended ACL weights are unique per direction, ids unique per list', () => {
  const r = (direction: string, weight: number, id?: number) => ({
    action: 'deny',
    direction,
    weight,
    ...(id ? { id } : {}),
  });
  // inbound and outbound do not overlap: same weight allowed
  assert.equal(portPolicy({ extendedAcls: [r('inbound', 5), r('outbound', 5)] }, 'p').extendedAcls?.length, 2);
  refuses(
    () => portPolicy({ extendedAcls: [r('inbound', 5), r('inbound', 5)] }, 'p'),
    'p.extendedAcls[1].weight',
    /weight 5 is already used by extendedAcls\[0\] \(inbound\) and this rule is inbound; weights are unique per direction/,
  );
  refuses(
    () => portPolicy({ extendedAcls: [r('inbound', 5), r('outbound', 6), r('both', 6)] }, 'p'),
    'p.extendedAcls[2].weight',
    /already used by extendedAcls\[1\] \(outbound\) and this rule is both/,
  );
  refuses(
    () => portPolicy({ extendedAcls: [r('both', 7), r('outbound', 7)] }, 'p'),
    'p.extendedAcls[1].weight',
    /extendedAcls\[0\] \(both\)/,
  );
  refuses(
    () => portPolicy({ extendedAcls: [r('inbound', 1, 4), r('inbound', 2, 4)] }, 'p'),
    'p.extendedAcls[1].id',
    /id 4 is already used by p\.extendedAcls\[0\]/,
  );
  refuses(
    () =>
      portPolicy(
        {
          acls: [
            { id: 9, action: 'deny', direction: 'both', remoteIp: 'any' },
            { id: 9, action: 'allow', direction: 'both', remoteIp: 'any' },
          ],
        },
        'p',
      ),
    'p.acls[1].id',
    /unique within a port/,
  );
});

test('private VLANs: shapes, secondaries sorted and merged', () => {
  assert.deepEqual(pvlanConfig({ mode: 'private', pvlan: 'isolated', primary: 10, secondary: [200] }, 'v'), {
    mode: 'private',
    pvlan: 'isolated',
    primary: 10,
    secondary: [200],
  });
  assert.deepEqual(pvlanConfig({ mode: 'private', pvlan: 'community', primary: 10, secondary: [201, 201] }, 'v'), {
    mode: 'private',
    pvlan: 'community',
    primary: 10,
    secondary: [201],
  });
  assert.deepEqual(
    pvlanConfig({ mode: 'private', pvlan: 'promiscuous', primary: 10, secondary: [202, 200, 201] }, 'v'),
    {
      mode: 'private',
      pvlan: 'promiscuous',
      primary: 10,
      secondary: [200, 201, 202],
    },
  );
});

test('private VLANs: refusals name the field and the right form', () => {
  const b = { mode: 'private', primary: 10 };
  refuses(
    () => pvlanConfig({ ...b, pvlan: 'isolated', secondary: [200, 201] }, 'vlan'),
    'vlan.secondary',
    /an isolated port has exactly one secondary VLAN, got 2 \(200, 201\); only a promiscuous port lists several/,
  );
  refuses(
    () => pvlanConfig({ ...b, pvlan: 'community', secondary: [200, 201] }, 'vlan'),
    'vlan.secondary',
    /a community port has exactly one/,
  );
  refuses(
    () => pvlanConfig({ ...b, pvlan: 'community', secondary: [] }, 'vlan'),
    'vlan.secondary',
    /a community port needs exactly one secondary VLAN, got none/,
  );
  refuses(
    () => pvlanConfig({ ...b, pvlan: 'promiscuous', secondary: [] }, 'vlan'),
    'vlan.secondary',
    /needs at least one secondary VLAN/,
  );
  refuses(
    () => pvlanConfig({ ...b, pvlan: 'isolated', secondary: 200 }, 'vlan'),
    'vlan.secondary',
    /must be a list of VLAN IDs \(1-4094\), got 200/,
  );
  refuses(
    () => pvlanConfig({ ...b, pvlan: 'promiscuous', secondary: [200, 10] }, 'vlan'),
    'vlan.secondary[1]',
    /10 is the primary VLAN; a secondary VLAN must differ from the primary/,
  );
  refuses(
    () => pvlanConfig({ ...b, pvlan: 'promiscuous', secondary: [4095] }, 'vlan'),
    'vlan.secondary[0]',
    /integer from 1 to 4094, got 4095/,
  );
  refuses(
    () => pvlanConfig({ ...b, primary: 0, pvlan: 'isolated', secondary: [200] }, 'vlan'),
    'vlan.primary',
    /1 to 4094, got 0/,
  );
  refuses(
    () => pvlanConfig({ ...b, pvlan: 'private', secondary: [200] }, 'vlan'),
    'vlan.pvlan',
    /one of isolated, community, promiscuous/,
  );
  refuses(
    () => pvlanConfig({ ...b, mode: 'access', pvlan: 'isolated', secondary: [200] }, 'vlan'),
    'vlan.mode',
    /one of private/,
  );
  refuses(
    () => pvlanConfig({ ...b, pvlan: 'isolated', secondary: [200], vid: 3 }, 'vlan'),
    'vlan.vid',
    /unknown setting/,
  );
});

test('property: canonical prefixes and port ranges are fixed points; masking any address gives an accepted prefix', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 32 }), (addr, len) => {
      const net = len === 0 ? 0 : (addr & (0xffffffff << (32 - len))) >>> 0;
      const text = `${formatIpv4(net)}/${len}`;
      const canon = ipPrefix(text, 'f');
      assert.equal(ipPrefix(canon, 'f'), canon);
      if (net !== addr)
        assert.throws(
          () => ipPrefix(`${formatIpv4(addr)}/${len}`, 'f'),
          new RegExp(`did you mean ${text.replace(/\./g, '\\.')}\\?`),
        );
    }),
  );
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.integer({ min: 0, max: 128 }), (addr, len) => {
      const net = addr.map((b, i) => b & ((0xff00 >> Math.max(0, Math.min(8, len - 8 * i))) & 0xff));
      const canon = ipPrefix(`${formatIpv6(net)}/${len}`, 'f');
      assert.equal(ipPrefix(canon, 'f'), canon);
      assert.equal(ipPrefix(canon.toUpperCase().replace('ANY', 'any'), 'f'), canon);
    }),
  );
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 65535 }), fc.integer({ min: 0, max: 65535 }), (a, b) => {
      const canon = portRange(`${Math.min(a, b)}-${Math.max(a, b)}`, 'p');
      assert.equal(portRange(canon, 'p'), canon);
    }),
  );
});
