// Shared by selftest.mjs and loadtest.mjs (Node's standard library only):
// the peer ids of --key-seed N, computed independently of every library
// under test, and free loopback ports.
import { createPrivateKey, createPublicKey } from 'node:crypto'
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

// The bytes of a base58 peer id (a key file's id, for from ‖ seqno).
export function unbase58 (text) {
  let n = 0n
  for (const c of text) {
    const d = B58.indexOf(c)
    if (d < 0) throw new Error(`not base58: ${text}`)
    n = n * 58n + BigInt(d)
  }
  let hex = n.toString(16)
  if (hex.length % 2) hex = '0' + hex
  const zeros = text.length - text.replace(/^1+/, '').length
  return Buffer.concat([Buffer.alloc(zeros), Buffer.from(n === 0n ? '' : hex, 'hex')])
}

// `n` loopback UDP ports free a moment ago (for /udp/P/quic-v1 listeners).
export async function freeUdpPorts (n) {
  const socks = await Promise.all(Array.from({ length: n }, () => new Promise((resolve, reject) => {
    const sock = createSocket('udp4')
    sock.once('error', reject)
    sock.bind(0, '127.0.0.1', () => resolve(sock))
  })))
  const ports = socks.map((s) => s.address().port)
  await Promise.all(socks.map((s) => new Promise((resolve) => s.close(resolve))))
  return ports
}

// `n` loopback ports free a moment ago (the OS chose them).
export async function freePorts (n) {
  const servers = await Promise.all(Array.from({ length: n }, () => new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => resolve(srv))
  })))
  const ports = servers.map((s) => s.address().port)
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))))
  return ports
}
