// Command gsnode is the go-libp2p-pubsub reference GossipSub node of lp2p's
// mixed-network interop tests. It implements the CLI and JSON line contract
// shared with tests/interop/gossipsub/js/gsnode.mjs and `lp2p node` (the
// contract is written out in tests/interop/gossipsub/README.md):
//
//	gsnode [--listen MA]... [--peer MA]... [--topic T]... [--key-seed N]
//	       [--sign strict|none] [--msg-id default|sha256] [--params FILE]
//	       [--hex] [--events] [--flood-publish on|off] [--mesh-interval-ms N]
//	       [--counters] [--bench] [--test-extension]
//
// One JSON object per stdout line; diagnostics on stderr. Each stdin line is
// published to the first topic; SIGUSR1 prints a stats line; SIGINT/SIGTERM
// print a final stats line, leave the topics (PRUNE to mesh peers) and exit 0.
//
// go-libp2p-pubsub delivers a node's own publishes to its own subscription,
// so this node prints a "message" line for each of its own messages too
// (js-libp2p-gossipsub with emitSelf false, and lp2p, do not).
//
// Peer scoring is not enabled: every peer scores 0, so no peer is ever
// graylisted or refused, and PX is accepted from every peer (go's
// AcceptPXThreshold is 0 without WithPeerScore).
package main

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/big"
	"os"
	"os/signal"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/libp2p/go-libp2p"
	mplex "github.com/libp2p/go-libp2p-mplex"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-libp2p/p2p/muxer/yamux"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	libp2pquic "github.com/libp2p/go-libp2p/p2p/transport/quic"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	ma "github.com/multiformats/go-multiaddr"
)

// ---- output ----------------------------------------------------------------

var (
	listened bool   // the listening line is out (under outMu)
	held     []byte // lines emitted before it (under outMu)
	outMu    sync.Mutex
	closed   bool // after the final stats line nothing more is printed
)

// emit writes one JSON line. os.Stdout is unbuffered: each line leaves in one
// write, so a reader sees it at once.
func emit(v map[string]any) {
	outMu.Lock()
	defer outMu.Unlock()
	if closed {
		return
	}
	line, _ := json.Marshal(v)
	line = append(line, '\n')
	// The listening line is the first: a peer may connect (or a message
	// arrive) while pubsub is still being set up, before it is printed.
	if !listened && v["event"] != "listening" {
		held = append(held, line...)
		return
	}
	os.Stdout.Write(line)
	if !listened {
		listened = true
		os.Stdout.Write(held)
		held = nil
	}
}

func logf(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "gsnode: "+format+"\n", a...)
}

func usage(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "gsnode: "+format+"\n", a...)
	fmt.Fprintln(os.Stderr, "usage: gsnode [--listen MA]... [--peer MA]... [--topic T]... [--key-seed N]\n"+
		"              [--sign strict|none] [--msg-id default|sha256] [--params FILE] [--hex]\n"+
		"              [--events] [--flood-publish on|off] [--mesh-interval-ms N] [--counters] [--bench]\n"+
		"              [--test-extension]")
	os.Exit(2)
}

// ---- arguments -------------------------------------------------------------

type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(s string) error { *m = append(*m, s); return nil }

type options struct {
	listen, peers, topics multi
	seed                  int64 // -1: random identity
	sign                  string
	msgID                 string
	paramsFile            string
	hex, events           bool
	counters              bool // stats lines carry go's RPC error and drop counts
	bench                 bool // no message lines; counts and latency (bench.go)
	floodPublish          bool
	meshIntervalMs        int64 // 0: not given
	testExtension         bool  // advertise gossipsub v1.3's test extension
}

func parseArgs() options {
	var o options
	fs := flag.NewFlagSet("gsnode", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Var(&o.listen, "listen", "")
	fs.Var(&o.peers, "peer", "")
	fs.Var(&o.topics, "topic", "")
	seed := fs.String("key-seed", "", "")
	fs.StringVar(&o.sign, "sign", "strict", "")
	fs.StringVar(&o.msgID, "msg-id", "default", "")
	fs.StringVar(&o.paramsFile, "params", "", "")
	fs.BoolVar(&o.hex, "hex", false, "")
	fs.BoolVar(&o.events, "events", false, "")
	fs.BoolVar(&o.counters, "counters", false, "")
	fs.BoolVar(&o.bench, "bench", false, "")
	fs.BoolVar(&o.testExtension, "test-extension", false, "")
	flood := fs.String("flood-publish", "off", "")
	mi := fs.String("mesh-interval-ms", "", "")
	if err := fs.Parse(os.Args[1:]); err != nil {
		usage("%v", err)
	}
	if fs.NArg() != 0 {
		usage("unexpected argument %q", fs.Arg(0))
	}
	if len(o.listen) == 0 {
		o.listen = multi{"/ip4/127.0.0.1/tcp/0"}
	}
	o.seed = -1
	if *seed != "" {
		n, err := strconv.ParseUint(*seed, 10, 32)
		if err != nil {
			usage("bad --key-seed %q (0..4294967295)", *seed)
		}
		o.seed = int64(n)
	}
	if o.sign != "strict" && o.sign != "none" {
		usage("bad --sign %q", o.sign)
	}
	if o.msgID != "default" && o.msgID != "sha256" {
		usage("bad --msg-id %q", o.msgID)
	}
	switch *flood {
	case "on":
		o.floodPublish = true
	case "off":
	default:
		usage("bad --flood-publish %q", *flood)
	}
	if *mi != "" {
		n, err := strconv.ParseInt(*mi, 10, 64)
		if err != nil || n <= 0 {
			usage("bad --mesh-interval-ms %q", *mi)
		}
		o.meshIntervalMs = n
	}
	return o
}

// wantsQUIC: the transport is chosen from the addresses, as `lp2p node`
// does; QUIC v1 is on when a --listen or --peer address is
// /udp/P/quic-v1 (TCP always is), so TCP networks run as before.
func wantsQUIC(o options) bool {
	for _, list := range []multi{o.listen, o.peers} {
		for _, a := range list {
			m, err := ma.NewMultiaddr(a)
			if err != nil {
				continue // libp2p.New or the dial reports it
			}
			if _, err := m.ValueForProtocol(ma.P_QUIC_V1); err == nil {
				return true
			}
		}
	}
	return false
}

// loadParams reads a JSON object of GossipSubParams fields (go's own field
// names; durations in nanoseconds) over the defaults. An unknown field is an
// error, so that a typo does not silently leave a default in place.
func loadParams(path string) (pubsub.GossipSubParams, error) {
	p := pubsub.DefaultGossipSubParams()
	if path == "" {
		return p, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return p, err
	}
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return p, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

// ---- identity --------------------------------------------------------------

// identity derives the Ed25519 key from the seed convention of the
// gossipsub-interop harness (N as little-endian uint32, then zeros), as the
// host interop peers and the js gsnode do, or makes a random one.
func identity(seed int64) (crypto.PrivKey, error) {
	if seed < 0 {
		k, _, err := crypto.GenerateEd25519Key(nil)
		return k, err
	}
	var s [ed25519.SeedSize]byte
	binary.LittleEndian.PutUint32(s[:4], uint32(seed))
	return crypto.UnmarshalEd25519PrivateKey(ed25519.NewKeyFromSeed(s[:]))
}

func libp2pVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, m := range bi.Deps {
			if m.Path == "github.com/libp2p/go-libp2p-pubsub" {
				return m.Version
			}
		}
	}
	return "unknown"
}

// ---- state shared by the tracer, the notifiee and the stats ---------------

type state struct {
	mu        sync.Mutex
	self      peer.ID
	events    bool
	mesh      map[string]map[peer.ID]struct{} // our view, kept from the tracer
	conns     map[peer.ID]int                 // open connections per peer
	idwSent   map[peer.ID]int                 // IDONTWANT message ids sent, per peer
	idwRecv   map[peer.ID]int                 // IDONTWANT message ids received, per peer
	published int
	delivered int
	topics    []string
	ctr       *counters // --counters, else nil
	bench     *bench    // --bench, else nil
	// --test-extension: peers whose TestExtension RPC arrived (reported
	// once each); nil without the flag
	testExtSeen map[peer.ID]bool
}

func newState(self peer.ID, events bool, topics []string) *state {
	s := &state{
		self: self, events: events,
		mesh:    make(map[string]map[peer.ID]struct{}),
		conns:   make(map[peer.ID]int),
		idwSent: make(map[peer.ID]int),
		idwRecv: make(map[peer.ID]int),
		topics:  topics,
	}
	for _, t := range topics {
		s.mesh[t] = make(map[peer.ID]struct{})
	}
	return s
}

func (s *state) event(v map[string]any) {
	if s.events {
		emit(v)
	}
}

// graft and prune keep our copy of the mesh (go-libp2p-pubsub has no public
// accessor for it) and print an event only when the membership changes: go
// calls the tracer's Prune for every PRUNE received on a joined topic, even
// from a peer that was not in the mesh.
// testExtension reports a peer's TestExtension RPC, once per peer. It is
// found in the RPCs the tracer sees rather than by go's
// OnReceiveTestExtension, which v0.19 calls on every RPC of a peer that
// advertised the extension, whether it carries a TestExtension or not: the
// line must prove that the peer sent one.
func (s *state) testExtension(p peer.ID) {
	s.mu.Lock()
	seen := s.testExtSeen == nil || s.testExtSeen[p]
	if !seen {
		s.testExtSeen[p] = true
	}
	s.mu.Unlock()
	if !seen {
		s.event(map[string]any{"event": "test_extension", "peer_id": p.String()})
	}
}

func (s *state) graft(p peer.ID, topic string) {
	s.mu.Lock()
	m := s.mesh[topic]
	if m == nil {
		m = make(map[peer.ID]struct{})
		s.mesh[topic] = m
	}
	_, had := m[p]
	m[p] = struct{}{}
	s.mu.Unlock()
	if !had {
		s.event(map[string]any{"event": "graft", "peer_id": p.String(), "topic": topic})
	}
}

func (s *state) prune(p peer.ID, topic string) {
	s.mu.Lock()
	_, had := s.mesh[topic][p]
	delete(s.mesh[topic], p)
	s.mu.Unlock()
	if had {
		s.event(map[string]any{"event": "prune", "peer_id": p.String(), "topic": topic})
	}
}

// removePeer: go drops a peer from every mesh when its pubsub stream closes,
// without calling the tracer's Prune.
func (s *state) removePeer(p peer.ID) {
	s.mu.Lock()
	var topics []string
	for t, m := range s.mesh {
		if _, ok := m[p]; ok {
			delete(m, p)
			topics = append(topics, t)
		}
	}
	s.mu.Unlock()
	sort.Strings(topics)
	for _, t := range topics {
		s.event(map[string]any{"event": "prune", "peer_id": p.String(), "topic": t})
	}
}

func countIDs(ids []*pb.ControlIDontWant) int {
	n := 0
	for _, x := range ids {
		n += len(x.GetMessageIDs())
	}
	return n
}

func (s *state) stats(h host.Host) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	mesh := make(map[string]any)
	for _, t := range s.topics {
		l := make([]string, 0, len(s.mesh[t]))
		for p := range s.mesh[t] {
			l = append(l, p.String())
		}
		sort.Strings(l)
		mesh[t] = l
	}
	connected := make([]string, 0)
	for _, p := range h.Network().Peers() {
		connected = append(connected, p.String())
	}
	sort.Strings(connected)
	counts := func(m map[peer.ID]int) map[string]int {
		out := make(map[string]int)
		for p, n := range m {
			out[p.String()] = n
		}
		return out
	}
	v := map[string]any{
		"event":              "stats",
		"peer_id":            s.self.String(),
		"mesh":               mesh,
		"connected":          connected,
		"idontwant_sent":     counts(s.idwSent),
		"idontwant_received": counts(s.idwRecv),
		"published":          s.published,
		"delivered":          s.delivered,
	}
	if s.ctr != nil {
		v["counters"] = s.ctr.json()
	}
	if s.bench != nil {
		v["bench"] = s.bench.json()
	}
	return v
}

// ---- the RawTracer ---------------------------------------------------------

// tracer sees the router's mesh changes and every RPC sent and received.
// go-libp2p-pubsub calls it from its event loop (SendRPCCompleted from the
// writers), so it only takes the state's lock and never blocks.
type tracer struct{ s *state }

func (t tracer) OnNewOutboundStream(p peer.ID, proto protocol.ID) {
	logf("pubsub stream to %s: %s", p, proto)
}
func (t tracer) OnClosedOutboundStream(p peer.ID) { t.s.removePeer(p) }
func (t tracer) Join(topic string)                {}
func (t tracer) Leave(topic string)               {}
func (t tracer) Graft(p peer.ID, topic string)    { t.s.graft(p, topic) }
func (t tracer) Prune(p peer.ID, topic string)    { t.s.prune(p, topic) }
func (t tracer) ValidateMessage(*pubsub.Message)  {}
func (t tracer) DeliverMessage(m *pubsub.Message) {
	if t.s.ctr != nil {
		t.s.ctr.delivered(m, t.s.self)
	}
}
func (t tracer) DuplicateMessage(*pubsub.Message) {}
func (t tracer) ThrottlePeer(p peer.ID)           { logf("throttled peer %s", p) }
func (t tracer) DropRPC(rpc *pubsub.RPC, p peer.ID) {
	if t.s.ctr != nil {
		t.s.ctr.add(p.String(), kindDroppedRPC, 1)
		return // counted: one line per drop would flood stderr under load
	}
	logf("dropped an RPC to %s (queue full?)", p)
}
func (t tracer) RejectMessage(m *pubsub.Message, reason string) {
	// Our own messages coming back are ignored as a matter of course.
	if reason != pubsub.RejectSelfOrigin {
		logf("rejected a message from %s: %s", m.ReceivedFrom, reason)
		if t.s.ctr != nil {
			t.s.ctr.reject(reason)
		}
	}
}
func (t tracer) UndeliverableMessage(*pubsub.Message) {
	logf("a message could not be delivered: subscription buffer full")
	if t.s.ctr != nil {
		t.s.ctr.lostDelivery()
	}
}
func (t tracer) SendRPCCompleted(*pubsub.RPC, peer.ID, time.Duration) {}

// SendRPC is called when an RPC is queued for a peer (after go splits an
// oversized one); IDONTWANT goes in its own urgent RPC.
func (t tracer) SendRPC(rpc *pubsub.RPC, p peer.ID) {
	if t.s.ctr != nil {
		t.s.ctr.sent(rpc, p)
	}
	if n := countIDs(rpc.GetControl().GetIdontwant()); n > 0 {
		t.s.mu.Lock()
		t.s.idwSent[p] += n
		t.s.mu.Unlock()
	}
}

func (t tracer) RecvRPC(rpc *pubsub.RPC) {
	from := rpc.From()
	ctl := rpc.GetControl()
	if rpc.GetTestExtension() != nil {
		t.s.testExtension(from)
	}
	if t.s.ctr != nil {
		t.s.ctr.received(rpc)
	}
	if n := countIDs(ctl.GetIdontwant()); n > 0 {
		t.s.mu.Lock()
		t.s.idwRecv[from] += n
		t.s.mu.Unlock()
	}
	for _, pr := range ctl.GetPrune() {
		if len(pr.GetPeers()) == 0 {
			continue
		}
		ids := make([]string, 0, len(pr.GetPeers()))
		for _, pi := range pr.GetPeers() {
			if id, err := peer.IDFromBytes(pi.GetPeerID()); err == nil {
				ids = append(ids, id.String())
			} else {
				ids = append(ids, "invalid:"+hex.EncodeToString(pi.GetPeerID()))
			}
		}
		t.s.event(map[string]any{"event": "px", "from": from.String(), "topic": pr.GetTopicID(), "peers": ids})
	}
}

// ---- connection events -----------------------------------------------------

func watchConns(h host.Host, s *state) {
	h.Network().Notify(&network.NotifyBundle{
		ConnectedF: func(_ network.Network, c network.Conn) {
			p := c.RemotePeer()
			s.mu.Lock()
			s.conns[p]++
			first := s.conns[p] == 1
			s.mu.Unlock()
			if first {
				dir := "inbound"
				if c.Stat().Direction == network.DirOutbound {
					dir = "outbound"
				}
				s.event(map[string]any{"event": "peer_connected", "peer_id": p.String(), "direction": dir})
			}
		},
		DisconnectedF: func(_ network.Network, c network.Conn) {
			p := c.RemotePeer()
			s.mu.Lock()
			s.conns[p]--
			last := s.conns[p] <= 0
			if last {
				delete(s.conns, p)
			}
			s.mu.Unlock()
			if last {
				s.event(map[string]any{"event": "peer_disconnected", "peer_id": p.String()})
			}
		},
	})
}

// dial connects to one --peer, retrying every 250 ms for up to 20 s: the
// peers of a test start at the same time, so the remote may not listen yet
// (a js node needs 1-3 s to start, more than 5 s on a loaded machine). Each
// retry skips the swarm's dial backoff, which would otherwise refuse the
// address for a while after the first failure.
const dialRetryWindow = 20 * time.Second

func dial(ctx context.Context, h host.Host, addr string) {
	m, err := ma.NewMultiaddr(addr)
	if err != nil {
		logf("bad --peer %s: %v", addr, err)
		return
	}
	ai, err := peer.AddrInfoFromP2pAddr(m)
	if err != nil {
		logf("bad --peer %s: %v", addr, err)
		return
	}
	deadline := time.Now().Add(dialRetryWindow)
	for attempt := 1; ; attempt++ {
		dctx, cancel := context.WithTimeout(network.WithForceDirectDial(ctx, "gsnode retry"), 5*time.Second)
		err = h.Connect(dctx, *ai)
		cancel()
		if err == nil {
			return
		}
		if ctx.Err() != nil || time.Now().After(deadline) {
			logf("dial %s failed after %d attempts: %v", addr, attempt, err)
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// ---- messages --------------------------------------------------------------

func sha256ID(m *pb.Message) string {
	h := sha256.Sum256(m.GetData())
	return string(h[:])
}

func messageEvent(msg *pubsub.Message, id string) map[string]any {
	m := msg.Message // the wire fields (pubsub.Message.GetFrom is a peer.ID)
	v := map[string]any{
		"event": "message",
		"topic": m.GetTopic(),
		"from":  "",
		"seqno": "",
		"id":    hex.EncodeToString([]byte(id)),
	}
	if len(m.GetFrom()) > 0 {
		if p, err := peer.IDFromBytes(m.GetFrom()); err == nil {
			v["from"] = p.String()
		}
	}
	if len(m.GetSeqno()) > 0 {
		v["seqno"] = new(big.Int).SetBytes(m.GetSeqno()).String()
	}
	if utf8.Valid(m.GetData()) {
		v["data"] = string(m.GetData())
	} else {
		v["data_hex"] = hex.EncodeToString(m.GetData())
	}
	return v
}

func readSubscription(ctx context.Context, sub *pubsub.Subscription, s *state, idFn func(*pb.Message) string) {
	for {
		m, err := sub.Next(ctx)
		if err != nil {
			return
		}
		id := m.ID
		if id == "" {
			id = idFn(m.Message)
		}
		if s.bench != nil {
			// go delivers our own publishes to us too; the benchmark
			// counts the deliveries to the other nodes only.
			if m.ReceivedFrom != s.self {
				s.bench.record(m.GetData())
			}
			continue
		}
		s.mu.Lock()
		s.delivered++
		s.mu.Unlock()
		emit(messageEvent(m, id))
	}
}

// publishStdin publishes each stdin line to the first topic; EOF only stops
// the reading.
func publishStdin(ctx context.Context, t *pubsub.Topic, s *state, hexIn bool) {
	r := bufio.NewReaderSize(os.Stdin, 1<<20)
	for {
		line, err := r.ReadBytes('\n')
		if len(line) > 0 && line[len(line)-1] == '\n' {
			line = line[:len(line)-1]
		} else if err != nil && len(line) == 0 {
			if err != io.EOF {
				logf("stdin: %v", err)
			}
			return
		}
		publishLine(ctx, t, s, hexIn, line)
		if err != nil {
			return
		}
	}
}

func publishLine(ctx context.Context, t *pubsub.Topic, s *state, hexIn bool, line []byte) {
	data := line
	if hexIn {
		d, err := hex.DecodeString(strings.TrimSpace(string(line)))
		if err != nil {
			emit(map[string]any{"event": "publish_error", "error": "bad hex: " + err.Error()})
			return
		}
		data = d
	}
	// go-libp2p-pubsub does not fail when no peer is subscribed: the message
	// goes to whichever peers it has (maybe none).
	if err := t.Publish(ctx, data); err != nil {
		emit(map[string]any{"event": "publish_error", "error": err.Error()})
		return
	}
	s.mu.Lock()
	s.published++
	s.mu.Unlock()
}

// ---- main ------------------------------------------------------------------

func main() {
	if len(os.Args) > 1 && os.Args[1] == "interop" {
		os.Exit(runInterop(os.Args[2:])) // interop.go
	}
	// Signals first: SIGUSR1's default action kills a Go program, and a test
	// may send one as soon as it reads the listening line.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGUSR1, syscall.SIGINT, syscall.SIGTERM)

	o := parseArgs()
	params, err := loadParams(o.paramsFile)
	if err != nil {
		usage("--params: %v", err)
	}
	if o.meshIntervalMs > 0 {
		params.HeartbeatInterval = time.Duration(o.meshIntervalMs) * time.Millisecond
	}

	key, err := identity(o.seed)
	if err != nil {
		logf("%v", err)
		os.Exit(1)
	}
	hostOpts := []libp2p.Option{
		libp2p.Identity(key),
		// Naming transport, security and muxers replaces go-libp2p's
		// defaults (QUIC, TLS, WebTransport, ...): only what lp2p speaks
		// is offered.
		libp2p.Transport(tcp.NewTCPTransport),
		libp2p.Security(noise.ID, noise.New),
		libp2p.Muxer(yamux.ID, yamux.DefaultTransport),
		libp2p.Muxer(mplex.ID, mplex.DefaultTransport),
		libp2p.ListenAddrStrings(o.listen...),
		libp2p.UserAgent("lp2p-interop-gsnode-go/" + libp2pVersion()),
		libp2p.Ping(true),
		libp2p.DisableRelay(),
		libp2p.DisableMetrics(),
	}
	if wantsQUIC(o) {
		// QUIC v1 brings its own libp2p TLS and streams (the security and
		// muxer options above do not apply to it)
		hostOpts = append(hostOpts, libp2p.Transport(libp2pquic.NewTransport))
	}
	h, err := libp2p.New(hostOpts...)
	if err != nil {
		logf("%v", err)
		os.Exit(1)
	}

	ctx, cancel := context.WithCancel(context.Background())
	s := newState(h.ID(), o.events, o.topics)
	if o.counters {
		s.ctr = newCounters()
	}
	if o.bench {
		s.bench = &bench{}
	}
	watchConns(h, s)

	// Message ids: "default" is go's DefaultMsgIdFn, from ‖ seqno (the raw
	// peer id bytes, then the 8 seqno bytes); under StrictNoSign there is no
	// from or seqno (DefaultMsgIdFn would give every message the id ""), so
	// the id is sha2-256 of the data, as with --msg-id sha256.
	idFn := pubsub.DefaultMsgIdFn
	psOpts := []pubsub.Option{
		pubsub.WithGossipSubParams(params),
		pubsub.WithPeerExchange(true),
		pubsub.WithFloodPublish(o.floodPublish),
		pubsub.WithRawTracer(tracer{s}),
	}
	if o.testExtension {
		// go sends its TestExtension once both sides advertised the
		// extension; the peer's is reported from the tracer (testExtension)
		s.testExtSeen = make(map[peer.ID]bool)
		psOpts = append(psOpts, pubsub.WithTestExtension(pubsub.TestExtensionConfig{}))
	}
	if s.ctr != nil {
		l := newCountingLogger(s.ctr)
		psOpts = append(psOpts, pubsub.WithLogger(l), pubsub.WithRPCLogger(l))
	}
	if o.sign == "none" {
		// StrictNoSign alone still stamps from and seqno on our messages
		// (unsigned), which StrictNoSign receivers reject; WithNoAuthor
		// leaves them out.
		psOpts = append(psOpts,
			pubsub.WithMessageSignaturePolicy(pubsub.StrictNoSign),
			pubsub.WithNoAuthor())
	} else {
		psOpts = append(psOpts, pubsub.WithMessageSignaturePolicy(pubsub.StrictSign))
	}
	if o.msgID == "sha256" || o.sign == "none" {
		idFn = sha256ID
		psOpts = append(psOpts, pubsub.WithMessageIdFn(sha256ID))
	}
	ps, err := pubsub.NewGossipSub(ctx, h, psOpts...)
	if err != nil {
		logf("%v", err)
		os.Exit(1)
	}

	var topics []*pubsub.Topic
	var subs []*pubsub.Subscription
	for _, name := range o.topics {
		t, err := ps.Join(name)
		if err != nil {
			logf("join %s: %v", name, err)
			os.Exit(1)
		}
		// A large buffer: go drops deliveries to a subscriber that lags
		// (UndeliverableMessage) instead of blocking.
		sub, err := t.Subscribe(pubsub.WithBufferSize(1 << 14))
		if err != nil {
			logf("subscribe %s: %v", name, err)
			os.Exit(1)
		}
		topics = append(topics, t)
		subs = append(subs, sub)
		go readSubscription(ctx, sub, s, idFn)
	}

	addrs := make([]string, 0)
	for _, a := range h.Addrs() {
		addrs = append(addrs, a.String()+"/p2p/"+h.ID().String())
	}
	emit(map[string]any{"event": "listening", "peer_id": h.ID().String(), "addrs": addrs})

	for _, p := range o.peers {
		go dial(ctx, h, p)
	}

	if len(topics) > 0 {
		go publishStdin(ctx, topics[0], s, o.hex)
	} else {
		go func() {
			// Nothing to publish to: drain stdin so a writer never blocks.
			io.Copy(io.Discard, os.Stdin)
		}()
	}

	for sig := range sigs {
		if sig == syscall.SIGUSR1 {
			emit(s.stats(h))
			continue
		}
		break
	}
	// Further SIGINT/SIGTERM are ignored (still caught, never read): the
	// shutdown below is bounded, and a test may signal twice.

	// Final stats, then nothing more on stdout.
	final := s.stats(h)
	outMu.Lock()
	line, _ := json.Marshal(final)
	os.Stdout.Write(append(line, '\n'))
	closed = true
	outMu.Unlock()

	// Cancelling the last subscription of a topic leaves it: go sends PRUNE
	// (with PX and backoff) to the mesh peers. Give the writers a moment to
	// flush before closing the host.
	for _, sub := range subs {
		sub.Cancel()
	}
	time.Sleep(200 * time.Millisecond)
	cancel()
	done := make(chan struct{})
	go func() { h.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(3 * time.Second):
		logf("host close timed out")
	}
	os.Exit(0)
}
