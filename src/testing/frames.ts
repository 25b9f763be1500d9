/**
 * 802.1Q tag insert/strip on whole test frames (copies, not pool slots), for tests that state what a port
 * should receive as "the frame it sent, tagged" or "untagged". Written once here so every test derives its
 * expected bytes the same way, independently of switch/ and packet/; frames.test.ts pins the bytes.
 *
 * Layout: dst MAC (6) | src MAC (6) | [TPID 0x8100 (2) | TCI (2)] | EtherType | payload; TCI = pcp << 13 | vid
 * (DEI 0). Test code only: one allocation per call.
 */

/** Bytes of one 802.1Q tag (TPID + TCI); it sits after the two MACs, at offset 12. */
const kTagLen = 4;
const kMacsLen = 12;

/** The frame with an 802.1Q tag (TPID 0x8100, priority `pcp`, VLAN `vid`) inserted after the MACs. */
export function addTag(f: Uint8Array, pcp: number, vid: number): Uint8Array {
  const out = new Uint8Array(f.length + kTagLen);
  out.set(f.subarray(0, kMacsLen), 0);
  const tci = (pcp << 13) | vid;
  out.set([0x81, 0x00, tci >> 8, tci & 0xff], kMacsLen);
  out.set(f.subarray(kMacsLen), kMacsLen + kTagLen);
  return out;
}

/** The frame with its 802.1Q tag (the 4 bytes after the MACs) removed; the tag is not checked. */
export function stripTag(f: Uint8Array): Uint8Array {
  const out = new Uint8Array(f.length - kTagLen);
  out.set(f.subarray(0, kMacsLen), 0);
  out.set(f.subarray(kMacsLen + kTagLen), kMacsLen);
  return out;
}
