// The js-libp2p reference peer of lp2p's host interop tests. It speaks TCP +
// Noise + one muxer (yamux or mplex) + identify (and identify push) + ping,
// and implements the same CLI and JSON event lines as
// tests/interop/go/peer/main.go:
//
//   node peer.mjs listen --muxer yamux|mplex [--key-seed N] [--echo] [--sink]
//                 [--no-limits]
//   node peer.mjs dial MULTIADDR --muxer yamux|mplex [--key-seed N] --test T
//                 [--timeout-s S]
//
// T is ping:N, identify, echo:S:B, halfclose, reset or send:B. One JSON
// object per stdout line; diagnostics on stderr. --sink and send:B are for
// bench/run-host.sh: one stream of B bytes to a listener that reads and
// drops them (/bench/sink/1.0.0, as bench/bench_host's sink), timed.
// --no-limits (for the 1,000-connection benchmark) lifts js-libp2p's
// connection manager limits (300 connections, 10 pending inbound, 5 per
// second from one host) for loopback peers. Run it through run-peer.sh, which
// installs the npm packages under the build tree.

// js-libp2p 2.x and its dependencies call Promise.withResolvers, which Node
// only has from version 22. The libraries are imported dynamically below so
// that this polyfill is in place before any of their code runs (static
// imports would be evaluated first).
if (typeof Promise.withResolvers !== 'function') {
  Promise.withResolvers = function () {
    let resolve, reject
    const promise = new this((res, rej) => { resolve = res; reject = rej })
    return { promise, resolve, reject }
  }
}

const { createLibp2p } = await import('libp2p')
const { version: libp2pVersion } = await import('libp2p/version')
const { tcp } = await import('@libp2p/tcp')
const { noise } = await import('@chainsafe/libp2p-noise')
const { yamux } = await import('@chainsafe/libp2p-yamux')
const { mplex } = await import('@libp2p/mplex')
const { identify, identifyPush } = await import('@libp2p/identify')
const { ping } = await import('@libp2p/ping')
const { generateKeyPair, generateKeyPairFromSeed } = await import('@libp2p/crypto/keys')
const { multiaddr } = await import('@multiformats/multiaddr')

const ECHO = '/echo/1.0.0'
// bench/bench_host's sink: the listener reads and drops every byte, and
// closes the stream after the remote's half-close.
const SINK = '/bench/sink/1.0.0'
// js-libp2p allows 32 inbound / 64 outbound streams per protocol and
// connection by default; the echo tests open more than that at once.
const STREAM_LIMITS = { maxInboundStreams: 1024, maxOutboundStreams: 1024 }
// js-libp2p's ping closes its stream without waiting for the remote's close,
// so the close that answers it arrives for a stream js-mplex has already
// forgotten; js-mplex counts such messages and drops the connection after 5
// in a second (its DoS guard). 100 pings back to back trip it against any
// peer (go-libp2p too), so the reference peer tolerates more.
const MPLEX_OPTIONS = { disconnectThreshold: 10000 }
// How long a dialer stays connected after its test, so that the listener's
// own identify of us (started when the connection opened) can finish.
const LINGER_MS = 200

// ---- output ----------------------------------------------------------------

let finished = false // after the done line, print nothing more

// Writes to a pipe or file are synchronous in Node on Linux, so each line is
// out before the next statement runs.
function emit (obj) {
  if (!finished) process.stdout.write(JSON.stringify(obj) + '\n')
}

function usage () {
  process.stderr.write(
    'usage: peer.mjs listen --muxer yamux|mplex [--key-seed N] [--echo] [--sink] [--no-limits]\n' +
    '       peer.mjs dial MULTIADDR --muxer yamux|mplex [--key-seed N] --test T [--timeout-s S]\n')
  process.exit(2)
}

function identifyEvent (r) {
  return {
    event: 'identify',
    peer_id: r.peerId.toString(),
    agent_version: r.agentVersion ?? '',
    protocol_version: r.protocolVersion ?? '',
    protocols: r.protocols ?? [],
    listen_addrs: (r.listenAddrs ?? []).map(String),
    observed_addr: r.observedAddr == null ? null : r.observedAddr.toString()
  }
}

// ---- arguments -------------------------------------------------------------

function parseArgs (argv) {
  const [cmd, ...rest] = argv
  if (cmd !== 'listen' && cmd !== 'dial') usage()
  const opts = { cmd, seed: null, echo: false, sink: false, noLimits: false, test: null, timeoutS: 60 }
  if (cmd === 'dial') {
    if (rest.length === 0 || rest[0].startsWith('-')) usage()
    opts.target = rest.shift()
  }
  while (rest.length > 0) {
    const flag = rest.shift()
    const value = () => rest.length > 0 ? rest.shift() : usage()
    switch (flag) {
      case '--muxer': opts.muxer = value(); break
      case '--key-seed': opts.seed = Number(value()); break
      case '--echo': opts.echo = true; break
      case '--sink': opts.sink = true; break
      case '--no-limits': opts.noLimits = true; break
      case '--test': opts.test = value(); break
      case '--timeout-s': opts.timeoutS = Number(value()); break
      default: usage()
    }
  }
  if (opts.muxer !== 'yamux' && opts.muxer !== 'mplex') usage()
  if (opts.seed !== null && !(Number.isInteger(opts.seed) && opts.seed >= 0 && opts.seed <= 0xffffffff)) usage()
  if (cmd === 'dial' && (opts.test == null || !(opts.timeoutS > 0))) usage()
  return opts
}

// "echo:4:1000" -> { name: 'echo', args: [4, 1000] }
function parseTest (t) {
  const [name, ...rest] = t.split(':')
  const arity = { ping: 1, identify: 0, echo: 2, halfclose: 0, reset: 0, send: 1 }[name]
  const args = rest.map(Number)
  if (arity === undefined || args.length !== arity ||
      !args.every(n => Number.isInteger(n) && n >= 1)) {
    process.stderr.write(`peer.mjs: bad --test ${t}\n`)
    process.exit(2)
  }
  return { name, args }
}

// ---- node ------------------------------------------------------------------

// The gossipsub-interop harness convention: the 32-byte Ed25519 seed is N as
// a little-endian uint32, then zeros.
async function privateKey (seed) {
  if (seed === null) return generateKeyPair('Ed25519')
  const bytes = new Uint8Array(32)
  new DataView(bytes.buffer).setUint32(0, seed, true)
  return generateKeyPairFromSeed('Ed25519', bytes)
}

async function newNode (opts, listen) {
  return createLibp2p({
    privateKey: await privateKey(opts.seed),
    addresses: { listen: listen ? ['/ip4/127.0.0.1/tcp/0'] : [] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [opts.muxer === 'yamux' ? yamux() : mplex(MPLEX_OPTIONS)],
    // Allow-listed addresses skip the pending and rate limits.
    ...(opts.noLimits
      ? { connectionManager: { allow: ['/ip4/127.0.0.0/ipcidr/8'], maxConnections: 1e6 } }
      : {}),
    services: {
      identify: identify({ agentVersion: `lp2p-interop-js/${libp2pVersion}` }),
      identifyPush: identifyPush({ agentVersion: `lp2p-interop-js/${libp2pVersion}` }),
      ping: ping()
    }
  })
}

// node.stop() closes connections gracefully; do not let a stuck remote keep
// us from exiting.
async function stopNode (node) {
  await Promise.race([
    node.stop(),
    new Promise(resolve => setTimeout(resolve, 3000).unref())
  ])
}

// ---- listen ----------------------------------------------------------------

// Echoes the stream into itself. Our source ends when the remote
// half-closes; the sink then sends our close-write after the last byte.
// When instead the whole connection goes away, js-libp2p ends the source
// quietly too (having closed our write side first), or, on a yamux GoAway,
// resets every stream; neither is an echo that finished nor a reset of this
// stream, so the write status and the connection's state tell them apart.
async function echoHandler ({ stream, connection }) {
  let bytes = 0
  let halfClosed = false
  let error = null
  try {
    await stream.sink((async function * () {
      for await (const chunk of stream.source) {
        bytes += chunk.byteLength
        yield chunk
      }
      halfClosed = stream.writeStatus === 'writing'
    })())
  } catch (err) {
    error = err
  }
  if (error == null && halfClosed) {
    emit({ event: 'echo_done', bytes })
  } else if (stream.status === 'reset' && await stillOpen(connection)) {
    emit({ event: 'stream_reset' })
  } else {
    process.stderr.write(`peer.mjs: echo stream ended after ${bytes} bytes: ${error ?? 'connection closed'}\n`)
    stream.abort(error ?? new Error('connection closed'))
  }
}

// Reads and drops the stream until the remote half-closes, then closes it:
// the far end of the send test.
async function sinkHandler ({ stream }) {
  try {
    for await (const chunk of stream.source) void chunk
    await stream.close()
  } catch (err) {
    stream.abort(err)
  }
}

// A stream reset by the remote leaves its connection open; one that ends
// with its connection closes it within moments.
async function stillOpen (connection) {
  await new Promise(resolve => setTimeout(resolve, 50))
  return connection.status === 'open'
}

async function runListen (opts) {
  const node = await newNode(opts, true)
  node.addEventListener('peer:connect', (e) =>
    emit({ event: 'connected', peer_id: e.detail.toString() }))
  node.addEventListener('peer:disconnect', (e) =>
    emit({ event: 'disconnected', peer_id: e.detail.toString() }))
  node.addEventListener('peer:identify', (e) => emit(identifyEvent(e.detail)))
  if (opts.echo) await node.handle(ECHO, (data) => { void echoHandler(data) }, STREAM_LIMITS)
  if (opts.sink) await node.handle(SINK, (data) => { void sinkHandler(data) })

  // A misbehaving remote must not take the reference peer down.
  process.on('unhandledRejection', (err) =>
    process.stderr.write(`peer.mjs: unhandled rejection: ${err?.stack ?? err}\n`))

  emit({
    event: 'listening',
    peer_id: node.peerId.toString(),
    addrs: node.getMultiaddrs().map(String)
  })
  const stop = async () => {
    await stopNode(node)
    process.exit(0)
  }
  process.once('SIGTERM', stop)
  process.once('SIGINT', stop)
}

// ---- dial ------------------------------------------------------------------

// The deterministic payload of echo stream i: a xorshift32 sequence, the same
// generator as the go peer.
function pattern (i, n) {
  let s = Math.imul(i + 1, 2654435761) >>> 0
  const b = new Uint8Array(n)
  for (let k = 0; k < n; k++) {
    s ^= s << 13; s >>>= 0
    s ^= s >>> 17
    s ^= s << 5; s >>>= 0
    b[k] = s & 0xff
  }
  return b
}

// Yields data in 64 KiB pieces, the size yamux and mplex frame anyway.
function * pieces (data) {
  for (let off = 0; off < data.length; off += 65536) {
    yield data.subarray(off, off + 65536)
  }
}

async function readAll (stream) {
  const parts = []
  for await (const chunk of stream.source) parts.push(chunk.subarray())
  return Buffer.concat(parts)
}

// Writes data on a new echo stream and reads the echo back. The sink ending
// is js-libp2p's half-close (it sends close-write after the last piece).
// Concurrent: reading while writing, since write-then-read deadlocks once the
// payload exceeds the muxer windows. Not concurrent: write and half-close
// first, then read until EOF.
async function echoOnce (conn, data, concurrent) {
  const stream = await conn.newStream(ECHO, STREAM_LIMITS)
  let got
  if (concurrent) {
    [, got] = await Promise.all([stream.sink(pieces(data)), readAll(stream)])
  } else {
    await stream.sink(pieces(data))
    if (stream.writeStatus !== 'closed') throw new Error('write side not closed after sink')
    got = await readAll(stream)
  }
  await stream.close()
  if (Buffer.compare(got, Buffer.from(data)) !== 0) {
    throw new Error(`echo mismatch: sent ${data.length} bytes, got ${got.length} back`)
  }
}

async function testEcho (conn, streams, size) {
  const runs = []
  for (let i = 0; i < streams; i++) {
    runs.push(echoOnce(conn, pattern(i, size), true).catch((err) => {
      throw new Error(`stream ${i}: ${err.message}`)
    }))
  }
  await Promise.all(runs)
}

// Writes a little, waits for its echo (so the listener's handler is surely
// running), then resets with abort(). The ping afterwards travels behind the
// RST on the same connection, so its reply proves the RST reached the
// listener.
async function testReset (node, conn) {
  const stream = await conn.newStream(ECHO, STREAM_LIMITS)
  const data = pattern(0, 100)
  let stopWriting
  const writing = new Promise(resolve => { stopWriting = resolve })
  // Not awaited: after abort() the sink that multistream-select wraps around
  // the stream's own never settles.
  stream.sink((async function * () {
    yield data
    await writing // keep the write side open until the reset
  })()).catch(() => {})
  let echoed = 0
  for await (const chunk of stream.source) {
    echoed += chunk.byteLength
    if (echoed >= data.length) break
  }
  stream.abort(new Error('reset test'))
  stopWriting()
  await node.services.ping.ping(conn.remotePeer)
}

// Writes total bytes on one sink stream (the same 64 KiB piece again and
// again: nothing modifies it), half-closes and waits for the listener's
// close (it has read everything). Timed from the first write to that close,
// as bench_host send times it.
async function testSend (conn, total) {
  const stream = await conn.newStream(SINK)
  const piece = new Uint8Array(65536)
  const start = performance.now()
  await stream.sink((function * () {
    for (let left = total; left > 0; left -= piece.length) {
      yield left >= piece.length ? piece : piece.subarray(0, left)
    }
  })())
  for await (const chunk of stream.source) void chunk
  const seconds = (performance.now() - start) / 1000
  await stream.close()
  return { bytes: total, seconds, MBps: total / seconds / 1e6 }
}

async function testPing (node, conn, n) {
  for (let i = 0; i < n; i++) {
    // js opens a new stream per ping, so this includes the stream setup;
    // measured here because ping() rounds to whole milliseconds.
    const start = performance.now()
    await node.services.ping.ping(conn.remotePeer)
    emit({ event: 'ping', rtt_ms: Math.round((performance.now() - start) * 1000) / 1000 })
  }
}

async function runDial (opts) {
  const test = parseTest(opts.test)
  let node = null

  let finishing = false
  const finish = async (err, extra = {}) => {
    if (finishing) return // the watchdog may fire while a test ends
    finishing = true
    if (node != null && err == null) {
      await new Promise(resolve => setTimeout(resolve, LINGER_MS))
      await stopNode(node)
    }
    const line = { event: 'done', ok: err == null, ...extra }
    if (err != null) {
      line.error = err.message ?? String(err)
      process.stderr.write(`peer.mjs: ${err.stack ?? err}\n`)
    }
    emit(line)
    finished = true
    process.exit(err == null ? 0 : 1)
  }
  setTimeout(() => { void finish(new Error(`timeout after ${opts.timeoutS}s`)) },
    opts.timeoutS * 1000)
  process.on('unhandledRejection', (err) => { void finish(err) })

  try {
    node = await newNode(opts, false)
    const target = multiaddr(opts.target)
    const remoteId = target.getPeerId()
    if (remoteId == null) throw new Error('multiaddr needs /p2p/ID')
    // Listen before dialing: identify runs as soon as the connection opens.
    const identified = new Promise((resolve) => {
      node.addEventListener('peer:identify', (e) => {
        if (e.detail.peerId.toString() === remoteId) resolve(e.detail)
      })
    })
    const conn = await node.dial(target)
    let extra = {}
    switch (test.name) {
      case 'ping': await testPing(node, conn, test.args[0]); break
      case 'identify': emit(identifyEvent(await identified)); break
      case 'echo':
        await testEcho(conn, test.args[0], test.args[1])
        extra = { streams: test.args[0], bytes: test.args[1] }
        break
      case 'halfclose': await echoOnce(conn, pattern(0, 1000), false); break
      case 'reset': await testReset(node, conn); break
      case 'send': extra = await testSend(conn, test.args[0]); break
    }
    await finish(null, extra)
  } catch (err) {
    await finish(err)
  }
}

const opts = parseArgs(process.argv.slice(2))
if (opts.cmd === 'listen') await runListen(opts)
else await runDial(opts)
