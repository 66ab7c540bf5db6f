// The js-libp2p GossipSub reference node of lp2p's mixed-network interop
// tests (@chainsafe/libp2p-gossipsub on js-libp2p 2.x). It implements the CLI
// and JSON line contract shared with tests/interop/gossipsub/go/gsnode and
// `lp2p node` (written out in tests/interop/gossipsub/README.md):
//
//   node gsnode.mjs [--listen MA]... [--peer MA]... [--topic T]... [--key-seed N]
//                   [--sign strict|none] [--msg-id default|sha256] [--params FILE]
//                   [--hex] [--events] [--flood-publish on|off] [--mesh-interval-ms N]
//                   [--bench]
//
// One JSON object per stdout line; diagnostics on stderr. Run it through
// run.sh, which installs the npm packages under the build tree.
//
// Own messages: emitSelf stays false (the library default), so this node
// does not print "message" lines for its own publishes, like lp2p; the go
// node does (go-libp2p-pubsub always delivers them to the local subscriber).
//
// Peer scoring cannot be switched off in @chainsafe/libp2p-gossipsub; it is
// made neutral as go's "no WithPeerScore" is: no topic parameters, no IP
// colocation penalty (every node is on 127.0.0.1, and js's default of -5 per
// peer beyond 10 would graylist peers in networks of more than ~13 nodes), no
// behaviour penalty, and AcceptPXThreshold 0 (js's default 10 refuses PX from
// every peer whose score is 0). Every peer then scores 0.

// js-libp2p 2.x and its dependencies call Promise.withResolvers, which Node
// has only from version 22. The libraries are imported dynamically below so
// that this polyfill is in place before any of their code runs.
if (typeof Promise.withResolvers !== 'function') {
  Promise.withResolvers = function () {
    let resolve, reject
    const promise = new this((res, rej) => { resolve = res; reject = rej })
    return { promise, resolve, reject }
  }
}

// Signal handlers come first: a SIGUSR1 that arrives before a listener is
// installed starts Node's inspector instead (a test may send one as soon as
// it reads the listening line). Until the node runs, SIGUSR1 is ignored and
// SIGINT/SIGTERM are remembered.
const signalled = { usr1: () => {}, stop: null }
process.on('SIGUSR1', () => signalled.usr1())
process.on('SIGTERM', () => { signalled.stop != null ? signalled.stop() : (signalled.early = true) })
process.on('SIGINT', () => { signalled.stop != null ? signalled.stop() : (signalled.early = true) })

const { createHash } = await import('node:crypto')
const { readFileSync } = await import('node:fs')
const { createLibp2p } = await import('libp2p')
const { tcp } = await import('@libp2p/tcp')
const { noise } = await import('@chainsafe/libp2p-noise')
const { yamux } = await import('@chainsafe/libp2p-yamux')
const { mplex } = await import('@libp2p/mplex')
const { identify } = await import('@libp2p/identify')
const { ping } = await import('@libp2p/ping')
const { gossipsub } = await import('@chainsafe/libp2p-gossipsub')
const { generateKeyPair, generateKeyPairFromSeed } = await import('@libp2p/crypto/keys')
const { multiaddr } = await import('@multiformats/multiaddr')
const { base58btc } = await import('multiformats/bases/base58')
const { version: gossipsubVersion } = JSON.parse(readFileSync(
  new URL('./node_modules/@chainsafe/libp2p-gossipsub/package.json', import.meta.url), 'utf8'))

// ---- output ----------------------------------------------------------------

let closed = false // after the final stats line, print nothing more

// Writes to a pipe or file are synchronous in Node on Linux, so each line is
// out before the next statement runs.
function emit (obj) {
  if (!closed) process.stdout.write(JSON.stringify(obj) + '\n')
}

function log (msg) {
  process.stderr.write(`gsnode.mjs: ${msg}\n`)
}

function usage (msg) {
  if (msg) log(msg)
  process.stderr.write(
    'usage: gsnode.mjs [--listen MA]... [--peer MA]... [--topic T]... [--key-seed N]\n' +
    '                  [--sign strict|none] [--msg-id default|sha256] [--params FILE] [--hex]\n' +
    '                  [--events] [--flood-publish on|off] [--mesh-interval-ms N] [--bench]\n')
  process.exit(2)
}

// ---- arguments -------------------------------------------------------------

function parseArgs (argv) {
  const o = {
    listen: [], peers: [], topics: [], seed: null, sign: 'strict', msgId: 'default',
    params: null, hex: false, events: false, floodPublish: false, meshIntervalMs: null,
    bench: false
  }
  const rest = [...argv]
  while (rest.length > 0) {
    let flag = rest.shift()
    let inline = null
    // --flag=value, as go's flag package accepts too
    const eq = flag.indexOf('=')
    if (flag.startsWith('--') && eq > 0) { inline = flag.slice(eq + 1); flag = flag.slice(0, eq) }
    const value = () => {
      if (inline != null) return inline
      if (rest.length === 0) usage(`${flag} needs a value`)
      return rest.shift()
    }
    switch (flag) {
      case '--listen': o.listen.push(value()); break
      case '--peer': o.peers.push(value()); break
      case '--topic': o.topics.push(value()); break
      case '--key-seed': {
        const v = value()
        if (!/^[0-9]+$/.test(v) || Number(v) > 0xffffffff) usage(`bad --key-seed ${v} (0..4294967295)`)
        o.seed = Number(v)
        break
      }
      case '--sign': o.sign = value(); if (o.sign !== 'strict' && o.sign !== 'none') usage(`bad --sign ${o.sign}`); break
      case '--msg-id': o.msgId = value(); if (o.msgId !== 'default' && o.msgId !== 'sha256') usage(`bad --msg-id ${o.msgId}`); break
      case '--params': o.params = value(); break
      case '--hex': o.hex = true; break
      case '--events': o.events = true; break
      case '--bench': o.bench = true; break
      case '--flood-publish': {
        const v = value()
        if (v !== 'on' && v !== 'off') usage(`bad --flood-publish ${v}`)
        o.floodPublish = v === 'on'
        break
      }
      case '--mesh-interval-ms': {
        const v = value()
        if (!/^[0-9]+$/.test(v) || Number(v) <= 0) usage(`bad --mesh-interval-ms ${v}`)
        o.meshIntervalMs = Number(v)
        break
      }
      default: usage(`unknown argument ${flag}`)
    }
  }
  if (o.listen.length === 0) o.listen.push('/ip4/127.0.0.1/tcp/0')
  return o
}

// go-libp2p-pubsub's GossipSubParams field -> [js option, converter]. Go's
// durations are nanoseconds, js's milliseconds. The fields js has only as
// constants (or not at all) are accepted and ignored with a warning.
const NS_TO_MS = (v) => v / 1e6
const SAME = (v) => v
const PARAM_MAP = {
  D: ['D', SAME],
  Dlo: ['Dlo', SAME],
  Dhi: ['Dhi', SAME],
  Dscore: ['Dscore', SAME],
  Dout: ['Dout', SAME],
  Dlazy: ['Dlazy', SAME],
  HistoryLength: ['mcacheLength', SAME],
  HistoryGossip: ['mcacheGossip', SAME],
  GossipFactor: ['gossipFactor', SAME],
  HeartbeatInterval: ['heartbeatInterval', NS_TO_MS],
  FanoutTTL: ['fanoutTTL', NS_TO_MS],
  PrunePeers: ['prunePeers', SAME],
  PruneBackoff: ['pruneBackoff', NS_TO_MS],
  UnsubscribeBackoff: ['unsubcribeBackoff', NS_TO_MS], // sic, js's spelling
  GraftFloodThreshold: ['graftFloodThreshold', NS_TO_MS],
  OpportunisticGraftTicks: ['opportunisticGraftTicks', SAME],
  OpportunisticGraftPeers: ['opportunisticGraftPeers', SAME],
  DirectConnectTicks: ['directConnectTicks', SAME],
  IWantFollowupTime: ['gossipsubIWantFollowupMs', NS_TO_MS],
  IDontWantMessageThreshold: ['idontwantMinDataSize', SAME],
  // go: IDONTWANT RPCs accepted per peer and heartbeat; js: message ids
  MaxIDontWantMessages: ['idontwantMaxMessages', SAME]
}
const PARAM_IGNORED = new Set([
  'GossipRetransmission', 'HeartbeatInitialDelay', 'Connectors', 'MaxPendingConnections',
  'ConnectionTimeout', 'DirectConnectInitialDelay', 'MaxIHaveLength', 'MaxIHaveMessages',
  'MaxIDontWantLength', 'IDontWantMessageTTL', 'SlowHeartbeatWarning'
])

function loadParams (path) {
  const out = {}
  if (path == null) return out
  let obj
  try {
    obj = JSON.parse(readFileSync(path, 'utf8'))
  } catch (err) {
    usage(`--params: ${err.message}`)
  }
  if (obj == null || typeof obj !== 'object' || Array.isArray(obj)) usage('--params: not a JSON object')
  for (const [k, v] of Object.entries(obj)) {
    if (PARAM_MAP[k] != null) {
      if (typeof v !== 'number') usage(`--params: ${k} is not a number`)
      const [name, conv] = PARAM_MAP[k]
      out[name] = conv(v)
    } else if (PARAM_IGNORED.has(k)) {
      log(`--params: ${k} is not configurable in js-libp2p-gossipsub; ignored`)
    } else {
      usage(`--params: unknown GossipSubParams field ${k}`)
    }
  }
  return out
}

// ---- identity and message ids ----------------------------------------------

// The gossipsub-interop harness convention, as in tests/interop/js/peer.mjs
// and the go gsnode: the 32-byte Ed25519 seed is N as a little-endian uint32,
// then zeros.
async function privateKey (seed) {
  if (seed === null) return generateKeyPair('Ed25519')
  const bytes = new Uint8Array(32)
  new DataView(bytes.buffer).setUint32(0, seed, true)
  return generateKeyPairFromSeed('Ed25519', bytes)
}

function sha256Id (msg) {
  return new Uint8Array(createHash('sha256').update(msg.data).digest())
}

// from ‖ seqno, as go-libp2p-pubsub's DefaultMsgIdFn and the pubsub spec:
// the peer id's multihash bytes, then the 8 seqno bytes. (js-libp2p-
// gossipsub's own default uses the protobuf-encoded public key instead of the
// peer id, 2 bytes shorter, so its ids never match go's: IDONTWANT and
// IHAVE/IWANT between js and go then never name the same message.)
function fromSeqnoId (msg) {
  if (msg.type !== 'signed') throw new Error('unsigned message under StrictSign')
  const from = msg.from.toMultihash().bytes
  const id = new Uint8Array(from.length + 8)
  id.set(from, 0)
  new DataView(id.buffer).setBigUint64(from.length, msg.sequenceNumber, false)
  return id
}

const toHex = (b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex')

// ---- node ------------------------------------------------------------------

const opts = parseArgs(process.argv.slice(2))
const jsParams = loadParams(opts.params)
if (opts.meshIntervalMs != null) jsParams.heartbeatInterval = opts.meshIntervalMs

const strict = opts.sign === 'strict'
const node = await createLibp2p({
  privateKey: await privateKey(opts.seed),
  addresses: { listen: opts.listen },
  transports: [tcp()],
  connectionEncrypters: [noise()],
  streamMuxers: [yamux(), mplex()],
  services: {
    identify: identify({ agentVersion: `lp2p-interop-gsnode-js/${gossipsubVersion}` }),
    ping: ping(),
    pubsub: gossipsub({
      globalSignaturePolicy: strict ? 'StrictSign' : 'StrictNoSign',
      msgIdFn: (strict && opts.msgId === 'default') ? fromSeqnoId : sha256Id,
      msgIdToStrFn: toHex, // so the event's msgId is already our "id"
      emitSelf: false,
      floodPublish: opts.floodPublish,
      doPX: true,
      fallbackToFloodsub: true,
      scoreParams: { IPColocationFactorWeight: 0, behaviourPenaltyWeight: 0, topics: {} },
      scoreThresholds: { acceptPXThreshold: 0 },
      ...jsParams
    })
  }
})
const gs = node.services.pubsub
const self = node.peerId.toString()

// A misbehaving remote must not take the reference node down.
process.on('unhandledRejection', (err) => log(`unhandled rejection: ${err?.stack ?? err}`))

// ---- counters and events ---------------------------------------------------

const stats = { published: 0, delivered: 0, idwSent: new Map(), idwRecv: new Map() }
const bump = (m, id, n) => m.set(id, (m.get(id) ?? 0) + n)
const countIds = (list) => (list ?? []).reduce((n, x) => n + (x.messageIDs?.length ?? 0), 0)
const event = (obj) => { if (opts.events) emit(obj) }

// IDONTWANT and PX are seen by wrapping the router's RPC entry points on this
// instance (js-libp2p-gossipsub counts IDONTWANT only in aggregate metrics,
// and has no PX hook). handleReceivedRpc gets every decoded RPC; sendRpc and
// sendRpcInBatch (used for IDONTWANT) every RPC written to a peer's stream.
const origRecv = gs.handleReceivedRpc.bind(gs)
gs.handleReceivedRpc = (from, rpc) => {
  const id = from.toString()
  const n = countIds(rpc.control?.idontwant)
  if (n > 0) bump(stats.idwRecv, id, n)
  for (const pr of rpc.control?.prune ?? []) {
    if ((pr.peers?.length ?? 0) === 0) continue
    event({
      event: 'px',
      from: id,
      topic: pr.topicID ?? '',
      peers: pr.peers.map((p) => p.peerID != null ? base58btc.baseEncode(p.peerID) : '')
    })
  }
  return origRecv(from, rpc)
}
const origSend = gs.sendRpc.bind(gs)
gs.sendRpc = (id, rpc) => {
  const sent = origSend(id, rpc)
  const n = countIds(rpc.control?.idontwant)
  if (sent && n > 0) bump(stats.idwSent, id, n)
  return sent
}
const origBatch = gs.sendRpcInBatch.bind(gs)
gs.sendRpcInBatch = (tosend, rpc) => {
  origBatch(tosend, rpc) // leaves in tosend the peers it was written to
  const n = countIds(rpc.control?.idontwant)
  if (n > 0) for (const id of tosend) bump(stats.idwSent, id, n)
}

// graft / prune: membership changes of our mesh. js's gossipsub:graft and
// gossipsub:prune events name GRAFT/PRUNE control messages sent or received
// (also a PRUNE sent in answer to a refused GRAFT, and none when a peer
// leaves the mesh by disconnecting), so the mesh is compared with our last
// view after each of them, each heartbeat and each disconnection.
const meshView = new Map() // topic -> Set of peer ids
function meshDiff () {
  for (const topic of opts.topics) {
    const now = new Set(gs.getMeshPeers(topic))
    const before = meshView.get(topic) ?? new Set()
    for (const p of now) if (!before.has(p)) event({ event: 'graft', peer_id: p, topic })
    for (const p of before) if (!now.has(p)) event({ event: 'prune', peer_id: p, topic })
    meshView.set(topic, now)
  }
}
gs.addEventListener('gossipsub:graft', meshDiff)
gs.addEventListener('gossipsub:prune', meshDiff)
gs.addEventListener('gossipsub:heartbeat', meshDiff)

// peer_connected / peer_disconnected per peer (not per connection), with the
// direction of the first connection.
const conns = new Map()
node.addEventListener('connection:open', (e) => {
  const id = e.detail.remotePeer.toString()
  bump(conns, id, 1)
  if (conns.get(id) === 1) event({ event: 'peer_connected', peer_id: id, direction: e.detail.direction })
})
node.addEventListener('connection:close', (e) => {
  const id = e.detail.remotePeer.toString()
  bump(conns, id, -1)
  if (conns.get(id) <= 0) {
    conns.delete(id)
    event({ event: 'peer_disconnected', peer_id: id })
    setTimeout(meshDiff, 0)
  }
})

// --bench: what the network benchmark (bench/run-network.sh) needs without a
// stdout line per message, as lp2p node's --bench (cli/node_bench.c):
// deliveries are counted, and those whose data begins with "t=<unix time in
// microseconds> " have their latency on the wall clock put in a log-linear
// histogram (below 32 us one bucket each, then 32 buckets per power of two),
// printed in the stats line.
const BENCH_SUB = 32
const BENCH_BUCKETS = 1024
const bench = { delivered: 0, bytes: 0, timed: 0, hist: new Uint32Array(BENCH_BUCKETS) }
// Date.now() has only milliseconds; timeOrigin + now() is the wall clock
// with sub-millisecond resolution.
const nowUs = () => Math.round((performance.timeOrigin + performance.now()) * 1000)
function benchBucket (us) {
  if (us < BENCH_SUB) return us
  const e = Math.floor(Math.log2(us)) + 1 // us is in [2^(e-1), 2^e)
  const b = BENCH_SUB * (e - 5) + Math.floor(us / 2 ** (e - 6)) - BENCH_SUB
  return Math.min(b, BENCH_BUCKETS - 1)
}
function stampOf (data) {
  if (data.length < 4 || data[0] !== 0x74 || data[1] !== 0x3d) return 0 // "t="
  let t = 0
  let i = 2
  for (; i < data.length && i < 21 && data[i] >= 0x30 && data[i] <= 0x39; i++) t = t * 10 + (data[i] - 0x30)
  return i > 2 && i < data.length && data[i] === 0x20 ? t : 0
}
function benchRecord (data) {
  const now = nowUs()
  bench.delivered++
  bench.bytes += data.length
  const t = stampOf(data)
  if (t === 0) return
  bench.timed++
  bench.hist[benchBucket(Math.max(0, now - t))]++
}
function benchJson () {
  const hist = []
  bench.hist.forEach((n, i) => { if (n > 0) hist.push([i, n]) })
  return { delivered: bench.delivered, bytes: bench.bytes, timed: bench.timed, hist }
}

gs.addEventListener('gossipsub:message', (e) => {
  const { msg, msgId } = e.detail
  if (opts.bench) {
    benchRecord(msg.data)
    return
  }
  const line = {
    event: 'message',
    topic: msg.topic,
    from: msg.type === 'signed' ? msg.from.toString() : '',
    seqno: msg.type === 'signed' ? msg.sequenceNumber.toString() : '',
    id: msgId
  }
  const text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })
  try {
    line.data = text.decode(msg.data)
  } catch {
    line.data_hex = toHex(msg.data)
  }
  stats.delivered++
  emit(line)
})

function statsLine () {
  const mesh = {}
  for (const topic of opts.topics) mesh[topic] = gs.getMeshPeers(topic).sort()
  return {
    event: 'stats',
    peer_id: self,
    mesh,
    connected: node.getPeers().map(String).sort(),
    idontwant_sent: Object.fromEntries(stats.idwSent),
    idontwant_received: Object.fromEntries(stats.idwRecv),
    published: stats.published,
    delivered: stats.delivered,
    ...(opts.bench ? { bench: benchJson() } : {})
  }
}

// ---- start -----------------------------------------------------------------

for (const topic of opts.topics) gs.subscribe(topic)

emit({ event: 'listening', peer_id: self, addrs: node.getMultiaddrs().map(String) })

// Each --peer is dialed at once, and again every 250 ms for up to 20 s
// while the dial fails: the peers of a test start at the same time (a js node
// needs 1-3 s to listen, more than 5 s on a loaded machine).
async function dialPeer (addr) {
  let ma
  try {
    ma = multiaddr(addr)
    if (ma.getPeerId() == null) throw new Error('no /p2p/ID')
  } catch (err) {
    log(`bad --peer ${addr}: ${err.message}`)
    return
  }
  const deadline = Date.now() + 20000
  for (let attempt = 1; ; attempt++) {
    try {
      await node.dial(ma, { signal: AbortSignal.timeout(5000) })
      return
    } catch (err) {
      if (Date.now() > deadline || closed) {
        log(`dial ${addr} failed after ${attempt} attempts: ${err.message}`)
        return
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
}
for (const p of opts.peers) void dialPeer(p)

// ---- stdin -----------------------------------------------------------------

// Each line (split at '\n' only, its bytes as they are) is published to the
// first topic, one after the other; a last line without '\n' is published at
// EOF. EOF only stops the reading.
let queue = Promise.resolve()
async function publishLine (line) {
  if (opts.topics.length === 0) {
    emit({ event: 'publish_error', error: 'no --topic to publish to' })
    return
  }
  let data = new Uint8Array(line)
  if (opts.hex) {
    const h = line.toString('latin1').trim()
    if (!/^([0-9a-fA-F]{2})*$/.test(h)) {
      emit({ event: 'publish_error', error: 'bad hex' })
      return
    }
    data = new Uint8Array(Buffer.from(h, 'hex'))
  }
  try {
    // Throws PublishError.NoPeersSubscribedToTopic when no peer (mesh,
    // fanout or, with flood publish, any subscriber) can take it.
    await gs.publish(opts.topics[0], data)
    stats.published++
  } catch (err) {
    emit({ event: 'publish_error', error: err.message ?? String(err) })
  }
}
let pending = []
const enqueue = (line) => { queue = queue.then(() => publishLine(line)) }
process.stdin.on('data', (chunk) => {
  let start = 0
  for (let nl = chunk.indexOf(10); nl >= 0; nl = chunk.indexOf(10, start)) {
    pending.push(chunk.subarray(start, nl))
    enqueue(Buffer.concat(pending))
    pending = []
    start = nl + 1
  }
  if (start < chunk.length) pending.push(chunk.subarray(start))
})
process.stdin.on('end', () => {
  if (pending.length > 0) enqueue(Buffer.concat(pending))
  pending = []
})
process.stdin.on('error', (err) => log(`stdin: ${err.message}`))

// ---- signals ---------------------------------------------------------------

signalled.usr1 = () => emit(statsLine())

let stopping = false
async function stop () {
  if (stopping) return
  stopping = true
  emit(statsLine())
  closed = true
  process.stdin.pause()
  // Leaving a topic sends PRUNE (with PX and backoff) to the mesh peers.
  for (const topic of opts.topics) {
    try { gs.unsubscribe(topic) } catch (err) { log(`unsubscribe ${topic}: ${err.message}`) }
  }
  await new Promise((resolve) => setTimeout(resolve, 200))
  // node.stop() closes connections gracefully; a stuck remote must not keep
  // us from exiting.
  await Promise.race([
    node.stop().catch((err) => log(`stop: ${err.message}`)),
    new Promise((resolve) => setTimeout(resolve, 3000).unref())
  ])
  process.exit(0)
}
signalled.stop = () => { void stop() }
if (signalled.early) signalled.stop()
