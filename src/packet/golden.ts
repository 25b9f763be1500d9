/**
 * Golden frames for the packet tests, as hex.
 *
 * Design notes: README.md in this folder, section "golden.ts".
 */

/** ARP request, 42 bytes: who has 10.9.0.2? tell 10.9.0.1 (from 52:54:00:12:34:56). */
export const capArpRequest =
  'ffffffffffff 525400123456 0806' + '0001 0800 06 04 0001 525400123456 0a090001 000000000000 0a090002';

/** ARP reply, 42 bytes: 10.9.0.2 is at 52:54:00:65:43:21. */
export const capArpReply =
  '525400123456 525400654321 0806' + '0001 0800 06 04 0002 525400654321 0a090002 525400123456 0a090001';

/** iputils ping payload of that run: 8-byte timestamp, 8 bytes, then 0x10..0x37. */
const pingData4 =
  '15ba076b00000000 131e030000000000 101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f3031323334353637';
const pingData6 =
  '15ba076b00000000 9936030000000000 101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f3031323334353637';
export const capPingData4 = pingData4;
export const capPingData6 = pingData6;

/** ICMP echo request, 98 bytes: 10.9.0.1 -> 10.9.0.2, id 0x1d12 seq 1, IP ident 0x3388 DF, IP csum f30c, ICMP csum e8d6. */
export const capIcmpEcho =
  '525400654321 525400123456 0800' +
  '4500 0054 3388 4000 40 01 f30c 0a090001 0a090002' +
  '08 00 e8d6 1d12 0001' +
  pingData4;

/** ICMP port unreachable, 75 bytes: 10.9.0.2 -> 10.9.0.1, TOS 0xc0, quoting the UDP datagram below. */
export const capIcmpPortUnreachable =
  '525400123456 525400654321 0800' +
  '45c0 003d 0586 0000 40 01 6066 0a090002 0a090001' +
  '03 03 ba4e 00000000' +
  '4500 0021 0b3f 4000 40 11 1b79 0a090001 0a090002 c38c 270f 000d 1433 68656c6c6f';

/** ICMPv6 echo request, 118 bytes: 2001:db8::1 -> 2001:db8::2, flow label 0xf6071, id 0x1d13 seq 1, csum 8ecd. */
export const capIcmp6Echo =
  '525400654321 525400123456 86dd' +
  '600f6071 0040 3a 40 20010db8000000000000000000000001 20010db8000000000000000000000002' +
  '80 00 8ecd 1d13 0001' +
  pingData6;

/** Neighbor advertisement, 86 bytes: 2001:db8::2 is at 52:54:00:65:43:21 (S, O flags), csum f698. */
export const capNeighborAdvert =
  '525400123456 525400654321 86dd' +
  '60000000 0020 3a ff 20010db8000000000000000000000002 20010db8000000000000000000000001' +
  '88 00 f698 60000000 20010db8000000000000000000000002 0201 525400654321';

/** Router solicitation, 70 bytes: fe80::5054:ff:fe65:4321 -> ff02::2, source link-layer option, csum 5379. */
export const capRouterSolicit =
  '333300000002 525400654321 86dd' +
  '60000000 0010 3a ff fe80000000000000505400fffe654321 ff020000000000000000000000000002' +
  '85 00 5379 00000000 0101 525400654321';

const synIp = '4500 003c c495 4000 40 06 6212 0a090001 0a090002';
const synOptions = '020405b4 0402 080a 3ba827d8 00000000 01 03030a'; // MSS 1460, SACK-permitted, timestamps, NOP, WS 10
/** TCP SYN, 74 bytes, 44864 -> 80, as captured: checksum field holds the partial (pseudo-header) sum 0x1443. */
export const capTcpSynPartial =
  '525400654321 525400123456 0800' + synIp + 'af40 0050 fc3825b6 00000000 a0 02 faf0 1443 0000' + synOptions;
/** The same SYN with the full checksum tshark computed (0x03f8). */
export const capTcpSyn =
  '525400654321 525400123456 0800' + synIp + 'af40 0050 fc3825b6 00000000 a0 02 faf0 03f8 0000' + synOptions;
export const capTcpSynOptions = synOptions;

/** TCP RST|ACK, 54 bytes, 80 -> 44864, computed in software by the kernel: checksum ca3b. */
export const capTcpRst =
  '525400123456 525400654321 0800' +
  '4500 0028 0000 4000 40 06 26bc 0a090002 0a090001' +
  '0050 af40 00000000 fc3825b7 50 14 0000 ca3b 0000';

const udpIp = '4500 0021 0b3f 4000 40 11 1b79 0a090001 0a090002';
/** UDP "hello", 47 bytes, 50060 -> 9999, as captured: partial checksum 0x1433. */
export const capUdpPartial = '525400654321 525400123456 0800' + udpIp + 'c38c 270f 000d 1433 68656c6c6f';
/** The same datagram with the full checksum tshark computed (0xbd51). */
export const capUdp = '525400654321 525400123456 0800' + udpIp + 'c38c 270f 000d bd51 68656c6c6f';

/** The captured ARP request with an 802.1Q tag inserted: PCP 5, DEI 0, VID 10 (TCI 0xa00a), 46 bytes. */
export const taggedArpRequest =
  'ffffffffffff 525400123456 8100 a00a 0806' + '0001 0800 06 04 0001 525400123456 0a090001 000000000000 0a090002';

/** QinQ: S-tag 0x88a8 VID 100 in front of that C-tag, 50 bytes. The outer EtherType is 0x88a8: no C-tag. */
export const qinqArpRequest =
  'ffffffffffff 525400123456 88a8 0064 8100 a00a 0806' +
  '0001 0800 06 04 0001 525400123456 0a090001 000000000000 0a090002';

/** RFC 1071 section 3 numerical example: sum 0xddf2, so the checksum is 0x220d. */
export const rfc1071Bytes = '0001 f203 f4f5 f6f7';

/** Wikipedia "IPv4 header checksum" example: 192.168.0.1 -> 192.168.0.199, UDP, checksum b861. */
export const wikiIpv4Header = '4500 0073 0000 4000 4011 b861 c0a8 0001 c0a8 00c7';
