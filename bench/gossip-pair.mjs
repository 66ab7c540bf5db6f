// One delivery-rate run of bench/run-node.sh: two GossipSub nodes of one
// implementation on loopback, both following the CLI contract of
// `lp2p node` (tests/interop/gossipsub/README.md), one topic. The receiver
// listens; the publisher dials it. Once each has the other in its mesh
// (graft events) and both sat idle for a moment (their RSS is read then),
// N distinct lines of SIZE bytes are written to the publisher's stdin as
// fast as it reads them, and the receiver counts its deliveries itself
// (--bench: no message lines; a stdout reader would be measured too, and
// go-libp2p-pubsub drops deliveries to a subscriber that lags): this
// script reads the count from the stats line it asks for (SIGUSR1) every
// 50 ms.
// Ends when all N arrived, when nothing arrived for --idle-s seconds after
// the input was all written, or at --timeout-s. Prints one JSON line:
//   sent, published (the publisher's own count, from its last stats line),
//   delivered, seconds (from the first poll that saw a delivery to the one
//   that saw the last), rate (the deliveries between those two polls /
//   seconds),
//   rate_from_start (delivered / (last delivery - first write)),
//   idle_rss_kib, peak_rss_kib and cpu_s of both nodes.
// Node standard library only.
//
//   node bench/gossip-pair.mjs --cmd "CMD" --sign strict|none --messages N
//        [--size BYTES] [--idle-s S] [--timeout-s S] [--work DIR] [--name X]
//
// CMD is a shell command prefix the node arguments are appended to, e.g.
// "build/lp2p node"; it must exec the node (so its pid is the node's).

import { spawn } from 'node:child_process'
import { readFileSync, writeFileSync, mkdirSync, createWriteStream } from 'node:fs'
import { join } from 'node:path'

const opts = { cmd: null, sign: 'strict', messages: 20000, size: 1024, idleS: 5, timeoutS: 180, work: '.', name: 'node' }
const argv = process.argv.slice(2)
while (argv.length > 0) {
  const flag = argv.shift()
  const value = () => {
    if (argv.length === 0) throw new Error(`${flag} needs a value`)
    return argv.shift()
  }
  switch (flag) {
    case '--cmd': opts.cmd = value(); break
    case '--sign': opts.sign = value(); break
    case '--messages': opts.messages = Number(value()); break
    case '--size': opts.size = Number(value()); break
    case '--idle-s': opts.idleS = Number(value()); break
    case '--timeout-s': opts.timeoutS = Number(value()); break
    case '--work': opts.work = value(); break
    case '--name': opts.name = value(); break
    default: throw new Error(`unknown argument ${flag}`)
  }
}
if (!opts.cmd || !(opts.messages > 0) || !(opts.size >= 16)) {
  process.stderr.write('usage: gossip-pair.mjs --cmd CMD --sign strict|none --messages N [--size B]\n')
  process.exit(2)
}
mkdirSync(opts.work, { recursive: true })
const now = () => performance.now() / 1000
const sleep = (s) => new Promise((resolve) => setTimeout(resolve, s * 1000))
const topic = 'bench'

// N distinct printable lines of opts.size bytes (distinct data: under
// StrictNoSign the message id is the SHA-256 of the data).
const input = join(opts.work, `${opts.name}.input`)
{
  const filler = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'.repeat(Math.ceil(opts.size / 62) + 1)
  const stamp = Date.now().toString(36)
  const lines = []
  for (let i = 0; i < opts.messages; i++) {
    const head = `${String(i).padStart(8, '0')}-${stamp}-`
    lines.push(head + filler.slice(i % 62, i % 62 + opts.size - head.length))
  }
  writeFileSync(input, lines.join('\n') + '\n')
}

// A node: its process, stdout split in lines (no message lines: --bench),
// events seen, its delivery count from its last stats line.
function startNode (role, args) {
  const out = createWriteStream(join(opts.work, `${opts.name}.${role}.events`))
  const err = createWriteStream(join(opts.work, `${opts.name}.${role}.err`))
  const child = spawn('sh', ['-c', `exec ${opts.cmd} "$@"`, 'sh', ...args],
    { stdio: ['pipe', 'pipe', 'pipe'] })
  const n = { role, child, pid: child.pid, messages: 0, first: null, firstCount: 0, last: null, lines: [], grafted: false, stats: null, exited: false }
  let rest = null
  child.stdout.on('data', (chunk) => {
    const t = now()
    const buf = rest ? Buffer.concat([rest, chunk]) : chunk
    let start = 0
    for (let nl = buf.indexOf(10); nl >= 0; nl = buf.indexOf(10, start)) {
      {
        const l = buf.toString('utf8', start, nl)
        if (!l.startsWith('{"event":"stats"')) out.write(l + '\n') // for the record
        try {
          const o = JSON.parse(l)
          if (o.event === 'graft' && o.topic === topic) n.grafted = true
          else if (o.event === 'stats') {
            n.stats = o
            const count = o.bench?.delivered ?? 0
            if (count > n.messages) {
              if (n.first == null) { n.first = t; n.firstCount = count }
              n.last = t
              n.messages = count
            }
          }
          if (o.event !== 'stats') n.lines.push(o)
        } catch {}
      }
      start = nl + 1
    }
    rest = start < buf.length ? buf.subarray(start) : null
  })
  child.stderr.pipe(err)
  child.stdin.on('error', () => {}) // EPIPE when it exits first
  n.done = new Promise((resolve) => child.on('exit', () => { n.exited = true; resolve() }))
  return n
}

async function until (what, cond, seconds) {
  const end = now() + seconds
  while (!cond()) {
    if (now() > end) throw new Error(`timeout waiting for ${what}`)
    await sleep(0.05)
  }
}

function procStat (pid) {
  const r = { rss_kib: null, hwm_kib: null, cpu_s: null }
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    r.rss_kib = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN)
    r.hwm_kib = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? NaN)
    // fields after the command name: utime and stime are the 12th and
    // 13th, in clock ticks (100 per second on Linux)
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    r.cpu_s = (Number(f[11]) + Number(f[12])) / 100
  } catch {}
  return r
}

async function stopNode (n) {
  if (n.exited) return
  n.child.kill('SIGTERM')
  await Promise.race([n.done, sleep(10)])
  if (!n.exited) n.child.kill('SIGKILL')
  await n.done
}

// --bench on both: no message lines (go's publisher would print its own)
const common = ['--topic', topic, '--sign', opts.sign, '--events', '--bench', '--listen', '/ip4/127.0.0.1/tcp/0']
const result = { name: opts.name, sign: opts.sign, size: opts.size, sent: opts.messages }
let recv = null
let pub = null
try {
  recv = startNode('receiver', [...common, '--key-seed', '1'])
  await until('the receiver to listen', () => recv.lines.some((o) => o.event === 'listening') || recv.exited, 60)
  const addr = recv.lines.find((o) => o.event === 'listening')?.addrs?.[0]
  if (addr == null) throw new Error('the receiver did not start')
  pub = startNode('publisher', [...common, '--key-seed', '2', '--peer', addr])
  await until('the mesh', () => (recv.grafted && pub.grafted) || recv.exited || pub.exited, 60)
  if (recv.exited || pub.exited) throw new Error('a node exited')
  await sleep(2)
  // the receiver's count, read from its stats line
  const poll = setInterval(() => { if (!recv.exited) recv.child.kill('SIGUSR1') }, 50)
  const idleR = procStat(recv.pid)
  const idleP = procStat(pub.pid)
  result.idle_rss_kib = { receiver: idleR.rss_kib, publisher: idleP.rss_kib }

  // cat writes the input into the publisher's stdin pipe, as fast as the
  // publisher reads it, without passing through this process.
  const t0 = now()
  let written = null
  const feed = spawn('cat', [input], { stdio: ['ignore', pub.child.stdin, 'inherit'] })
  feed.on('exit', () => { written = now() })
  const deadline = t0 + opts.timeoutS
  while (recv.messages < opts.messages && now() < deadline && !recv.exited && !pub.exited) {
    if (written != null && now() - Math.max(written, recv.last ?? 0) > opts.idleS) break
    await sleep(0.05)
  }
  clearInterval(poll)
  result.timed_out = now() >= deadline
  result.input_written_s = written == null ? null : Math.round((written - t0) * 1000) / 1000
  const endR = procStat(recv.pid)
  const endP = procStat(pub.pid)
  result.peak_rss_kib = { receiver: endR.hwm_kib, publisher: endP.hwm_kib }
  result.cpu_s = {
    receiver: Math.round((endR.cpu_s - idleR.cpu_s) * 100) / 100,
    publisher: Math.round((endP.cpu_s - idleP.cpu_s) * 100) / 100
  }
  result.delivered = recv.messages
  const span = recv.messages > 1 ? recv.last - recv.first : null
  result.seconds = span == null ? null : Math.round(span * 1000) / 1000
  result.rate = span ? Math.round((recv.messages - recv.firstCount) / span) : null
  result.rate_from_start = recv.last ? Math.round(recv.messages / (recv.last - t0)) : null
  feed.kill()
  pub.child.stdin.destroy()
} catch (err) {
  result.error = err.message
} finally {
  await Promise.all([pub, recv].filter(Boolean).map(stopNode))
}
result.published = pub?.stats?.published ?? null
result.delivered_receiver_stats = recv?.stats?.bench?.delivered ?? null
const self = process.cpuUsage()
result.driver_cpu_s = Math.round((self.user + self.system) / 1e4) / 100
result.delivery_ratio = result.delivered == null ? null : Math.round(result.delivered / opts.messages * 10000) / 10000
console.log(JSON.stringify(result))
process.exit(result.error ? 1 : 0)
