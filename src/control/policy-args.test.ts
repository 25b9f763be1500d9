import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { parseArgs } from 'node:util';
import { aclFromArgs, bytes, extAclFromArgs, policyFlagOptions, policyFromFlags, rate } from './policy-args.js';
import { refuses } from '../testing/refuses.js';

/** The flags exactly as cli.ts would get them from parseArgs. */
const flags = (argv: string[]) => {
  const r = parseArgs({ args: argv, options: policyFlagOptions, allowPositionals: true, strict: true });
  return { f: r.values as Record<string, string | boolean | undefined>, args: r.positionals };
};

test('rate: SI multipliers, either case, optional bit units, exact decimals', () => {
  assert.equal(rate('1000000', 'r'), 1_000_000);
  assert.equal(rate('800k', 'r'), 800_000);
  assert.equal(rate('800K', 'r'), 800_000);
  assert.equal(rate('50M', 'r'), 50_000_000);
  assert.equal(rate('50m', 'r'), 50_000_000);
  assert.equal(rate('1.5G', 'r'), 1_500_000_000);
  assert.equal(rate('1.1G', 'r'), 1_100_000_000); // exact: 1.1 * 1e9 in floating point is 1100000000.0000002
  assert.equal(rate('0.001G', 'r'), 1_000_000);
  assert.equal(rate('2.50M', 'r'), 2_500_000);
  assert.equal(rate('100T', 'r'), 100_000_000_000_000);
  assert.equal(rate('10Gbps', 'r'), 10_000_000_000);
  assert.equal(rate('100Mbit', 'r'), 100_000_000);
  assert.equal(rate('100 Mbit/s', 'r'), 100_000_000);
  assert.equal(rate('0', 'r'), 0);
  assert.equal(rate(' 5M ', 'r'), 5_000_000);
});

test('rate: garbage, fractions of a bit, bytes and overflow are refused', () => {
  for (const bad of [
    '',
    'fast',
    '50X',
    '-5M',
    '5e6',
    '1,000',
    '.5M',
    '5.M',
    '50MB',
    '50MBps',
    '5 5M',
    'M',
    '50Mi',
    '0x10',
  ])
    refuses(
      () => rate(bad, '--max-bandwidth'),
      '--max-bandwidth',
      /is not a rate; write bits per second as a number with an optional k, M, G or T \(1000-based\), like 800k, 50M or 1\.5G/,
    );
  refuses(() => rate('0.5', '--max-bandwidth'), '--max-bandwidth', /'0\.5' is not a whole number of bits\/s/);
  refuses(() => rate('1.0000001M', 'r'), 'r', /not a whole number of bits\/s/);
  refuses(() => rate('99999999T', 'r'), 'r', /too large/);
});

test('bytes: binary multipliers, optional B / iB, exact decimals', () => {
  assert.equal(bytes('1514', 'b'), 1514);
  assert.equal(bytes('64K', 'b'), 65536);
  assert.equal(bytes('64k', 'b'), 65536);
  assert.equal(bytes('64KiB', 'b'), 65536);
  assert.equal(bytes('64KB', 'b'), 65536);
  assert.equal(bytes('1M', 'b'), 1_048_576);
  assert.equal(bytes('1G', 'b'), 1_073_741_824);
  assert.equal(bytes('1.5K', 'b'), 1536);
  assert.equal(bytes('1514B', 'b'), 1514);
  assert.equal(bytes('0.5M', 'b'), 524_288);
  for (const bad of ['', 'big', '64X', '-1', '1e6', '64T', '64 K B', 'K'])
    refuses(
      () => bytes(bad, '--max-burst'),
      '--max-burst',
      /is not a size; write bytes as a number with an optional K, M or G \(1024-based\), like 1514, 64K or 1M/,
    );
  refuses(() => bytes('1.1K', '--max-burst'), '--max-burst', /'1\.1K' is not a whole number of bytes/);
  refuses(() => bytes('1.5', 'b'), 'b', /whole number of bytes/);
});

test('policyFromFlags: only the flags given, parsed and validated', () => {
  const { f } = flags([
    '--mac-spoofing',
    'off',
    '--dhcp-guard',
    'on',
    '--router-guard',
    'on',
    '--priority-tag',
    'off',
    '--storm-limit',
    '1000',
    '--max-bandwidth',
    '50M',
    '--max-burst',
    '64K',
    '--min-weight',
    '10',
    '--mirror',
    'source',
    '--mirror-direction',
    'both',
  ]);
  assert.deepEqual(policyFromFlags(f), {
    policy: {
      macAddressSpoofing: false,
      dhcpGuard: true,
      routerGuard: true,
      ieeePriorityTag: false,
      stormLimit: 1000,
      maximumBandwidth: 50_000_000,
      maximumBurst: 65536,
      minimumBandwidthWeight: 10,
      mirror: 'source',
      mirrorDirection: 'both',
    },
  });
  assert.deepEqual(policyFromFlags(flags(['--max-bandwidth', '1.5G']).f), {
    policy: { maximumBandwidth: 1_500_000_000 },
  });
  assert.deepEqual(policyFromFlags(flags(['--min-absolute', '100M']).f, 'absolute'), {
    policy: { minimumBandwidthAbsolute: 100_000_000 },
  });
  assert.deepEqual(policyFromFlags({}), { policy: {} });
  // flags of other commands (--json, --api) are not ours to judge
  assert.deepEqual(policyFromFlags({ json: true, api: '/tmp/x.sock' }), { policy: {} });
});

test('policyFromFlags: --mac sets the port MAC, --mac none clears it', () => {
  assert.deepEqual(policyFromFlags(flags(['--mac', '52-54-00-AB-CD-EF']).f), { policy: {}, mac: '52:54:00:ab:cd:ef' });
  assert.deepEqual(policyFromFlags(flags(['--mac', 'none', '--mac-spoofing', 'off']).f), {
    policy: { macAddressSpoofing: false },
    mac: null,
  });
  refuses(() => policyFromFlags(flags(['--mac', '52:54:00']).f), '--mac', /six hex pairs like 52:54:00:12:34:56/);
  refuses(
    () => policyFromFlags(flags(['--mac', '01:00:5e:00:00:01']).f),
    '--mac',
    /group \(multicast\) address; a port's MAC is unicast/,
  );
});

test('policyFromFlags: refusals name the flag the user typed', () => {
  const P =
    (...argv: string[]) =>
    () =>
      policyFromFlags(flags(argv).f);
  refuses(P('--dhcp-guard', 'yes'), '--dhcp-guard', /must be on or off, got 'yes'/);
  refuses(P('--mac-spoofing', 'ON'), '--mac-spoofing', /on or off/);
  refuses(P('--storm-limit', '10k'), '--storm-limit', /must be a whole number, got '10k'/);
  refuses(
    P('--storm-limit', '20000000'),
    '--storm-limit',
    /^--storm-limit: must be an integer from 0 to 10000000, got 20000000$/,
  );
  refuses(P('--max-bandwidth', 'fast'), '--max-bandwidth', /'fast' is not a rate/);
  refuses(
    P('--max-bandwidth', '500'),
    '--max-bandwidth',
    /^--max-bandwidth: must be 0 \(off\) or a whole number of bits\/s from 1000 to 100000000000 \(1k to 100G\), got 500$/,
  );
  refuses(P('--max-bandwidth', '101G'), '--max-bandwidth', /got 101000000000/);
  refuses(P('--max-burst', '1K'), '--max-burst', /integer from 1514 to 1000000000, got 1024/);
  refuses(P('--min-weight', '0'), '--min-weight', /integer from 1 to 100, got 0/);
  refuses(P('--mirror', 'sideways'), '--mirror', /one of none, source, destination, got "sideways"/);
  refuses(P('--mirror', 'none', '--mirror-direction', 'egress'), '--mirror-direction', /only to a mirroring source/);
  // alone it is accepted here: the daemon checks it against the port's current mirror setting
  assert.deepEqual(policyFromFlags({ 'mirror-direction': 'egress' }).policy, { mirrorDirection: 'egress' });
  refuses(P('--mirror', 'source', '--mirror-direction', 'up'), '--mirror-direction', /one of ingress, egress, both/);
  // the switch's mode: the message names the other flag, not the JSON key
  refuses(
    () => policyFromFlags(flags(['--min-weight', '5']).f, 'absolute'),
    '--min-weight',
    /mode is absolute; give --min-absolute \(bits\/s\) instead/,
  );
  refuses(
    () => policyFromFlags(flags(['--min-absolute', '1M']).f, 'weight'),
    '--min-absolute',
    /mode is weight; give --min-weight \(1-100\) instead/,
  );
  refuses(
    P('--min-weight', '5', '--min-absolute', '1M'),
    '--min-absolute',
    /give --min-weight or --min-absolute, not both/,
  );
  // ACL flags do not belong here
  refuses(P('--remote-ip', '10.0.0.0/8'), '--remote-ip', /belongs to an ACL rule/);
  refuses(P('--stateful'), '--stateful', /belongs to an ACL rule/);
  refuses(() => policyFromFlags({ 'max-bandwidth': true }), '--max-bandwidth', /needs a value/);
});

test('aclFromArgs: ACTION DIRECTION plus selectors', () => {
  const A = (...argv: string[]) => {
    const { f, args } = flags(argv);
    return aclFromArgs(args, f);
  };
  assert.deepEqual(A('deny', 'inbound', '--remote-ip', '10.0.0.0/8'), {
    action: 'deny',
    direction: 'inbound',
    remoteIp: '10.0.0.0/8',
  });
  assert.deepEqual(A('Allow', 'Both', '--local-ip', 'any'), { action: 'allow', direction: 'both', localIp: 'any' });
  assert.deepEqual(A('meter', 'outbound', '--local-mac', '52:54:00:00:00:01', '--remote-mac', 'FF-FF-FF-FF-FF-FF'), {
    action: 'meter',
    direction: 'outbound',
    localMac: '52:54:00:00:00:01',
    remoteMac: 'ff:ff:ff:ff:ff:ff',
  });
  assert.deepEqual(A('deny', 'outbound', '--local-ip', 'fd00::1', '--remote-ip', '2001:DB8::/32'), {
    action: 'deny',
    direction: 'outbound',
    localIp: 'fd00::1',
    remoteIp: '2001:db8::/32',
  });
});

test('aclFromArgs: refusals name the flag or positional', () => {
  const A =
    (...argv: string[]) =>
    () => {
      const { f, args } = flags(argv);
      return aclFromArgs(args, f);
    };
  refuses(A('--remote-ip', 'any'), 'ACTION', /missing; expected ACTION DIRECTION/);
  refuses(A('deny', '--remote-ip', 'any'), 'DIRECTION', /missing/);
  refuses(A('deny', 'inbound', 'now', '--remote-ip', 'any'), 'arguments', /unexpected 'now'/);
  refuses(A('drop', 'inbound', '--remote-ip', 'any'), 'ACTION', /one of allow, deny, meter, got "drop"/);
  refuses(A('deny', 'ingress', '--remote-ip', 'any'), 'DIRECTION', /one of inbound, outbound, both, got "ingress"/);
  refuses(
    A('deny', 'inbound'),
    'acl',
    /at least one of --local-mac, --remote-mac, --local-ip, --remote-ip \(--local-ip "any" matches every IP frame\)/,
  );
  refuses(
    A('deny', 'inbound', '--remote-ip', '10.0.0.1/8'),
    '--remote-ip',
    /10\.0\.0\.1\/8 has host bits set; did you mean 10\.0\.0\.0\/8\?/,
  );
  refuses(
    A('deny', 'inbound', '--local-mac', '52:54:00:00:00:01', '--remote-ip', 'any'),
    'acl',
    /mixes MAC and IP selectors/,
  );
  refuses(
    A('deny', 'inbound', '--local-ip', '10.0.0.0/8', '--remote-ip', 'fd00::/8'),
    '--remote-ip',
    /fd00::\/8 is IPv6 but --local-ip 10\.0\.0\.0\/8 is IPv4/,
  );
  refuses(A('deny', 'inbound', '--remote-mac', 'nope'), '--remote-mac', /six hex pairs/);
  refuses(
    A('deny', 'inbound', '--remote-ip', 'any', '--protocol', 'tcp'),
    '--protocol',
    /port ACLs match addresses only; .* are extended ACLs/,
  );
  refuses(A('deny', 'inbound', '--remote-ip', 'any', '--weight', '5'), '--weight', /extended ACLs/);
  refuses(
    A('deny', 'inbound', '--remote-ip', 'any', '--max-bandwidth', '5M'),
    '--max-bandwidth',
    /port policy setting, not part of an ACL rule/,
  );
});

test('extAclFromArgs: ACTION DIRECTION WEIGHT plus the 5-tuple', () => {
  const E = (...argv: string[]) => {
    const { f, args } = flags(argv);
    return extAclFromArgs(args, f);
  };
  assert.deepEqual(
    E(
      'allow',
      'outbound',
      '100',
      '--protocol',
      'TCP',
      '--remote-ip',
      '192.0.2.0/24',
      '--remote-port',
      '443',
      '--stateful',
      '--idle-timeout',
      '300',
    ),
    {
      action: 'allow',
      direction: 'outbound',
      weight: 100,
      protocol: 'tcp',
      remoteIp: '192.0.2.0/24',
      remotePort: '443',
      stateful: true,
      idleTimeout: 300,
    },
  );
  assert.deepEqual(E('Deny', 'Inbound', '1'), { action: 'deny', direction: 'inbound', weight: 1 });
  assert.deepEqual(E('deny', 'both', '--weight', '7', '--protocol', '17', '--local-port', '1024-65535'), {
    action: 'deny',
    direction: 'both',
    weight: 7,
    protocol: 'udp',
    localPort: '1024-65535',
  });
  assert.deepEqual(E('deny', 'inbound', '2', '--protocol', '47'), {
    action: 'deny',
    direction: 'inbound',
    weight: 2,
    protocol: 47,
  });
  assert.deepEqual(E('deny', 'inbound', '3', '--protocol', 'icmpv6', '--local-ip', 'FD00::/8'), {
    action: 'deny',
    direction: 'inbound',
    weight: 3,
    protocol: 'icmpv6',
    localIp: 'fd00::/8',
  });
});

test('extAclFromArgs: refusals name the flag or positional', () => {
  const E =
    (...argv: string[]) =>
    () => {
      const { f, args } = flags(argv);
      return extAclFromArgs(args, f);
    };
  refuses(
    E('allow', 'inbound'),
    'WEIGHT',
    /missing; expected ACTION DIRECTION WEIGHT.*higher weights are evaluated first/,
  );
  refuses(E('allow'), 'DIRECTION', /missing/);
  refuses(E('allow', 'inbound', '5', 'extra'), 'arguments', /unexpected 'extra'/);
  refuses(E('meter', 'inbound', '5'), 'ACTION', /one of allow, deny, got "meter"/);
  refuses(E('allow', 'inbound', 'high'), 'WEIGHT', /must be a whole number, got 'high'/);
  refuses(E('allow', 'inbound', '0'), 'WEIGHT', /integer from 1 to 65535, got 0/);
  refuses(E('allow', 'inbound', '--weight', '70000'), '--weight', /1 to 65535, got 70000/);
  refuses(E('allow', 'inbound', '5', '--weight', '6'), '--weight', /given twice \('5' and --weight '6'\)/);
  refuses(E('allow', 'inbound', '5', '--protocol', 'sctp'), '--protocol', /one of tcp, udp, icmp, icmpv6, got "sctp"/);
  refuses(E('allow', 'inbound', '5', '--protocol', '300'), '--protocol', /integer from 0 to 255, got 300/);
  refuses(
    E('allow', 'inbound', '5', '--remote-port', '80'),
    '--remote-port',
    /ports apply only to protocol tcp or udp, got no protocol \(any\)/,
  );
  refuses(
    E('allow', 'inbound', '5', '--protocol', 'tcp', '--local-port', '90-80'),
    '--local-port',
    /backwards; write it low-high \(80-90\)/,
  );
  refuses(
    E('allow', 'inbound', '5', '--protocol', 'tcp', '--local-port', 'ssh'),
    '--local-port',
    /a port 0-65535 or a range "low-high"/,
  );
  refuses(E('deny', 'inbound', '5', '--stateful'), '--stateful', /only an allow rule can be stateful/);
  refuses(E('allow', 'inbound', '5', '--idle-timeout', '60'), '--idle-timeout', /applies only to stateful rules/);
  refuses(E('allow', 'inbound', '5', '--stateful', '--idle-timeout', '1m'), '--idle-timeout', /whole number, got '1m'/);
  refuses(E('allow', 'inbound', '5', '--stateful', '--idle-timeout', '100000'), '--idle-timeout', /1 to 86400/);
  refuses(E('allow', 'inbound', '5', '--remote-ip', '10.0.0.1/24'), '--remote-ip', /did you mean 10\.0\.0\.0\/24\?/);
  refuses(E('allow', 'inbound', '5', '--protocol', 'icmp', '--remote-ip', 'fd00::/8'), '--protocol', /use icmpv6/);
  refuses(
    E('allow', 'inbound', '5', '--remote-mac', '52:54:00:00:00:01'),
    '--remote-mac',
    /extended ACLs match IP 5-tuples; MAC selectors belong to port ACLs/,
  );
  refuses(E('allow', 'inbound', '5', '--dhcp-guard', 'on'), '--dhcp-guard', /port policy setting/);
  refuses(() => extAclFromArgs(['allow', 'inbound', '5'], { stateful: 'yes' }), '--stateful', /takes no value/);
});

test('policyFlagOptions: every flag the brief lists, --stateful the only switch, no clash with parseArgs', () => {
  assert.deepEqual(Object.keys(policyFlagOptions).sort(), [
    'dhcp-guard',
    'idle-timeout',
    'local-ip',
    'local-mac',
    'local-port',
    'mac',
    'mac-spoofing',
    'max-bandwidth',
    'max-burst',
    'max-flows',
    'min-absolute',
    'min-weight',
    'mirror',
    'mirror-direction',
    'priority-tag',
    'protocol',
    'remote-ip',
    'remote-mac',
    'remote-port',
    'router-guard',
    'stateful',
    'storm-limit',
    'weight',
  ]);
  assert.deepEqual(
    Object.entries(policyFlagOptions)
      .filter(([, o]) => o.type === 'boolean')
      .map(([k]) => k),
    ['stateful'],
  );
  assert.throws(() => flags(['--max-bandwidth']), /argument missing/);
});

test('property: rate and bytes agree with integer arithmetic for every whole and one-decimal input', () => {
  const si = [
    ['', 1],
    ['k', 1e3],
    ['M', 1e6],
    ['G', 1e9],
  ] as const;
  const bin = [
    ['', 1],
    ['K', 1024],
    ['M', 1024 ** 2],
    ['G', 1024 ** 3],
  ] as const;
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 999_999 }),
      fc.integer({ min: 0, max: 9 }),
      fc.integer({ min: 0, max: 3 }),
      (n, tenth, u) => {
        const [s, m] = si[u];
        assert.equal(rate(`${n}${s}`, 'r'), n * m);
        if (m >= 10) assert.equal(rate(`${n}.${tenth}${s}`, 'r'), n * m + (tenth * m) / 10);
        const [bs, bm] = bin[u];
        assert.equal(bytes(`${n}${bs}`, 'b'), n * bm);
      },
    ),
  );
});
