/**
 * Classic pcap files (the libpcap format tcpdump -w writes and tshark, Wireshark and scapy read): a 24-byte
 * global header, then per frame a 16-byte record header and the frame bytes. Written by the control
 * thread for packet capture (control/capture.ts); the datapath never touches a file.
 *
 *   global: magic a1b2c3d4 | version 2.4 | thiszone 0 | sigfigs 0 | snaplen | linktype
 *   record: ts_sec | ts_usec | incl_len | orig_len | incl_len frame bytes
 *
 * Design notes: README.md in this folder, section "pcap.ts".
 */
import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { withDeadline } from './deadline.js';

/**
 * How a capture file is opened: created new (O_EXCL: an existing file, or a symlink planted in its place, is
 * refused), or with `force` truncated if it is a regular file; never through a symlink (O_NOFOLLOW); never
 * blocking on a FIFO without a reader (O_NONBLOCK, no effect on regular files). Mode 0600: frames are private.
 */
const { O_WRONLY, O_CREAT, O_EXCL, O_TRUNC, O_NOFOLLOW, O_NONBLOCK } = constants;
const kCreateFlags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NONBLOCK;
const kForceFlags = O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_NONBLOCK;
const kFileMode = 0o600;

/** Opens `path` as a new capture file, or says why not in the user's terms. */
async function openCaptureFile(path: string, force: boolean): Promise<FileHandle> {
  let fh: FileHandle;
  try {
    fh = await withDeadline(open(path, force ? kForceFlags : kCreateFlags, kFileMode), `open ${path}`);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST')
      throw new Error(
        `${path} already exists; choose another name, or pass --force (API: "force": true) to overwrite it`,
      );
    if (code === 'ELOOP')
      throw new Error(`${path} is a symbolic link; captures never follow links: give the real path`);
    if (code === 'ENXIO') throw new Error(`${path} is a FIFO with no reader; captures write regular files`);
    throw err;
  }
  const st = await fh.stat();
  if (!st.isFile()) {
    await fh.close();
    throw new Error(`${path} is not a regular file; captures write regular files only`);
  }
  return fh;
}

export const kPcapMagic = 0xa1b2c3d4;
export const kPcapVersionMajor = 2;
export const kPcapVersionMinor = 4;
/** Largest frame a reader must accept: 65535 is what tcpdump writes by default, above any GSO frame we hold. */
export const kPcapSnaplen = 65535;
/** LINKTYPE_ETHERNET: frames start with the 14-byte Ethernet header, no FCS. */
export const kLinktypeEthernet = 1;
export const kGlobalHeaderLen = 24;
export const kRecordHeaderLen = 16;
/** Write chunk: 256 KiB (about 170 full-size frames) keeps syscalls rare and memory per capture small. */
const kChunk = 256 * 1024;
/** Chunks kept for reuse: one being filled, one being written, one to spare. */
const kSpareChunks = 2;

/** The 24-byte global header. */
export function globalHeader(snaplen = kPcapSnaplen, linktype = kLinktypeEthernet): Uint8Array {
  const b = new Uint8Array(kGlobalHeaderLen);
  const v = new DataView(b.buffer);
  v.setUint32(0, kPcapMagic, true);
  v.setUint16(4, kPcapVersionMajor, true);
  v.setUint16(6, kPcapVersionMinor, true);
  v.setInt32(8, 0, true); // thiszone: timestamps are UTC
  v.setUint32(12, 0, true); // sigfigs: always 0 in practice
  v.setUint32(16, snaplen, true);
  v.setUint32(20, linktype, true);
  return b;
}

/** Write one record header at `at` in `view`: seconds, microseconds, bytes stored, bytes on the wire. */
export function writeRecordHeader(
  view: DataView,
  at: number,
  sec: number,
  usec: number,
  inclLen: number,
  origLen: number,
): void {
  view.setUint32(at, sec, true);
  view.setUint32(at + 4, usec, true);
  view.setUint32(at + 8, inclLen, true);
  view.setUint32(at + 12, origLen, true);
}

export class PcapWriter {
  /** Records written (accepted into the buffer). */
  records = 0;
  /** Bytes accepted, global header included. */
  bytes = 0;
  private chunk: Buffer = Buffer.allocUnsafe(kChunk);
  private view = new DataView(this.chunk.buffer, this.chunk.byteOffset, this.chunk.byteLength);
  private used = 0;
  /** Filled chunks waiting for the file, with their used length. */
  private readonly queue: Array<{ buf: Buffer; len: number }> = [];
  /** Written chunks kept for reuse (a capture at a few frames per drain must not allocate 256 KiB each time). */
  private readonly spare: Buffer[] = [];
  private writing: Promise<void> | null = null;
  private failure: Error | null = null;
  private closed = false;

  private constructor(
    readonly path: string,
    private readonly fh: FileHandle,
  ) {}

  /** Create `path` (truncate an existing regular file only with `force`), write the global header. Rejects with the reason. */
  static async create(path: string, opts: { force?: boolean; snaplen?: number } = {}): Promise<PcapWriter> {
    const snaplen = opts.snaplen ?? kPcapSnaplen;
    const fh = await openCaptureFile(path, opts.force === true);
    const w = new PcapWriter(path, fh);
    w.append(globalHeader(snaplen), 0, kGlobalHeaderLen);
    return w;
  }

  /** The first write error, if any (the capture stops on it). */
  get error(): Error | null {
    return this.failure;
  }

  /** Append one record: `inclLen` bytes of `frame` from `start`, stamped sec.usec, `origLen` on the wire. */
  record(sec: number, usec: number, frame: Uint8Array, start: number, inclLen: number, origLen: number): void {
    if (this.closed) throw new Error(`pcap ${this.path}: closed`);
    if (this.used + kRecordHeaderLen + inclLen > this.chunk.length) this.rotate(kRecordHeaderLen + inclLen);
    writeRecordHeader(this.view, this.used, sec, usec, inclLen, origLen);
    this.used += kRecordHeaderLen;
    this.bytes += kRecordHeaderLen;
    this.append(frame, start, inclLen);
    this.records++;
  }

  private append(src: Uint8Array, start: number, len: number): void {
    if (this.used + len > this.chunk.length) this.rotate(len);
    this.chunk.set(src.subarray(start, start + len), this.used);
    this.used += len;
    this.bytes += len;
  }

  /** Queue the current chunk and start a new one big enough for `need` bytes. */
  private rotate(need: number): void {
    if (this.used > 0) this.queue.push({ buf: this.chunk, len: this.used });
    this.chunk =
      need <= kChunk && this.spare.length > 0 ? this.spare.pop()! : Buffer.allocUnsafe(Math.max(kChunk, need));
    this.view = new DataView(this.chunk.buffer, this.chunk.byteOffset, this.chunk.byteLength);
    this.used = 0;
  }

  /** Start writing what is buffered unless a write is already in flight (it picks the rest up). */
  flush(): void {
    if (this.used > 0) this.rotate(0);
    if (this.writing === null && this.queue.length > 0 && this.failure === null) this.writing = this.drain();
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0 && this.failure === null) {
        const { buf, len } = this.queue.shift()!;
        let done = 0;
        while (done < len) done += (await this.fh.write(buf, done, len - done)).bytesWritten;
        if (buf.length === kChunk && this.spare.length < kSpareChunks) this.spare.push(buf);
      }
    } catch (err) {
      this.failure = err instanceof Error ? err : new Error(String(err));
      this.queue.length = 0;
    } finally {
      this.writing = null;
    }
  }

  /** Flush everything and close the file; resolves once the bytes are with the OS. Safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.flush();
    while (this.writing !== null) {
      await this.writing;
      if (this.queue.length > 0 && this.failure === null) this.writing = this.drain();
    }
    await this.fh.close();
    if (this.failure) throw new Error(`cannot write capture file ${this.path}: ${this.failure.message}`);
  }
}
