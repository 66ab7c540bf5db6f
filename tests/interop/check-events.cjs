// Checks the JSON event lines of the host interop tests (lib.sh runs it).
//
//   node check-events.cjs MODE FILE [key=value]...
//
// MODE:
//   listening     FILE's first line is a listener's {"event":"listening"}
//                 with one address; prints "PEER_ID ADDRESS".
//                 id=ID: the peer id it must have.
//   dialer        FILE is a dialer's stdout (a reference peer's or
//                 hosttool's) for test=T (ping:N, identify, echo:S:B,
//                 halfclose, reset): its last line is {"event":"done",
//                 "ok":true}, ping:N printed N round trips, identify printed
//                 the listener's identify (agent=PREFIX of its agent
//                 version, id=the listener's peer id; it must announce
//                 /echo/1.0.0), echo:S:B reported S streams of B bytes.
//                 muxer=yamux|mplex: a "connected" event (hosttool prints
//                 one) must name that muxer.
//   listener      FILE is a listener's stdout, from=N the number of lines
//                 it had before the dial. Waits (10 s at most) until the
//                 dialer's connection has ended, then checks its events for
//                 test=T (as above, or cli-ping / cli-identify for the lp2p
//                 command): the dialer's identify (agent=PREFIX; not
//                 required for cli-identify, which hangs up as soon as it
//                 has its answer), the echo_done and stream_reset events of
//                 the test, and no handshake failure. id=ID: the dialer's
//                 peer id ("-": any). The events lp2p listen adds are
//                 checked too when present: the connection's direction and
//                 muxer (muxer=...), the disconnect reason (hangup=LIST,
//                 default "remote": the dialer closed the connection; with
//                 "reset" also a TCP reset from it, which is how go-libp2p
//                 closes: SO_LINGER 0), the peer of every event. Prints the
//                 dialer's peer id.
//   cli-ping      FILE is the stdout of `lp2p ping -c N` (count=N): N lines
//                 "ping I: X ms" in order, then "N pings, N answered, rtt
//                 min/avg/max = ...".
//   cli-identify  FILE is the stdout of `lp2p identify` run against a
//                 listener: one JSON line, the listener's identify
//                 (agent=PREFIX, id=ID), with listen addresses, a verified
//                 signed peer record and /echo/1.0.0 announced.
//
// Exits 1 with the reason on stderr when a check fails.
'use strict'
const fs = require('node:fs')

const [mode, file, ...rest] = process.argv.slice(2)
const opt = Object.fromEntries(rest.map((kv) => {
  const i = kv.indexOf('=')
  return [kv.slice(0, i), kv.slice(i + 1)]
}))
const fail = (why) => {
  console.error(`check failed (${mode} ${opt.test ?? ''}): ${why}`)
  process.exit(1)
}
const lines = () => fs.readFileSync(file, 'utf8').split('\n').filter(Boolean)
const events = () => lines().map((l) => {
  try { return JSON.parse(l) } catch { fail(`not JSON: ${l}`) }
})
const [name, ...args] = (opt.test ?? '').split(':').map((x, i) => i === 0 ? x : Number(x))
// quic: QUIC's own streams, no muxer protocol (as go's ConnectionState)
const MUXERS = { yamux: '/yamux/1.0.0', mplex: '/mplex/6.7.0', quic: '' }
const LOOPBACK = /^\/ip4\/127\.0\.0\.1\/(tcp\/\d+|udp\/\d+\/quic-v1)(\/p2p\/\w+)?$/

// An identify event: remote is true when it describes the listener as seen
// by a dialer (which must announce echo and its listen addresses).
function checkIdentify (e, { agent, id, remote }) {
  if (e == null) fail('no identify event')
  for (const k of ['peer_id', 'agent_version', 'protocol_version', 'protocols', 'listen_addrs', 'observed_addr']) {
    if (!(k in e)) fail(`identify lacks ${k}: ${JSON.stringify(e)}`)
  }
  if (id != null && id !== '-' && e.peer_id !== id) fail(`identify of ${e.peer_id}, want ${id}`)
  if (typeof e.agent_version !== 'string' || !e.agent_version.startsWith(agent)) {
    fail(`agent_version ${JSON.stringify(e.agent_version)}, want ${agent}...`)
  }
  if (typeof e.protocol_version !== 'string') fail(`protocol_version ${e.protocol_version}`)
  const want = ['/ipfs/id/1.0.0', '/ipfs/ping/1.0.0', ...(remote ? ['/echo/1.0.0'] : [])]
  for (const p of want) {
    if (!Array.isArray(e.protocols) || !e.protocols.includes(p)) fail(`protocols lack ${p}: ${e.protocols}`)
  }
  if (!Array.isArray(e.listen_addrs)) fail('listen_addrs not a list')
  if (remote) {
    if (e.listen_addrs.length === 0) fail('no listen_addrs')
    if (!e.listen_addrs.some((a) => LOOPBACK.test(a))) fail(`listen_addrs ${e.listen_addrs} lack the 127.0.0.1 one`)
  }
  if (typeof e.observed_addr !== 'string' || !LOOPBACK.test(e.observed_addr)) {
    fail(`observed_addr ${e.observed_addr}`)
  }
  // lp2p's own output says whether the signed peer record verified.
  if (remote && 'signed_peer_record' in e && e.signed_peer_record !== true) {
    fail('the signed peer record is missing or did not verify')
  }
}

function checkListening () {
  const e = events()[0]
  if (e?.event !== 'listening' || e.addrs?.length !== 1) fail(`first line ${JSON.stringify(e)}`)
  if (opt.id != null && e.peer_id !== opt.id) fail(`listener peer id ${e.peer_id}, want ${opt.id}`)
  if (!LOOPBACK.test(e.addrs[0]) || !e.addrs[0].endsWith(`/p2p/${e.peer_id}`)) fail(`address ${e.addrs[0]}`)
  console.log(`${e.peer_id} ${e.addrs[0]}`)
}

function checkDialer () {
  const ev = events()
  const done = ev[ev.length - 1]
  if (done?.event !== 'done' || done.ok !== true) fail(`last line ${JSON.stringify(done)}`)
  if (ev.filter((e) => e.event === 'done').length !== 1) fail('more than one done line')
  if (opt.muxer != null) {
    const conn = ev.find((e) => e.event === 'connected')
    if (conn == null) fail('no connected event')
    if (conn.muxer !== MUXERS[opt.muxer]) fail(`muxer ${conn.muxer}, want ${MUXERS[opt.muxer]}`)
    if (opt.id != null && conn.peer_id !== opt.id) fail(`connected to ${conn.peer_id}, want ${opt.id}`)
  }
  const pings = ev.filter((e) => e.event === 'ping')
  const want = name === 'ping' ? args[0] : 0
  if (pings.length !== want || !pings.every((p) => typeof p.rtt_ms === 'number' && p.rtt_ms >= 0)) {
    fail(`${pings.length} ping events, want ${want}: ${JSON.stringify(pings.slice(0, 3))}...`)
  }
  const ids = ev.filter((e) => e.event === 'identify')
  if (name === 'identify') {
    if (ids.length !== 1) fail(`${ids.length} identify events`)
    checkIdentify(ids[0], { agent: opt.agent, id: opt.id, remote: true })
  }
  if (name === 'echo' && (done.streams !== args[0] || done.bytes !== args[1])) fail(`done ${JSON.stringify(done)}`)
}

function checkListener () {
  const from = Number(opt.from)
  const deadline = Date.now() + 10000
  const look = () => {
    const ev = events().slice(from)
    // go-libp2p emits per-peer connectedness (events without a reason)
    // from a coalescing emitter: a connection that comes and goes quickly
    // (lp2p identify) may show as a lone disconnected event
    const lone = !ev.some((e) => e.event === 'connected')
      ? ev.find((e) => e.event === 'disconnected' && !('reason' in e))
      : undefined
    const conn = ev.find((e) => e.event === 'connected') ?? (lone && { event: 'connected', peer_id: lone.peer_id })
    const gone = conn && ev.find((e) => e.event === 'disconnected' && e.peer_id === conn.peer_id)
    if (!gone) {
      if (Date.now() > deadline) fail(`no connected + disconnected pair in ${JSON.stringify(ev)}`)
      return setTimeout(look, 50)
    }
    const id = conn.peer_id
    if (opt.id !== '-' && id !== opt.id) fail(`dialer peer id ${id}, want ${opt.id}`)
    const failed = ev.filter((e) => e.event === 'handshake_failed')
    if (failed.length > 0) fail(`handshake failed: ${JSON.stringify(failed)}`)
    const conns = lone ? [conn] : ev.filter((e) => e.event === 'connected')
    if (conns.length !== 1) fail(`${conns.length} connections for one dial: ${JSON.stringify(conns)}`)
    if ('direction' in conn && conn.direction !== 'inbound') fail(`direction ${conn.direction}`)
    if ('muxer' in conn && conn.muxer !== MUXERS[opt.muxer]) fail(`muxer ${conn.muxer}, want ${MUXERS[opt.muxer]}`)
    if ('remote_addr' in conn && !LOOPBACK.test(conn.remote_addr)) fail(`remote_addr ${conn.remote_addr}`)
    const hangup = (opt.hangup ?? 'remote').split(',')
    const reset = gone.reason === 'io' && /reset by peer/.test(gone.message)
    if ('reason' in gone && !(hangup.includes(gone.reason) || (reset && hangup.includes('reset')))) {
      fail(`disconnected: ${gone.reason}: ${gone.message}`)
    }
    // Events with a peer id must be about this connection's peer.
    const other = ev.find((e) => 'peer_id' in e && e.peer_id !== id)
    if (other) fail(`event of another peer: ${JSON.stringify(other)}`)
    const identify = ev.find((e) => e.event === 'identify')
    if (name !== 'cli-identify' || identify != null) {
      checkIdentify(identify, { agent: opt.agent, id, remote: false })
    }
    const echoes = ev.filter((e) => e.event === 'echo_done')
    const resets = ev.filter((e) => e.event === 'stream_reset')
    const want = { echo: [args[0], args[1], 0], halfclose: [1, 1000, 0], reset: [0, 0, 1] }[name] ?? [0, 0, 0]
    if (echoes.length !== want[0] || !echoes.every((e) => e.bytes === want[1])) {
      fail(`${echoes.length} echo_done events, want ${want[0]} of ${want[1]} bytes: ${JSON.stringify(echoes.slice(0, 3))}`)
    }
    if (resets.length !== want[2]) fail(`${resets.length} stream_reset events, want ${want[2]}`)
    // The reset test's stream carried 100 bytes before the reset.
    if (resets.some((e) => 'bytes' in e && e.bytes !== 100)) fail(`stream_reset ${JSON.stringify(resets)}`)
    console.log(id)
  }
  look()
}

function checkCliPing () {
  const n = Number(opt.count)
  const ls = lines()
  if (ls.length !== n + 1) fail(`${ls.length} lines, want ${n + 1}`)
  ls.slice(0, n).forEach((l, i) => {
    const m = /^ping (\d+): (\d+\.\d+) ms$/.exec(l)
    if (m == null || Number(m[1]) !== i + 1) fail(`line ${i + 1}: ${l}`)
  })
  const m = /^(\d+) pings, (\d+) answered, rtt min\/avg\/max = ([\d.]+)\/([\d.]+)\/([\d.]+) ms$/.exec(ls[n])
  if (m == null || Number(m[1]) !== n || Number(m[2]) !== n) fail(`summary: ${ls[n]}`)
  const [min, avg, max] = m.slice(3).map(Number)
  if (!(min <= avg && avg <= max)) fail(`summary: ${ls[n]}`)
}

function checkCliIdentify () {
  const ev = events()
  if (ev.length !== 1) fail(`${ev.length} lines, want 1`)
  checkIdentify(ev[0], { agent: opt.agent, id: opt.id, remote: true })
  if (ev[0].signed_peer_record !== true) fail('signed_peer_record is not true')
}

switch (mode) {
  case 'listening': checkListening(); break
  case 'dialer': checkDialer(); break
  case 'listener': checkListener(); break
  case 'cli-ping': checkCliPing(); break
  case 'cli-identify': checkCliIdentify(); break
  default: fail('unknown mode')
}
