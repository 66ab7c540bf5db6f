// Shared by selftest.mjs and loadtest.mjs (Node's standard library only):
// the peer ids of --key-seed N, computed independently of every library
// under test (Ed25519 from --key-seed N, and secp256k1 keys made here for
// nodes started with --key FILE), and free loopback ports.
import { createECDH, createHash, createPrivateKey, createPublicKey } from 'node:crypto'
import { createSocket } from 'node:dgram'
import { createServer } from 'node:net'

const B58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz'
export function base58 (bytes) {
  let n = BigInt('0x' + Buffer.from(bytes).toString('hex'))
  let s = ''
  while (n > 0n) { s = B58[Number(n % 58n)] + s; n /= 58n }
  for (const b of bytes) { if (b !== 0) break; s = '1' + s }
  return s
}

// The Ed25519 seed is N little-endian in 4 bytes, then zeros; the id is the
// identity multihash of the protobuf PublicKey{Type=Ed25519, Data=key}.
export function peerIdBytesOfSeed (n) {
  const s = Buffer.alloc(32)
  s.writeUInt32LE(n, 0)
  const der = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), s])
  const pub = createPublicKey(createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }))
    .export({ format: 'der', type: 'spki' }).subarray(-32)
  return Buffer.concat([Buffer.from([0x00, 0x24, 0x08, 0x01, 0x12, 0x20]), pub])
}
export const peerIdOfSeed = (n) => base58(peerIdBytesOfSeed(n))

// A secp256k1 identity for seed N (lean consensus' key type): the private
// key is sha2-256 of a label and N (below the group order but with
// negligible odds), the peer id the identity multihash of the protobuf
// PublicKey{Type=Secp256k1, Data=33-byte compressed point}, and `file` the
// key in go-libp2p's MarshalPrivateKey format (PrivateKey{Type=Secp256k1,
// Data=32-byte scalar}), as `lp2p key new --type secp256k1` writes it.
export function secp256k1OfSeed (n) {
  const priv = createHash('sha256').update(`lp2p selftest secp256k1 ${n}`).digest()
  const ecdh = createECDH('secp256k1')
  ecdh.setPrivateKey(priv)
  const pub = ecdh.getPublicKey(null, 'compressed')
  const idBytes = Buffer.concat([Buffer.from([0x00, 0x25, 0x08, 0x02, 0x12, 0x21]), pub])
  const file = Buffer.concat([Buffer.from([0x08, 0x02, 0x12, 0x20]), priv])
  return { idBytes, id: base58(idBytes), file }
}

// `n` loopback ports free a moment ago (the OS chose them); UDP ports for
// QUIC with proto 'udp'.
export async function freePorts (n, proto = 'tcp') {
  if (proto === 'udp') return freeUdpPorts(n)
  const servers = await Promise.all(Array.from({ length: n }, () => new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => resolve(srv))
  })))
  const ports = servers.map((s) => s.address().port)
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))))
  return ports
}

async function freeUdpPorts (n) {
  const socks = await Promise.all(Array.from({ length: n }, () => new Promise((resolve, reject) => {
    const sock = createSocket('udp4')
    sock.once('error', reject)
    sock.bind(0, '127.0.0.1', () => resolve(sock))
  })))
  const ports = socks.map((s) => s.address().port)
  await Promise.all(socks.map((s) => new Promise((resolve) => s.close(resolve))))
  return ports
}
