/** The endpoints' drop reasons (ports/nic.ts NicSink.drop): what a NIC refuses to hand over or write. */
import { declareDrops } from '../dataplane/counters.js';

export const portDrops = declareDrops('ports', [
  [10, 'tx-error', 'the endpoint refused the write'],
  [11, 'framing-error', 'stream length prefix invalid (connection closed, as QEMU does)'],
  [12, 'oversize', 'frame larger than the switch buffer size'],
  [13, 'bad-vnet-hdr', 'virtio_net_hdr claims more than the frame holds (checksum offset, GSO without checksum)'],
  [25, 'foreign-source', "datagram from another address than the dgram port's configured remote"],
] as const);
