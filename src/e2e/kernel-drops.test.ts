/**
 * Loss the switch cannot see is reported where the kernel counts it: with the daemon stopped (SIGSTOP, so
 * it reads nothing), a host floods its TAP until the TAP queue overflows, and a local sender floods a dgram
 * port until its socket buffer overflows; after SIGCONT, `vswitch counters --json` shows both per port
 * (`kernel.tapTxDropped`, `kernel.socketDrops`), and the human table lists them.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { netnsSkipReason } from '../testing/netns.js';
import { runSeqSender } from '../testing/udp-seq.js';
import { SwitchLab, type LabHost } from './lab.js';

/** Datagrams of 1400 bytes to 127.0.0.1:PORT, as fast as the socket takes them. */
const kFlood = `
const s = require('node:dgram').createSocket('udp4');
const buf = Buffer.alloc(1400);
let n = 0;
const go = () => { if (n++ >= 4000) return s.close(); s.send(buf, Number(process.argv[1]), '127.0.0.1', go); };
go();`;

describe('kernel-side loss shown per port', { skip: netnsSkipReason() }, () => {
  const lab = new SwitchLab();
  const dgramPort = 23_456;
  before(() =>
    lab.start({
      hosts: 2,
      switch: { workers: 1 },
      extraPorts: [
        {
          name: 'vm',
          nic: { type: 'dgram', localPort: dgramPort, remoteHost: '127.0.0.1', remotePort: dgramPort + 1 },
        },
      ],
    }),
  );
  after(async () => {
    lab.daemon.proc?.kill('SIGCONT');
    await lab.stop();
  });

  test('TAP queue overflow and socket buffer overflow while the switch is stopped', async () => {
    const [h1, h2] = lab.hosts as [LabHost, LabHost];
    assert.equal(await lab.ping(h1, h2.ip4, { count: 1 }), 0, 'ARP resolved, so the flood is unicast IP');
    const c0 = await lab.counters();
    assert.equal(c0.ports.p1.kernel?.tapTxDropped, 0, `no TAP loss yet: ${JSON.stringify(c0.ports.p1.kernel)}`);
    const pid = lab.daemon.proc!.pid!;
    process.kill(pid, 'SIGSTOP');
    try {
      await runSeqSender(lab.lab, h1.ns, { dst: h2.ip4, port: 9, flows: 1, count: 3000, pps: 50_000 });
      const flood = await lab.lab.exec(lab.swNs, [process.execPath, '-e', kFlood, String(dgramPort)], {
        timeoutMs: 30_000,
      });
      assert.equal(flood.code, 0, flood.stderr);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    const c1 = await lab.counters();
    const tap = c1.ports.p1.kernel;
    const sock = c1.ports.vm.kernel;
    console.log(`# kernel drops: p1 ${JSON.stringify(tap)}, vm ${JSON.stringify(sock)}`);
    assert.ok(tap.tapTxDropped > 0, `the TAP queue overflowed while the switch was stopped: ${JSON.stringify(tap)}`);
    assert.ok(sock.socketDrops > 0, `the dgram socket buffer overflowed: ${JSON.stringify(sock)}`);
    const human = (await lab.daemon.cli('counters', 's1')).stdout;
    assert.match(human, /kernel/i, human);
  });
});
