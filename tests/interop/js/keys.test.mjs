// Interop of lp2p's keys, signatures and signed peer records with
// js-libp2p (@libp2p/crypto, @libp2p/peer-id, @libp2p/peer-record), for
// Ed25519 and secp256k1, both ways.
//   node keys.test.mjs LP2P_BINARY KEYTOOL_BINARY
// Prints one line per check; exits 1 on the first failure.
import { execFileSync, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {
  generateKeyPair,
  privateKeyFromProtobuf,
  privateKeyToProtobuf,
  publicKeyFromProtobuf,
  publicKeyToProtobuf
} from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey, peerIdFromPublicKey } from '@libp2p/peer-id'
import { PeerRecord, RecordEnvelope } from '@libp2p/peer-record'
import { multiaddr } from '@multiformats/multiaddr'

const [lp2pBin, keytoolBin] = process.argv.slice(2)
if (!lp2pBin || !keytoolBin) {
  console.error('usage: node keys.test.mjs LP2P_BINARY KEYTOOL_BINARY')
  process.exit(2)
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lp2p-interop-keys-'))
let checks = 0

function fail (name, detail) {
  console.log(`FAIL ${name}: ${detail}`)
  console.log(`(files kept in ${tmp})`)
  process.exit(1)
}

function check (name, ok, detail = '') {
  if (!ok) fail(name, detail)
  checks++
  console.log(`ok   ${name}`)
}

const hex = (b) => Buffer.from(b).toString('hex')
const unhex = (s) => new Uint8Array(Buffer.from(s.trim(), 'hex'))

// Flips the last bit of byte `i` of a copy of `b` (default: the last byte).
function flip (b, i = b.length - 1) {
  const c = Uint8Array.from(b)
  c[i] ^= 0x01
  return c
}

// Runs a program; returns its trimmed stdout, or fails the check when it
// exits non-zero.
function run (name, bin, args) {
  try {
    return execFileSync(bin, args, { encoding: 'utf8' }).trim()
  } catch (e) {
    fail(name, `${path.basename(bin)} ${args[0]} exited ${e.status}: ${e.stderr}`)
  }
}

// Runs keytool expecting a rejection: exit status 1 with a reason.
function rejectedByKeytool (args) {
  const r = spawnSync(keytoolBin, args, { encoding: 'utf8' })
  return { ok: r.status === 1, detail: `exit ${r.status}: ${r.stdout}${r.stderr}` }
}

// True when js rejects: verify() returns false or throws.
async function jsRejects (fn) {
  try {
    return (await fn()) === false
  } catch {
    return true
  }
}

const ADDRS = ['/ip4/127.0.0.1/tcp/4001', '/ip4/192.168.1.20/tcp/30303',
  '/ip4/10.0.0.1/tcp/65535']
const U64_MAX = (1n << 64n) - 1n

// A copy of an envelope with one byte of its payload (the port of the last
// address) changed, so that it still decodes but must not verify.
function tamperPayload (envBytes) {
  const env = RecordEnvelope.createFromProtobuf(envBytes)
  const at = Buffer.from(envBytes).indexOf(Buffer.from(env.payload))
  if (at < 0) throw new Error('payload not found in envelope')
  return flip(envBytes, at + env.payload.length - 1)
}

async function keys (type, name) {
  // (a) lp2p key file -> js
  const lp2pKeyFile = path.join(tmp, `lp2p-${name}.key`)
  const lp2pId = run(`${type} lp2p key new`, lp2pBin,
    ['key', 'new', '--type', name, '-o', lp2pKeyFile])
  const lp2pKey = privateKeyFromProtobuf(fs.readFileSync(lp2pKeyFile))
  check(`${type} lp2p key file read by js has type ${type}`,
    lp2pKey.type === type, `got ${lp2pKey.type}`)
  const jsIdOfLp2pKey = peerIdFromPrivateKey(lp2pKey).toString()
  check(`${type} lp2p key file -> js peer id ${jsIdOfLp2pKey}`,
    jsIdOfLp2pKey === lp2pId, `lp2p printed ${lp2pId}, js got ${jsIdOfLp2pKey}`)
  const lp2pPub = run(`${type} keytool pubkey`, keytoolBin,
    ['pubkey', lp2pKeyFile])
  check(`${type} lp2p PublicKey protobuf equals js's`,
    lp2pPub === hex(publicKeyToProtobuf(lp2pKey.publicKey)),
    `lp2p ${lp2pPub}, js ${hex(publicKeyToProtobuf(lp2pKey.publicKey))}`)

  // (a) js key file -> lp2p
  const jsKey = await generateKeyPair(type)
  const jsKeyFile = path.join(tmp, `js-${name}.key`)
  fs.writeFileSync(jsKeyFile, privateKeyToProtobuf(jsKey), { mode: 0o600 })
  const jsId = peerIdFromPrivateKey(jsKey).toString()
  const lp2pIdOfJsKey = run(`${type} lp2p key id`, lp2pBin,
    ['key', 'id', jsKeyFile])
  check(`${type} js key file -> lp2p peer id ${lp2pIdOfJsKey}`,
    lp2pIdOfJsKey === jsId, `js ${jsId}, lp2p printed ${lp2pIdOfJsKey}`)

  // (b) lp2p signs, js verifies
  const msg = randomBytes(200)
  const lp2pSig = unhex(run(`${type} keytool sign`, keytoolBin,
    ['sign', lp2pKeyFile, hex(msg)]))
  const lp2pPubKey = publicKeyFromProtobuf(unhex(lp2pPub))
  check(`${type} lp2p signature verifies in js`,
    (await lp2pPubKey.verify(msg, lp2pSig)) === true, `sig ${hex(lp2pSig)}`)
  check(`${type} corrupted lp2p signature rejected by js`,
    await jsRejects(() => lp2pPubKey.verify(msg, flip(lp2pSig))))
  check(`${type} lp2p signature over another message rejected by js`,
    await jsRejects(() => lp2pPubKey.verify(flip(msg, 0), lp2pSig)))

  // (b) js signs, lp2p verifies
  const jsSig = await jsKey.sign(msg)
  const jsPub = hex(publicKeyToProtobuf(jsKey.publicKey))
  run(`${type} js signature verifies in lp2p`, keytoolBin,
    ['verify', jsPub, hex(msg), hex(jsSig)])
  check(`${type} js signature verifies in lp2p`, true)
  let r = rejectedByKeytool(['verify', jsPub, hex(msg), hex(flip(jsSig))])
  check(`${type} corrupted js signature rejected by lp2p`, r.ok, r.detail)
  r = rejectedByKeytool(['verify', jsPub, hex(flip(msg, 0)), hex(jsSig)])
  check(`${type} js signature over another message rejected by lp2p`, r.ok,
    r.detail)

  return { lp2pKeyFile, lp2pKey, jsKey }
}

// (c) lp2p seals a peer record, js opens it.
async function lp2pRecordToJs (type, keyFile, key, seq) {
  const what = `${type} lp2p peer record seq ${seq}`
  const envBytes = unhex(run(`${what} seal`, keytoolBin,
    ['record-seal', keyFile, seq.toString(), ...ADDRS]))
  let env
  try {
    env = await RecordEnvelope.openAndCertify(envBytes, PeerRecord.DOMAIN)
  } catch (e) {
    fail(`${what} opened by js`, `${e}; envelope ${hex(envBytes)}`)
  }
  check(`${what}: js envelope payload type is ${hex(PeerRecord.CODEC)}`,
    hex(env.payloadType) === hex(PeerRecord.CODEC), hex(env.payloadType))
  const rec = PeerRecord.createFromProtobuf(env.payload)
  const want = peerIdFromPrivateKey(key)
  check(`${what}: js reads peer id`,
    rec.peerId.equals(want) && peerIdFromPublicKey(env.publicKey).equals(want),
    `record ${rec.peerId}, envelope key ${peerIdFromPublicKey(env.publicKey)}, want ${want}`)
  check(`${what}: js reads seq`, rec.seqNumber === seq, `got ${rec.seqNumber}`)
  const got = rec.multiaddrs.map((a) => a.toString())
  check(`${what}: js reads addrs`,
    JSON.stringify(got) === JSON.stringify(ADDRS), JSON.stringify(got))
  check(`${what}: js re-encodes the envelope byte for byte`,
    hex(env.marshal()) === hex(envBytes))

  for (const [how, bad] of [['payload', tamperPayload(envBytes)],
    ['signature', flip(envBytes)]]) {
    const rejected = await jsRejects(() =>
      RecordEnvelope.openAndCertify(bad, PeerRecord.DOMAIN))
    check(`${what}: tampered ${how} rejected by js`, rejected)
  }
}

// (c) js seals a peer record, lp2p opens it.
async function jsRecordToLp2p (type, key, seq) {
  const what = `${type} js peer record seq ${seq}`
  const peerId = peerIdFromPrivateKey(key)
  const record = new PeerRecord({
    peerId, seqNumber: seq, multiaddrs: ADDRS.map((a) => multiaddr(a))
  })
  const envBytes = (await RecordEnvelope.seal(record, key)).marshal()
  const out = run(`${what} opened by lp2p`, keytoolBin,
    ['record-open', hex(envBytes)])
  const got = JSON.parse(out)
  check(`${what}: lp2p reads peer id`, got.peer_id === peerId.toString(),
    out)
  check(`${what}: lp2p reads seq`, got.seq === seq.toString(), out)
  check(`${what}: lp2p reads addrs`,
    JSON.stringify(got.addrs) === JSON.stringify(ADDRS) &&
    got.addrs_skipped === 0, out)

  for (const [how, bad] of [['payload', tamperPayload(envBytes)],
    ['signature', flip(envBytes)]]) {
    const r = rejectedByKeytool(['record-open', hex(bad)])
    check(`${what}: tampered ${how} rejected by lp2p`, r.ok, r.detail)
  }
}

for (const [type, name] of [['Ed25519', 'ed25519'], ['secp256k1', 'secp256k1']]) {
  const { lp2pKeyFile, lp2pKey, jsKey } = await keys(type, name)
  for (const seq of [1700000000123n, U64_MAX]) {
    await lp2pRecordToJs(type, lp2pKeyFile, lp2pKey, seq)
    await jsRecordToLp2p(type, jsKey, seq)
  }
}

fs.rmSync(tmp, { recursive: true, force: true })
console.log(`all ${checks} checks passed`)
