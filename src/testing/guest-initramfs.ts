/**
 * A tiny Linux guest for QEMU tests, built at test time from what the machine has installed: the newest
 * Debian cloud kernel in /boot, and an initramfs (cpio "newc", written here) holding the machine's busybox
 * with the shared libraries `ldd` names, the kernel modules a virtio NIC needs (virtio_pci, virtio_net and
 * what modules.dep says they depend on, loaded in dependency order) and a caller's /init script.
 *
 * Why: a real guest kernel with its own driver is the only proof that a printed QEMU line works in a VM,
 * and a disk image would be a download. Trade-off: the guest is only as good as busybox (udhcpc, ip,
 * ping), and the cpio is written uncompressed (a few MB: quicker to write than to gzip, the kernel reads
 * it the same).
 */
import { execFileSync } from 'node:child_process';
import { accessSync, constants, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** A Debian cloud kernel found in /boot: its image and its version (the /lib/modules directory name). */
export interface GuestKernel {
  vmlinuz: string;
  version: string;
}

/** The newest /boot/vmlinuz-*-cloud-amd64 (Debian's linux-image-cloud-amd64), or null when none is installed. */
export function newestCloudKernel(boot = '/boot'): GuestKernel | null {
  let names: string[];
  try {
    names = readdirSync(boot).filter((n) => /^vmlinuz-.*-cloud-amd64$/.test(n));
  } catch {
    return null;
  }
  if (names.length === 0) return null;
  names.sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  const name = names[names.length - 1]!;
  return { vmlinuz: join(boot, name), version: name.slice('vmlinuz-'.length) };
}

/** The busybox applets the guest's scripts may call (each a symlink to /bin/busybox). */
const kApplets = ['sh', 'mount', 'mkdir', 'cat', 'insmod', 'ip', 'udhcpc', 'ping', 'poweroff', 'sleep', 'echo'];

/** The modules behind a virtio NIC; the rest of each chain comes from modules.dep. */
const kNicModules = ['virtio_pci', 'virtio_net'];

/** The .ko paths (relative to /lib/modules/VERSION) that load `wanted` and their dependencies, each after
 *  what it needs. A module built into the kernel (modules.builtin) is left out. */
export function moduleLoadOrder(version: string, wanted = kNicModules): string[] {
  const dir = join('/lib/modules', version);
  const deps = new Map<string, string[]>();
  for (const line of readFileSync(join(dir, 'modules.dep'), 'utf8').split('\n')) {
    const [mod, rest] = line.split(':');
    if (mod && rest !== undefined) deps.set(mod, rest.trim().split(/\s+/).filter(Boolean));
  }
  const builtin = new Set(readFileSync(join(dir, 'modules.builtin'), 'utf8').split('\n'));
  const byName = (name: string) =>
    [...deps.keys()].find((k) => k.endsWith(`/${name}.ko`) || k.endsWith(`/${name.replaceAll('_', '-')}.ko`));
  const order: string[] = [];
  const visit = (path: string) => {
    if (order.includes(path)) return;
    for (const d of deps.get(path) ?? []) visit(d);
    order.push(path);
  };
  for (const name of wanted) {
    const path = byName(name);
    if (path) visit(path);
    else if (![...builtin].some((b) => b.endsWith(`/${name}.ko`)))
      throw new Error(`kernel ${version}: module ${name} is neither in modules.dep nor built in`);
  }
  return order;
}

/** The files a dynamically linked program loads (ldd's absolute paths, the interpreter included). */
function sharedLibs(program: string): string[] {
  const out = execFileSync('ldd', [program], { encoding: 'utf8' });
  if (/not a dynamic executable/.test(out)) return [];
  return [...out.matchAll(/(\/\S+)/g)].map((m) => m[1]!);
}

/** Where busybox is on PATH, or null. */
export function findBusybox(): string | null {
  for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(':')) {
    try {
      accessSync(join(dir, 'busybox'), constants.X_OK);
      return join(dir, 'busybox');
    } catch {
      /* next */
    }
  }
  return null;
}

type Entry =
  | { kind: 'dir'; path: string }
  | { kind: 'file'; path: string; data: Buffer; mode: number }
  | { kind: 'symlink'; path: string; target: string }
  | { kind: 'chardev'; path: string; major: number; minor: number };

/** A cpio archive in the "newc" format the kernel unpacks as its initramfs (see the kernel's
 *  Documentation/driver-api/early-userspace/buffer-format.rst): per entry a 110-byte ASCII header of 13
 *  hex fields, the NUL-terminated name, the data, each padded to 4 bytes; a "TRAILER!!!" entry ends it. */
export function newcArchive(entries: Entry[]): Buffer {
  const parts: Buffer[] = [];
  const pad = (n: number) => Buffer.alloc((4 - (n % 4)) % 4);
  let ino = 1;
  const add = (name: string, mode: number, data: Buffer, rdev: [number, number] = [0, 0]) => {
    const fields = [ino++, mode, 0, 0, 1, 0, data.length, 0, 0, rdev[0], rdev[1], Buffer.byteLength(name) + 1, 0];
    const header = '070701' + fields.map((f) => f.toString(16).padStart(8, '0')).join('');
    const head = Buffer.from(`${header}${name}\0`);
    parts.push(head, pad(head.length), data, pad(data.length));
  };
  for (const e of entries) {
    const name = e.path.replace(/^\/+/, '');
    if (e.kind === 'dir') add(name, 0o040755, Buffer.alloc(0));
    else if (e.kind === 'file') add(name, 0o100000 | e.mode, e.data);
    else if (e.kind === 'symlink') add(name, 0o120777, Buffer.from(e.target));
    else add(name, 0o020600, Buffer.alloc(0), [e.major, e.minor]);
  }
  add('TRAILER!!!', 0, Buffer.alloc(0));
  return Buffer.concat(parts);
}

/**
 * Write an initramfs to `file` for `kernel`: busybox as /bin/busybox (and /bin/sh, /bin/ip, ...), its
 * libraries at the paths ldd gives, the virtio NIC modules under /lib/modules/VERSION with their load
 * order in /modules.order (one path a line), `/init` and any `extra` files (path to contents; all
 * executable). Returns the archive's size in bytes.
 */
export function writeGuestInitramfs(
  file: string,
  kernel: GuestKernel,
  init: string,
  extra: Record<string, string> = {},
): number {
  const busybox = findBusybox();
  if (!busybox) throw new Error('busybox is not on PATH (apt-get install busybox)');
  const entries: Entry[] = [];
  const dirs = new Set<string>();
  const dirOf = (path: string) => {
    const parts = path.split('/').filter(Boolean);
    for (let i = 1; i < parts.length; i++) {
      const d = '/' + parts.slice(0, i).join('/');
      if (!dirs.has(d)) {
        dirs.add(d);
        entries.push({ kind: 'dir', path: d });
      }
    }
  };
  const addFile = (path: string, data: Buffer, mode = 0o755) => {
    dirOf(path);
    entries.push({ kind: 'file', path, data, mode });
  };
  for (const d of ['/dev', '/proc', '/sys', '/tmp', '/bin']) dirOf(d + '/x');
  entries.push({ kind: 'chardev', path: '/dev/console', major: 5, minor: 1 });
  addFile('/bin/busybox', readFileSync(busybox));
  for (const a of kApplets) entries.push({ kind: 'symlink', path: `/bin/${a}`, target: 'busybox' });
  for (const lib of sharedLibs(busybox)) addFile(lib, readFileSync(lib)); // readFileSync follows symlinks
  const modules = moduleLoadOrder(kernel.version);
  const modDir = `/lib/modules/${kernel.version}`;
  for (const m of modules) addFile(`${modDir}/${m}`, readFileSync(join(modDir, m)), 0o644);
  addFile('/modules.order', Buffer.from(modules.map((m) => `${modDir}/${m}\n`).join('')), 0o644);
  addFile('/init', Buffer.from(init));
  for (const [path, text] of Object.entries(extra)) addFile(path, Buffer.from(text));
  const cpio = newcArchive(entries);
  writeFileSync(file, cpio);
  return cpio.length;
}
