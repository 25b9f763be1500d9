/**
 * pcap writer: golden bytes of the global header and of a record (as libpcap defines them, little-endian),
 * a file written across several write chunks read back whole, and the file read by the real tshark when
 * it is installed (a real tool on the other end).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { execFileSync as run } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildIcmpEcho, fromHex, toHex } from '../packet/frame.js';
import { globalHeader, kGlobalHeaderLen, kRecordHeaderLen, PcapWriter, writeRecordHeader } from './pcap.js';

/** magic a1b2c3d4 (LE), version 2.4, thiszone 0, sigfigs 0, snaplen 65535, linktype 1 (Ethernet). */
const kGoldenHeader = 'd4c3b2a1' + '0200' + '0400' + '00000000' + '00000000' + 'ffff0000' + '01000000';
/** ts 1700000000.123456, 4 bytes kept of a 60-byte frame. */
const kGoldenRecordHeader = '00f15365' + '40e20100' + '04000000' + '3c000000';

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'vswitch-pcap-'));
}

test('global header: golden bytes', () => {
  assert.equal(toHex(globalHeader()), kGoldenHeader);
  assert.equal(globalHeader().length, kGlobalHeaderLen);
});

test('record header: golden bytes', () => {
  const b = new Uint8Array(kRecordHeaderLen);
  writeRecordHeader(new DataView(b.buffer), 0, 1_700_000_000, 123_456, 4, 60);
  assert.equal(toHex(b), kGoldenRecordHeader);
});

test('a file: header, then each record header and its bytes, nothing else', async () => {
  const dir = tmp();
  try {
    const file = join(dir, 'a.pcap');
    const w = await PcapWriter.create(file);
    const frame = fromHex('00deadbeef00');
    w.record(1_700_000_000, 123_456, frame, 1, 4, 60); // bytes 1..4 of the buffer: de ad be ef
    await w.close();
    assert.equal(toHex(readFileSync(file)), kGoldenHeader + kGoldenRecordHeader + 'deadbeef');
    assert.equal(w.records, 1);
    assert.equal(w.bytes, kGlobalHeaderLen + kRecordHeaderLen + 4);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('many records across write chunks arrive whole and in order', async () => {
  const dir = tmp();
  try {
    const file = join(dir, 'b.pcap');
    const w = await PcapWriter.create(file);
    const n = 500; // 500 x (16 + 1514) bytes: about 3 chunks of 256 KiB
    const frame = new Uint8Array(1514);
    for (let i = 0; i < n; i++) {
      frame.fill(i & 0xff);
      w.record(i, i * 10, frame, 0, frame.length, frame.length);
      if (i % 97 === 0) w.flush(); // a write in flight while more records arrive
    }
    await w.close();
    const bytes = readFileSync(file);
    assert.equal(bytes.length, kGlobalHeaderLen + n * (kRecordHeaderLen + 1514));
    const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let i = 0; i < n; i++) {
      const at = kGlobalHeaderLen + i * (kRecordHeaderLen + 1514);
      assert.equal(v.getUint32(at, true), i);
      assert.equal(v.getUint32(at + 4, true), i * 10);
      assert.equal(v.getUint32(at + 8, true), 1514);
      assert.equal(bytes[at + kRecordHeaderLen], i & 0xff);
      assert.equal(bytes[at + kRecordHeaderLen + 1513], i & 0xff);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('create fails with the OS reason for a path that cannot be written', async () => {
  await assert.rejects(PcapWriter.create('/nonexistent-dir-for-vswitch/x.pcap'), /ENOENT/);
});

test('created new and private (0600); an existing file is refused, --force truncates it; a symlink or a FIFO never', async () => {
  const dir = tmp();
  try {
    const file = join(dir, 'c.pcap');
    const w = await PcapWriter.create(file);
    await w.close();
    assert.equal(statSync(file).mode & 0o777, 0o600);
    writeFileSync(file, 'precious');
    await assert.rejects(PcapWriter.create(file), /c\.pcap already exists; choose another name, or pass --force/);
    assert.equal(readFileSync(file, 'utf8'), 'precious', 'the refused create left the file alone');
    const f = await PcapWriter.create(file, { force: true });
    await f.close();
    assert.equal(toHex(readFileSync(file)), kGoldenHeader, 'forced: truncated and rewritten');

    const target = join(dir, 'target');
    writeFileSync(target, 'root-owned config, say');
    const link = join(dir, 'link.pcap');
    symlinkSync(target, link);
    await assert.rejects(PcapWriter.create(link), /already exists/, 'O_EXCL: a planted link is an existing name');
    await assert.rejects(
      PcapWriter.create(link, { force: true }),
      /link\.pcap is a symbolic link; captures never follow links/,
    );
    const dangling = join(dir, 'dangling.pcap');
    symlinkSync(join(dir, 'would-be-created'), dangling);
    await assert.rejects(PcapWriter.create(dangling), /already exists/);
    assert.equal(readFileSync(target, 'utf8'), 'root-owned config, say', 'nothing written through a link');
    assert.throws(() => statSync(join(dir, 'would-be-created')), /ENOENT/, 'nothing created through a dangling link');

    const fifo = join(dir, 'fifo.pcap');
    run('mkfifo', [fifo]);
    await assert.rejects(PcapWriter.create(fifo, { force: true }), /FIFO with no reader/, 'no hang on a FIFO');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

function hasTshark(): boolean {
  try {
    execFileSync('tshark', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

test('tshark reads the file: frame length, MACs, ICMP type', {
  skip: hasTshark() ? false : 'tshark not installed',
}, async () => {
  const dir = tmp();
  try {
    const file = join(dir, 'c.pcap');
    const w = await PcapWriter.create(file);
    const f = buildIcmpEcho({
      srcMac: '02:00:00:00:00:01',
      dstMac: '02:00:00:00:00:02',
      srcIp: '10.0.0.1',
      dstIp: '10.0.0.2',
    });
    w.record(1_700_000_000, 5, f, 0, f.length, f.length);
    await w.close();
    const out = execFileSync(
      'tshark',
      [
        '-r',
        file,
        '-T',
        'fields',
        '-e',
        'frame.len',
        '-e',
        'eth.src',
        '-e',
        'eth.dst',
        '-e',
        'icmp.type',
        '-e',
        'frame.time_epoch',
      ],
      {
        stdio: ['ignore', 'pipe', 'ignore'],
      },
    ).toString();
    const [len, src, dst, type, time] = out.trim().split('\t');
    assert.deepEqual([len, src, dst, type], [String(f.length), '02:00:00:00:00:01', '02:00:00:00:00:02', '8']);
    assert.match(time, /^1700000000\.000005/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
