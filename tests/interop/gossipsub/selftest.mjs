// Mixed GossipSub network check for nodes that follow the gsnode CLI contract
// (tests/interop/gossipsub/README.md): the js and go reference nodes here, and
// `lp2p node`. Run by selftest.sh; only Node's standard library is used.
//
//   node selftest.mjs --impl NAME=COMMAND... [--mix NAME:COUNT,...] [--seed N]
//                     [--logs DIR] [--degree D]
//
// COMMAND is split at spaces; the node arguments are appended. The default
// mix is every --impl 4 times. Scenarios, each on a fresh network where each
// node connects to D (default 3) random others, the whole connected, all on
// one topic:
//   1. StrictSign, nodes started with --hex: every node publishes 2 messages
//      of 1 KiB; every node must deliver every other node's messages exactly
//      once, with the same id, from and seqno everywhere; the meshes must
//      hold peers of every other implementation; then one node of each
//      implementation publishes 500 KiB, delivered everywhere exactly once,
//      and IDONTWANT must have been sent and received between every pair of
//      different implementations for those messages.
//   2. StrictNoSign, plain text on stdin: the 1 KiB round again; from and
//      seqno empty, id = sha2-256 of the data.
//   3. PX, for each implementation as the hub of a star with one leaf of
//      every implementation: the hub leaves, its PRUNE carries PX, and every
//      leaf must report it (px event), connect to the other leaves and graft
//      them.
// Options for rust-libp2p (rust/gsnode), whose differences are asserted as
// they are rather than hidden:
//   --rust-ids IMPL: IMPL's nodes run with rust-libp2p's own default message
//     id (--msg-id rust: the author's base58 peer id, then the decimal
//     seqno, as text), so they must print that id, every other node
//     from ‖ seqno; each family agrees within itself, and the two differ,
//     so IHAVE/IWANT/IDONTWANT never name a message across them.
//   --idontwant-saved IMPL: IMPL's nodes print idontwant_saved (lp2p: per
//     peer, the copies its IDONTWANT spared us sending); in the 500 KiB
//     round they must have spared copies to peers of every other
//     implementation, which happens only when the two share message ids
//     (IDONTWANT names a message by its id).
//   --px-no-dial IMPL: IMPL neither sends signed peer records in PX nor
//     dials PX peers it has no address for (rust-libp2p 0.57), so in a PX
//     star with an IMPL node only the px events are checked (that every
//     leaf gets PX naming the other leaves); connections are reported.
// Options for the lean consensus setting (issue 14):
//   --transport quic: every node listens on /ip4/127.0.0.1/udp/P/quic-v1
//     (and dials its --peer addresses so) instead of /tcp/P.
//   --secp256k1 IMPL: IMPL's nodes run on secp256k1 identities (--key FILE,
//     a key file made here from the node's seed, seeds.mjs) instead of
//     --key-seed's Ed25519 ones; their peer ids, and so the message ids
//     from ‖ seqno, are the secp256k1 ones.
// Every node must print its final stats line and exit 0 on SIGTERM.
// Prints "ok NAME (T s)" / "FAIL NAME: why" lines and a summary; exits 1 on
// any failure.

import { spawn } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { createWriteStream, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { base58, freePorts, peerIdBytesOfSeed, secp256k1OfSeed } from './seeds.mjs'

// ---- arguments -------------------------------------------------------------

function usage (msg) {
  if (msg) process.stderr.write(`selftest: ${msg}\n`)
  process.stderr.write('usage: selftest.mjs --impl NAME=COMMAND... [--mix NAME:COUNT,...] [--seed N] [--logs DIR] [--degree D]\n' +
    '                    [--scenarios strict,nosign,px,mutual] [--rust-ids IMPL] [--px-no-dial IMPL]\n' +
    '                    [--idontwant-saved IMPL] [--transport tcp|quic] [--secp256k1 IMPL]\n')
  process.exit(2)
}

const impls = new Map()
let mixArg = null
let seed = Number(process.env.LP2P_SELFTEST_SEED ?? (Date.now() % 1e9))
let logDir = null
let degree = 3
let scenarios = new Set(['strict', 'nosign', 'px', 'mutual'])
const rustIds = new Set()
const pxNoDial = new Set()
const idontwantSaved = new Set()
let transport = 'tcp'
const secp256k1Impls = new Set()
{
  const a = process.argv.slice(2)
  while (a.length > 0) {
    const f = a.shift()
    const v = () => a.length > 0 ? a.shift() : usage(`${f} needs a value`)
    if (f === '--impl') {
      const s = v(); const eq = s.indexOf('=')
      if (eq <= 0) usage(`bad --impl ${s}`)
      impls.set(s.slice(0, eq), s.slice(eq + 1).split(' ').filter(Boolean))
    } else if (f === '--mix') mixArg = v()
    else if (f === '--seed') seed = Number(v())
    else if (f === '--logs') logDir = v()
    else if (f === '--degree') degree = Number(v())
    else if (f === '--scenarios') scenarios = new Set(v().split(','))
    else if (f === '--rust-ids') rustIds.add(v())
    else if (f === '--px-no-dial') pxNoDial.add(v())
    else if (f === '--idontwant-saved') idontwantSaved.add(v())
    else if (f === '--transport') transport = v()
    else if (f === '--secp256k1') secp256k1Impls.add(v())
    else usage(`unknown argument ${f}`)
  }
}
if (impls.size === 0) usage('no --impl')
if (transport !== 'tcp' && transport !== 'quic') usage(`bad --transport ${transport}`)
const mix = []
for (const part of (mixArg ?? [...impls.keys()].map((n) => `${n}:4`).join(',')).split(',')) {
  const [name, count] = part.split(':')
  if (!impls.has(name) || !(Number(count) > 0)) usage(`bad --mix part ${part}`)
  for (let i = 0; i < Number(count); i++) mix.push(name)
}
if (logDir != null) mkdirSync(logDir, { recursive: true })
// secp256k1 key files (--secp256k1) live next to the logs, or in a
// temporary directory
const keyDir = secp256k1Impls.size === 0 ? null : logDir ?? mkdtempSync(join(tmpdir(), 'lp2p-selftest-'))

// ---- small tools -----------------------------------------------------------

// A seeded PRNG (mulberry32), so a failing network can be rebuilt with --seed.
let rngState = seed >>> 0
function rand () {
  rngState = (rngState + 0x6D2B79F5) >>> 0
  let t = rngState
  t = Math.imul(t ^ (t >>> 15), t | 1)
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}
const randInt = (n) => Math.floor(rand() * n)
function shuffle (a) {
  for (let i = a.length - 1; i > 0; i--) { const j = randInt(i + 1); [a[i], a[j]] = [a[j], a[i]] }
  return a
}
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
const now = () => performance.now()
const secs = (t0) => ((now() - t0) / 1000).toFixed(2)

// ---- results ---------------------------------------------------------------

let passed = 0
let failed = 0
function ok (name, t0, extra = '') {
  passed++
  console.log(`ok   ${name} (${secs(t0)} s)${extra ? ' ' + extra : ''}`)
}
function fail (name, t0, why) {
  failed++
  console.log(`FAIL ${name} (${secs(t0)} s): ${why}`)
}
const info = (s) => console.log(`     ${s}`)

// ---- nodes -----------------------------------------------------------------

const children = new Set()
process.on('exit', () => { for (const c of children) { try { c.kill('SIGKILL') } catch {} } })

// The identity of a node of IMPL with seed N: the Ed25519 key of
// --key-seed N, or (--secp256k1 IMPL) a secp256k1 key file made from N.
// idBytes: the peer id's multihash bytes (the from of its messages).
function identity (impl, n) {
  if (!secp256k1Impls.has(impl)) {
    const idBytes = peerIdBytesOfSeed(n)
    return { idBytes, id: base58(idBytes), args: ['--key-seed', String(n)] }
  }
  const k = secp256k1OfSeed(n)
  const file = join(keyDir, `secp256k1-${n}.key`)
  writeFileSync(file, k.file, { mode: 0o600 })
  return { idBytes: k.idBytes, id: k.id, args: ['--key', file] }
}

class Node {
  constructor (idx, impl, ident, args, tag) {
    this.idx = idx
    this.impl = impl
    this.name = `${impl}${idx}`
    this.idBytes = ident.idBytes
    this.expectedId = ident.id
    this.lines = []
    this.badLines = []
    this.exit = null
    const [cmd, ...pre] = impls.get(impl)
    this.proc = spawn(cmd, [...pre, ...args], { stdio: ['pipe', 'pipe', 'pipe'] })
    children.add(this.proc)
    this.proc.stdin.on('error', () => {})
    const err = logDir != null ? createWriteStream(join(logDir, `${tag}-${this.name}.stderr`)) : null
    const out = logDir != null ? createWriteStream(join(logDir, `${tag}-${this.name}.stdout`)) : null
    err?.write(`${cmd} ${[...pre, ...args].join(' ')}\n`)
    this.proc.stderr.on('data', (d) => err?.write(d))
    this.proc.stdout.on('data', (d) => out?.write(d))
    let buf = ''
    this.proc.stdout.setEncoding('utf8')
    this.proc.stdout.on('data', (d) => {
      buf += d
      let nl
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl)
        buf = buf.slice(nl + 1)
        try { this.lines.push(JSON.parse(line)) } catch { this.badLines.push(line) }
      }
    })
    // 'close', not 'exit': only then has all of stdout been read
    this.exited = new Promise((resolve) => this.proc.on('close', (code, sig) => {
      children.delete(this.proc)
      err?.end()
      out?.end()
      this.exit = { code, sig }
      resolve()
    }))
  }

  events (kind) { return this.lines.filter((l) => l.event === kind) }

  // SIGTERM; remembers how many lines came before the first one
  terminate () {
    if (this.termAt == null) this.termAt = this.lines.length
    if (this.exit == null) this.proc.kill('SIGTERM')
  }
  write (line) { this.proc.stdin.write(line + '\n') }

  async stats (timeoutMs = 5000) {
    const before = this.events('stats').length
    this.proc.kill('SIGUSR1')
    const t0 = now()
    while (now() - t0 < timeoutMs) {
      const s = this.events('stats')
      if (s.length > before) return s[s.length - 1]
      await sleep(50)
    }
    throw new Error(`${this.name}: no stats line within ${timeoutMs} ms`)
  }
}

async function waitFor (pred, timeoutMs, stepMs = 100) {
  const t0 = now()
  for (;;) {
    const r = await pred()
    if (r) return true
    if (now() - t0 > timeoutMs) return false
    await sleep(stepMs)
  }
}

// A connected random graph where every node has at least `degree`
// neighbours: a random spanning tree, then random extra edges. Each edge is
// dialed by one of its ends, chosen at random.
function randomGraph (n) {
  const adj = Array.from({ length: n }, () => new Set())
  const order = shuffle([...Array(n).keys()])
  for (let k = 1; k < n; k++) {
    const a = order[k]; const b = order[randInt(k)]
    adj[a].add(b); adj[b].add(a)
  }
  for (let guard = 0; guard < 10000; guard++) {
    const low = [...adj.keys()].filter((i) => adj[i].size < Math.min(degree, n - 1))
    if (low.length === 0) break
    const a = low[randInt(low.length)]
    const cand = [...adj.keys()].filter((j) => j !== a && !adj[a].has(j))
    const b = cand[randInt(cand.length)]
    adj[a].add(b); adj[b].add(a)
  }
  const edges = []
  for (let a = 0; a < n; a++) for (const b of adj[a]) if (a < b) edges.push(rand() < 0.5 ? [a, b] : [b, a])
  return { adj, edges }
}

// ---- one network -----------------------------------------------------------

const TOPIC = 'lp2p-selftest'
let networkCount = 0

// A network of the --mix in random order on a random graph, or of the given
// types and edges ([dialer, listener] index pairs).
async function startNetwork (tag, extraArgs, layout = null) {
  const t0 = now()
  const types = layout?.types ?? shuffle([...mix])
  const n = types.length
  let graph
  if (layout != null) {
    const adj = Array.from({ length: n }, () => new Set())
    for (const [a, b] of layout.edges) { adj[a].add(b); adj[b].add(a) }
    graph = { adj, edges: layout.edges }
  } else {
    for (let tries = 0; ; tries++) {
      graph = randomGraph(n)
      // want a few edges between different implementations
      const mixed = graph.edges.filter(([a, b]) => types[a] !== types[b]).length
      if (impls.size < 2 || mixed >= Math.min(3, n - 1) || tries > 100) break
    }
  }
  const ports = await freePorts(n, transport === 'quic' ? 'udp' : 'tcp')
  const seeds = types.map((_, i) => 1000 * (++networkCount) + i + 1)
  const idents = types.map((impl, i) => identity(impl, seeds[i]))
  const listen = (i) => transport === 'quic'
    ? `/ip4/127.0.0.1/udp/${ports[i]}/quic-v1`
    : `/ip4/127.0.0.1/tcp/${ports[i]}`
  const addr = (i) => `${listen(i)}/p2p/${idents[i].id}`
  const nodes = types.map((impl, i) => {
    const args = ['--listen', listen(i), ...idents[i].args,
      '--topic', TOPIC, '--events', ...extraArgs]
    for (const [a, b] of graph.edges) if (a === i) args.push('--peer', addr(b))
    return new Node(i, impl, idents[i], args, tag)
  })
  const net = { tag, nodes, graph, types, byId: new Map(nodes.map((x) => [x.expectedId, x])) }
  info(`${tag}: ${nodes.map((x) => x.name).join(' ')}; edges ${graph.edges.map(([a, b]) => `${nodes[a].name}->${nodes[b].name}`).join(' ')}`)

  const name = `${tag}: ${n} nodes start, listen on their ${transport === 'quic' ? 'QUIC ' : ''}port with the peer id of their key`
  const up = await waitFor(() => nodes.every((x) => x.events('listening').length > 0 || x.exit != null), 60000)
  const bad = []
  for (const x of nodes) {
    const l = x.events('listening')[0]
    if (l == null) { bad.push(`${x.name}: no listening line${x.exit ? ` (exited ${JSON.stringify(x.exit)})` : ''}`); continue }
    if (x.lines[0] !== l) bad.push(`${x.name}: listening is not the first line`)
    if (l.peer_id !== x.expectedId) bad.push(`${x.name}: peer id ${l.peer_id}, expected ${x.expectedId}`)
    if (!l.addrs.includes(addr(x.idx))) bad.push(`${x.name}: addrs ${JSON.stringify(l.addrs)} lack ${addr(x.idx)}`)
  }
  if (!up || bad.length > 0) { fail(name, t0, bad.join('; ') || 'timeout'); return net }
  ok(name, t0)

  // The mesh. Usually every graph neighbour ends up in every mesh; but a
  // node whose mesh already has Dlo peers grafts no more, so a neighbour of a
  // node with more than Dlo neighbours may stay out. After 5 s it is enough
  // that every mesh holds only connected peers, at least min(neighbours, 4)
  // of them (4: below every library's Dlo), and that the meshes are
  // symmetric (b in a's mesh exactly when a is in b's). Within 30 s.
  const t1 = now()
  let last = []
  let full = false
  const meshOf = (i) => new Set(last[i].mesh[TOPIC] ?? [])
  const idx = new Map(nodes.map((x, i) => [x.expectedId, i]))
  const meshed = await waitFor(async () => {
    last = await Promise.all(nodes.map((x) => x.stats()))
    full = nodes.every((x, i) => [...graph.adj[i]].every((j) => meshOf(i).has(nodes[j].expectedId)))
    if (full) return true
    if (now() - t1 < 5000) return false
    return nodes.every((x, i) => {
      const m = meshOf(i)
      const connected = new Set(last[i].connected)
      return m.size >= Math.min(graph.adj[i].size, 4) &&
        [...m].every((p) => connected.has(p) && idx.has(p) && meshOf(idx.get(p)).has(x.expectedId))
    })
  }, 30000, 300)
  const sizes = last.map((s, i) => `${nodes[i].name}:${(s.mesh[TOPIC] ?? []).length}/${graph.adj[i].size}`).join(' ')
  const label = `${tag}: meshes formed, symmetric, each with min(neighbours, 4) peers or more`
  if (meshed) ok(label, t1, `[mesh/neighbours ${sizes}${full ? '' : ', not every neighbour'}]`)
  else fail(label, t1, `mesh/neighbours ${sizes}`)

  // Peers of other implementations in the meshes: for every ordered pair of
  // implementations (a, b), some node of a has a peer of b in its mesh.
  if (impls.size > 1) {
    const t2 = now()
    const cross = new Map() // "a->b" -> count of nodes of a with some b in mesh
    for (let i = 0; i < n; i++) {
      const mesh = meshOf(i)
      for (const other of new Set(types)) {
        if (other === types[i]) continue
        if ([...mesh].some((p) => net.byId.get(p)?.impl === other)) {
          cross.set(`${types[i]}->${other}`, (cross.get(`${types[i]}->${other}`) ?? 0) + 1)
        }
      }
    }
    const crossEdges = graph.edges.filter(([a, b]) => types[a] !== types[b])
    const crossMesh = crossEdges.filter(([a, b]) => meshOf(a).has(nodes[b].expectedId)).length
    const want = []
    for (const a of new Set(types)) for (const b of new Set(types)) if (a !== b) want.push(`${a}->${b}`)
    const lacking = want.filter((k) => !cross.has(k))
    const desc = want.map((k) => `${k}:${cross.get(k) ?? 0}`).join(' ') + `; mesh links on ${crossMesh} of ${crossEdges.length} cross edges`
    if (lacking.length === 0) ok(`${tag}: nodes hold peers of the other implementations in their meshes`, t2, `[nodes with such a mesh peer ${desc}]`)
    else fail(`${tag}: nodes hold peers of the other implementations in their meshes`, t2, desc)
  }
  return net
}

// Publishes count messages of size bytes from each of the publishers, then
// checks delivery. payload(i, k) gives the bytes.
async function round (net, name, publishers, count, size, { hex, binary, nosign, timeoutMs }) {
  const t0 = now()
  const { nodes } = net
  const sent = [] // { node, data (Buffer) }
  for (const p of publishers) {
    for (let k = 0; k < count; k++) {
      let data
      if (binary) {
        data = randomBytes(size)
      } else {
        const head = `${net.tag}/${name}/${p.name}/${k}/`
        data = Buffer.from(head + randomBytes(size).toString('base64').slice(0, size - head.length))
      }
      sent.push({ node: p, data, key: data.toString('hex') })
      p.write(hex ? data.toString('hex') : data.toString('latin1'))
    }
  }
  const keyOf = (m) => m.data_hex ?? Buffer.from(m.data, 'utf8').toString('hex')
  const want = new Map(sent.map((s) => [s.key, s]))
  const got = () => nodes.map((x) => {
    const m = new Map()
    for (const l of x.events('message')) {
      const k = keyOf(l)
      if (!want.has(k)) continue
      if (!m.has(k)) m.set(k, [])
      m.get(k).push(l)
    }
    return m
  })
  const complete = () => got().every((m, i) => sent.every((s) => s.node === nodes[i] || m.has(s.key)))
  const delivered = await waitFor(complete, timeoutMs)
  await sleep(300) // let any duplicate show up
  const g = got()
  const problems = []
  const errors = nodes.flatMap((x) => x.events('publish_error').map((e) => `${x.name}: publish_error ${e.error}`))
  problems.push(...errors)
  let own = 0
  const ids = new Map() // key -> Set of ids seen
  for (let i = 0; i < nodes.length; i++) {
    for (const s of sent) {
      const ms = g[i].get(s.key) ?? []
      if (s.node === nodes[i]) {
        own += ms.length
        if (ms.length > 1) problems.push(`${nodes[i].name} delivered its own message ${ms.length} times`)
      } else if (ms.length !== 1) {
        problems.push(`${nodes[i].name} delivered ${s.node.name}'s message ${ms.length} times`)
      }
      for (const m of ms) {
        const family = rustIds.has(nodes[i].impl) ? 'rust' : 'go'
        if (!ids.has(s.key)) ids.set(s.key, { rust: new Set(), go: new Set() })
        ids.get(s.key)[family].add(m.id)
        if (m.topic !== TOPIC) problems.push(`${nodes[i].name}: topic ${m.topic}`)
        if (nosign) {
          if (m.from !== '' || m.seqno !== '') problems.push(`${nodes[i].name}: from/seqno ${m.from}/${m.seqno} under StrictNoSign`)
          const h = createHash('sha256').update(s.data).digest('hex')
          if (m.id !== h) problems.push(`${nodes[i].name}: id ${m.id.slice(0, 16)}.. is not sha256(data) ${h.slice(0, 16)}..`)
        } else {
          if (m.from !== s.node.expectedId) problems.push(`${nodes[i].name}: from ${m.from}, expected ${s.node.expectedId}`)
          if (!/^[0-9]+$/.test(m.seqno)) problems.push(`${nodes[i].name}: seqno ${m.seqno}`)
          // rust-libp2p's own default id: base58 peer id ‖ decimal seqno, as text
          if (rustIds.has(nodes[i].impl)) {
            const expect = Buffer.from(s.node.expectedId + m.seqno).toString('hex')
            if (m.id !== expect) problems.push(`${nodes[i].name}: id ${m.id.slice(0, 20)}.. is not rust's base58(from) ‖ decimal seqno ${expect.slice(0, 20)}..`)
          } else if (/^[0-9]+$/.test(m.seqno)) {
            // default id: from (the peer id's multihash bytes) ‖ seqno (8 bytes, big endian)
            const expect = s.node.idBytes.toString('hex') + BigInt(m.seqno).toString(16).padStart(16, '0')
            if (m.id !== expect) problems.push(`${nodes[i].name}: id ${m.id.slice(0, 20)}.. is not from ‖ seqno ${expect.slice(0, 20)}..`)
          }
        }
        if (!!binary !== (m.data_hex != null)) problems.push(`${nodes[i].name}: ${binary ? 'binary data printed as text' : 'text printed as data_hex'}`)
      }
    }
  }
  for (const [k, fam] of ids) {
    for (const set of [fam.go, fam.rust]) if (set.size > 1) problems.push(`message ${k.slice(0, 16)}.. has ${set.size} different ids: ${[...set].map((x) => x.slice(0, 20)).join(' ')}`)
    if ([...fam.rust].some((id) => fam.go.has(id))) problems.push(`message ${k.slice(0, 16)}..: rust's default id equals from ‖ seqno`)
  }
  const total = sent.length * (nodes.length - 1)
  const label = `${net.tag}: ${name}: ${sent.length} messages of ${size} B from ${publishers.map((p) => p.name).join(',')} reach every other node exactly once`
  if (!delivered) problems.unshift(`not all delivered within ${timeoutMs} ms`)
  if (problems.length === 0) ok(label, t0, `[${total} deliveries, ${own} own messages delivered back]`)
  else fail(label, t0, problems.slice(0, 8).join('; ') + (problems.length > 8 ? `; ... (${problems.length})` : ''))
}

// IDONTWANT counted between implementations, as the difference of two stats
// snapshots: sent as counted by the sender, received as counted by the
// receiver, per ordered pair of implementations.
function idontwantCheck (net, before, after, t0, label) {
  const { nodes } = net
  const tally = new Map()
  const add = (k, n) => tally.set(k, (tally.get(k) ?? 0) + n)
  for (let i = 0; i < nodes.length; i++) {
    for (const dir of ['idontwant_sent', 'idontwant_received']) {
      for (const [p, n] of Object.entries(after[i][dir] ?? {})) {
        const other = net.byId.get(p)
        if (other == null || other.impl === nodes[i].impl) continue
        const d = n - (before[i][dir]?.[p] ?? 0)
        if (d <= 0) continue
        if (dir === 'idontwant_sent') add(`${nodes[i].impl}->${other.impl} sent`, d)
        else add(`${other.impl}->${nodes[i].impl} received`, d)
      }
    }
  }
  const want = []
  for (const a of new Set(net.types)) {
    for (const b of new Set(net.types)) {
      if (a !== b) want.push(`${a}->${b} sent`, `${a}->${b} received`)
    }
  }
  const desc = want.map((k) => `${k}:${tally.get(k) ?? 0}`).join(' ')
  const lacking = want.filter((k) => !tally.has(k))
  if (lacking.length === 0) ok(label, t0, `[message ids: ${desc}]`)
  else fail(label, t0, `none for ${lacking.join(', ')} [${desc}]`)
}

// IDONTWANT honoured across implementations (--idontwant-saved): for each
// node of such an implementation, the copies not sent to each peer because
// of that peer's IDONTWANT, between two stats snapshots, per ordered pair.
function idontwantSavedCheck (net, before, after, t0, label) {
  const { nodes } = net
  const tally = new Map()
  for (let i = 0; i < nodes.length; i++) {
    if (!idontwantSaved.has(nodes[i].impl)) continue
    for (const [p, n] of Object.entries(after[i].idontwant_saved ?? {})) {
      const other = net.byId.get(p)
      if (other == null || other.impl === nodes[i].impl) continue
      const d = n - (before[i].idontwant_saved?.[p] ?? 0)
      if (d > 0) tally.set(`${nodes[i].impl}->${other.impl}`, (tally.get(`${nodes[i].impl}->${other.impl}`) ?? 0) + d)
    }
  }
  const want = []
  for (const a of new Set(net.types)) {
    if (!idontwantSaved.has(a)) continue
    for (const b of new Set(net.types)) if (a !== b) want.push(`${a}->${b}`)
  }
  const desc = want.map((k) => `${k}:${tally.get(k) ?? 0}`).join(' ')
  const lacking = want.filter((k) => !tally.has(k))
  if (lacking.length === 0) ok(label, t0, `[copies spared: ${desc}]`)
  else fail(label, t0, `no copy spared for ${lacking.join(', ')} [${desc}]`)
}

async function stopNetwork (net) {
  const t0 = now()
  const { nodes } = net
  // a second SIGTERM (to a PX hub still closing) must do no harm
  for (const x of nodes) x.terminate()
  const done = await waitFor(() => nodes.every((x) => x.exit != null), 10000)
  const bad = []
  nodes.forEach((x) => {
    if (x.exit == null) { bad.push(`${x.name} still running`); x.proc.kill('SIGKILL'); return }
    if (x.exit.code !== 0) bad.push(`${x.name} exited ${JSON.stringify(x.exit)}`)
    const tail = x.lines.slice(x.termAt)
    if (tail.length === 0 || tail[tail.length - 1].event !== 'stats') bad.push(`${x.name}: last line is not stats`)
    if (x.badLines.length > 0) bad.push(`${x.name}: ${x.badLines.length} stdout lines are not JSON, e.g. ${x.badLines[0].slice(0, 80)}`)
  })
  const label = `${net.tag}: SIGTERM: final stats line, exit 0`
  if (done && bad.length === 0) ok(label, t0)
  else fail(label, t0, bad.join('; ') || 'timeout')
}

// PX: a hub and one leaf of each implementation, the leaves connected only
// to the hub. The hub leaves (SIGTERM: it unsubscribes, which sends PRUNE
// with PX to its mesh peers); every leaf must print a px event naming the
// other leaves, connect to them and graft them.
async function pxScenario (hubImpl) {
  const leaves = [...impls.keys()]
  const types = [hubImpl, ...leaves]
  const tag = `px-${hubImpl}-hub`
  const f0 = failed
  const net = await startNetwork(tag, ['--sign', 'strict'],
    { types, edges: leaves.map((_, k) => [k + 1, 0]) })
  if (failed === f0) {
    const t0 = now()
    const hub = net.nodes[0]
    const ls = net.nodes.slice(1)
    const before = ls.map((x) => x.lines.length)
    hub.terminate()
    const want = (x) => ls.filter((y) => y !== x).map((y) => y.expectedId)
    const pxOk = (x, i) => x.lines.slice(before[i]).some((l) => l.event === 'px' && l.from === hub.expectedId &&
      l.topic === TOPIC && want(x).every((id) => l.peers.includes(id)))
    const connOk = (x, i) => want(x).every((id) => x.lines.slice(before[i]).some((l) => l.event === 'peer_connected' && l.peer_id === id))
    const graftOk = (x, i) => want(x).every((id) => x.lines.slice(before[i]).some((l) => l.event === 'graft' && l.peer_id === id))
    const bad = []
    if (types.some((t) => pxNoDial.has(t))) {
      // only the PX itself (see --px-no-dial); connections are reported
      await waitFor(() => ls.every((x, i) => pxOk(x, i)), 10000)
      ls.forEach((x, i) => { if (!pxOk(x, i)) bad.push(`${x.name}: no px event from the hub naming the other leaves`) })
      const conns = ls.map((x, i) => `${x.name}:${connOk(x, i) ? 'connected' : 'not connected'}`).join(' ')
      const label = `${tag}: PRUNE with PX from a leaving ${hubImpl} hub: ${ls.map((x) => x.name).join(', ')} get PX naming the other leaves`
      if (bad.length === 0) ok(label, t0, `[to the other leaves: ${conns}]`)
      else fail(label, t0, bad.join('; '))
      await stopNetwork(net)
      return
    }
    await waitFor(() => ls.every((x, i) => pxOk(x, i) && connOk(x, i) && graftOk(x, i)), 10000)
    ls.forEach((x, i) => {
      if (!pxOk(x, i)) bad.push(`${x.name}: no px event from the hub naming the other leaves`)
      else if (!connOk(x, i)) bad.push(`${x.name}: got PX but did not connect to the other leaves`)
      else if (!graftOk(x, i)) bad.push(`${x.name}: connected but did not graft the other leaves`)
    })
    // who dialed whom (both leaves may dial; the first connection's
    // direction is printed): a leaf's dial used the address in the other
    // leaf's signed peer record
    const dials = []
    ls.forEach((x, i) => ls.forEach((y) => {
      if (x !== y && x.lines.slice(before[i]).some((l) => l.event === 'peer_connected' && l.peer_id === y.expectedId && l.direction === 'outbound')) dials.push(`${x.name}->${y.name}`)
    }))
    const label = `${tag}: PRUNE with PX from a leaving ${hubImpl} hub: ${ls.map((x) => x.name).join(', ')} get PX, connect and graft`
    if (bad.length === 0) ok(label, t0, `[dialed from PX: ${dials.join(' ') || 'none seen'}]`)
    else fail(label, t0, bad.join('; '))
  }
  await stopNetwork(net)
}

// ---- main ------------------------------------------------------------------

const tAll = now()
console.log(`gossipsub selftest: mix ${mix.join(',')}, seed ${seed}, ${transport}${[...secp256k1Impls].map((i) => `, ${i} on secp256k1`).join('')}`)

if (scenarios.has('strict')) {
  const f0 = failed
  const net = await startNetwork('strict', ['--sign', 'strict', '--hex'])
  if (failed === f0) {
    await round(net, '1KiB', net.nodes, 2, 1024, { hex: true, timeoutMs: 20000 })
    const pubs = [...new Set(net.types)].map((impl) => net.nodes.find((x) => x.impl === impl))
    const t0 = now()
    const before = await Promise.all(net.nodes.map((x) => x.stats()))
    // a spared copy needs the peer's IDONTWANT to arrive before we forward:
    // with --idontwant-saved, three rounds give it the chance (one at a
    // time: three 500 KiB messages in hex at once overflow a node's 4 MiB
    // output buffer, which drops, as it should)
    const rounds = idontwantSaved.size > 0 ? 3 : 1
    for (let r = 0; r < rounds; r++) {
      await round(net, '500KiB', pubs, 1, 500 * 1024, { hex: true, binary: true, timeoutMs: 30000 })
    }
    await sleep(500)
    const after = await Promise.all(net.nodes.map((x) => x.stats()))
    if (impls.size > 1) idontwantCheck(net, before, after, t0, 'strict: IDONTWANT exchanged between implementations for the 500 KiB messages')
    if (impls.size > 1 && idontwantSaved.size > 0) idontwantSavedCheck(net, before, after, t0, 'strict: IDONTWANT from the other implementations spared copies (the ids match)')
  }
  await stopNetwork(net)
}
if (scenarios.has('nosign')) {
  const f0 = failed
  const net = await startNetwork('nosign', ['--sign', 'none'])
  if (failed === f0) await round(net, '1KiB', net.nodes, 2, 1024, { nosign: true, timeoutMs: 20000 })
  await stopNetwork(net)
}
if (scenarios.has('px')) {
  await Promise.all([...impls.keys()].map((hub) => pxScenario(hub)))
}
// Mutual dials: every node dials every node of another implementation
// (and is dialed by it) at start, so that pairs often end with two
// connections, which go and js keep and may run their pubsub streams on
// either (a node that closed one of them cut the other's stream).
if (scenarios.has('mutual') && impls.size > 1) {
  const names = [...impls.keys()]
  const types = [...names, ...names]
  const edges = []
  types.forEach((a, i) => types.forEach((b, j) => { if (a !== b) edges.push([i, j]) }))
  const f0 = failed
  const net = await startNetwork('mutual', ['--sign', 'strict'], { types, edges })
  if (failed === f0) await round(net, '1KiB', net.nodes, 2, 1024, { timeoutMs: 20000 })
  await stopNetwork(net)
}

console.log(`gossipsub selftest: ${secs(tAll)} s${logDir ? `, node stderr in ${logDir}` : ''}`)
console.log(`${passed} passed, ${failed} failed`)
process.exit(failed === 0 ? 0 : 1)
