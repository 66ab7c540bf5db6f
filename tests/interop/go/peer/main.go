// Command peer is the go-libp2p reference peer of lp2p's host interop tests.
// It speaks TCP + Noise or TLS + one muxer (yamux or mplex), or QUIC v1
// (--transport quic: libp2p TLS and QUIC's own streams), + identify + ping,
// and implements the same CLI and JSON event lines as
// tests/interop/js/peer.mjs:
//
//	peer listen --muxer yamux|mplex [--security noise|tls] [--transport tcp|quic] [--key-seed N] [--echo] [--sink] [--no-limits]
//	peer dial MULTIADDR --muxer yamux|mplex [--security noise|tls] [--transport tcp|quic] [--key-seed N] --test T [--timeout-s S]
//
// T is ping:N, identify, echo:S:B, halfclose, reset or send:B. One JSON
// object per stdout line; diagnostics on stderr. --sink and send:B are for
// bench/run-host.sh: one stream of B bytes to a listener that reads and
// drops them (/bench/sink/1.0.0, as bench/bench_host's sink), timed.
// --no-limits (for the 1,000-connection benchmark) turns off go-libp2p's
// resource manager and connection manager, whose defaults refuse that many
// handshakes at once and trim above 192 connections.
package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/libp2p/go-libp2p"
	mplex "github.com/libp2p/go-libp2p-mplex"
	"github.com/libp2p/go-libp2p/core/connmgr"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/event"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/muxer/yamux"
	"github.com/libp2p/go-libp2p/p2p/protocol/ping"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	libp2ptls "github.com/libp2p/go-libp2p/p2p/security/tls"
	libp2pquic "github.com/libp2p/go-libp2p/p2p/transport/quic"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	ma "github.com/multiformats/go-multiaddr"
)

const echoProtocol = "/echo/1.0.0"

// sinkProtocol is bench/bench_host's: the listener reads and drops every
// byte, and closes the stream after the remote's half-close.
const sinkProtocol = "/bench/sink/1.0.0"

// linger is how long a dialer stays connected after its test, so that the
// listener's own identify of us (started when the connection opened) can
// finish before we hang up.
const linger = 200 * time.Millisecond

// ---- output ----------------------------------------------------------------

var outMu sync.Mutex

// emit writes one JSON line. os.Stdout is unbuffered, so each line leaves in
// one write and a reader sees it at once.
func emit(v map[string]any) {
	outMu.Lock()
	defer outMu.Unlock()
	line, _ := json.Marshal(v)
	os.Stdout.Write(append(line, '\n'))
}

// finish prints the single "done" line of a dial and exits. The mutex is kept
// locked so that nothing (a late event, the watchdog) prints after it.
func finish(err error, extra map[string]any) {
	outMu.Lock()
	v := map[string]any{"event": "done", "ok": err == nil}
	for k, x := range extra {
		v[k] = x
	}
	code := 0
	if err != nil {
		v["error"] = err.Error()
		fmt.Fprintln(os.Stderr, "peer:", err)
		code = 1
	}
	line, _ := json.Marshal(v)
	os.Stdout.Write(append(line, '\n'))
	os.Exit(code)
}

func die(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "peer: "+format+"\n", a...)
	os.Exit(2)
}

func addrStrings(addrs []ma.Multiaddr) []string {
	s := make([]string, 0, len(addrs))
	for _, a := range addrs {
		s = append(s, a.String())
	}
	return s
}

func identifyEvent(e event.EvtPeerIdentificationCompleted) map[string]any {
	protos := make([]string, 0, len(e.Protocols))
	for _, p := range e.Protocols {
		protos = append(protos, string(p))
	}
	var observed any // JSON null when the remote sent none
	if e.ObservedAddr != nil {
		observed = e.ObservedAddr.String()
	}
	return map[string]any{
		"event":            "identify",
		"peer_id":          e.Peer.String(),
		"agent_version":    e.AgentVersion,
		"protocol_version": e.ProtocolVersion,
		"protocols":        protos,
		"listen_addrs":     addrStrings(e.ListenAddrs),
		"observed_addr":    observed,
	}
}

// ---- host ------------------------------------------------------------------

// libp2pVersion is the go-libp2p module version linked into this binary, so
// the agent version cannot drift from go.mod.
func libp2pVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, m := range bi.Deps {
			if m.Path == "github.com/libp2p/go-libp2p" {
				return m.Version
			}
		}
	}
	return "unknown"
}

// identity derives the Ed25519 key from the seed convention of the
// gossipsub-interop harness (N as little-endian uint32, then zeros), or makes
// a random one.
func identity(seed int64) (crypto.PrivKey, error) {
	if seed < 0 {
		k, _, err := crypto.GenerateEd25519Key(nil)
		return k, err
	}
	var s [ed25519.SeedSize]byte
	binary.LittleEndian.PutUint32(s[:4], uint32(seed))
	return crypto.UnmarshalEd25519PrivateKey(ed25519.NewKeyFromSeed(s[:]))
}

// security is --security: the one secure channel offered and accepted.
var security = "noise"

func securityOption() libp2p.Option {
	if security == "tls" {
		return libp2p.Security(libp2ptls.ID, libp2ptls.New)
	}
	return libp2p.Security(noise.ID, noise.New)
}

// transport is --transport: TCP (with --security and --muxer) or QUIC v1,
// which brings its own TLS and streams (--security and --muxer unused).
var transport = "tcp"

func transportOption() libp2p.Option {
	if transport == "quic" {
		return libp2p.Transport(libp2pquic.NewTransport)
	}
	return libp2p.Transport(tcp.NewTCPTransport)
}

func listenAddr() string {
	if transport == "quic" {
		return "/ip4/127.0.0.1/udp/0/quic-v1"
	}
	return "/ip4/127.0.0.1/tcp/0"
}

func newHost(muxer string, seed int64, listen, noLimits bool) (host.Host, error) {
	key, err := identity(seed)
	if err != nil {
		return nil, err
	}
	opts := []libp2p.Option{
		libp2p.Identity(key),
		// Naming the transport, security and muxer replaces go-libp2p's
		// defaults (QUIC, WebTransport, TLS, ...), so only what lp2p speaks
		// is offered.
		transportOption(),
		securityOption(),
		libp2p.UserAgent("lp2p-interop-go/" + libp2pVersion()),
		libp2p.Ping(true),
		libp2p.DisableRelay(),
		libp2p.DisableMetrics(),
	}
	switch muxer {
	case "yamux":
		opts = append(opts, libp2p.Muxer(yamux.ID, yamux.DefaultTransport))
	case "mplex":
		// mplex left go-libp2p; the separate (deprecated) module still works.
		opts = append(opts, libp2p.Muxer(mplex.ID, mplex.DefaultTransport))
	default:
		return nil, fmt.Errorf("unknown muxer %q", muxer)
	}
	if noLimits {
		opts = append(opts,
			libp2p.ResourceManager(&network.NullResourceManager{}),
			libp2p.ConnectionManager(&connmgr.NullConnMgr{}))
	}
	if listen {
		opts = append(opts, libp2p.ListenAddrStrings(listenAddr()))
	} else {
		opts = append(opts, libp2p.NoListenAddrs)
	}
	return libp2p.New(opts...)
}

// ---- listen ----------------------------------------------------------------

// handleEcho copies the stream back to itself. When the remote half-closes,
// Read returns EOF: everything read has been written, so CloseWrite sends
// our FIN after the last byte.
func handleEcho(s network.Stream) {
	n, err := io.Copy(s, s)
	if err == nil {
		err = s.CloseWrite()
	}
	if err == nil {
		s.Close()
		emit(map[string]any{"event": "echo_done", "bytes": n})
		return
	}
	s.Reset()
	if errors.Is(err, network.ErrReset) && stillOpen(s.Conn()) {
		emit(map[string]any{"event": "stream_reset"})
	} else {
		fmt.Fprintf(os.Stderr, "peer: echo stream ended after %d bytes: %v\n", n, err)
	}
}

// handleSink reads and drops the stream until the remote half-closes, then
// closes it: the far end of the send test.
func handleSink(s network.Stream) {
	if _, err := io.Copy(io.Discard, s); err != nil {
		s.Reset()
		return
	}
	s.Close()
}

// stillOpen tells a reset of one stream from the end of its connection,
// which the muxers report as the same ErrReset (go-mplex always, go-yamux
// unless the remote sent GoAway): a stream reset by the remote leaves its
// connection open, a dying connection is closed within moments.
func stillOpen(c network.Conn) bool {
	time.Sleep(50 * time.Millisecond)
	return !c.IsClosed()
}

// watchEvents prints connected / disconnected / identify events until sub
// closes. Connectedness events are per peer (not per connection), as js's
// peer:connect and peer:disconnect are.
func watchEvents(sub event.Subscription) {
	for e := range sub.Out() {
		switch e := e.(type) {
		case event.EvtPeerConnectednessChanged:
			switch e.Connectedness {
			case network.Connected:
				emit(map[string]any{"event": "connected", "peer_id": e.Peer.String()})
			case network.NotConnected:
				emit(map[string]any{"event": "disconnected", "peer_id": e.Peer.String()})
			}
		case event.EvtPeerIdentificationCompleted:
			emit(identifyEvent(e))
		}
	}
}

func runListen(muxer string, seed int64, echo, sink, noLimits bool) {
	h, err := newHost(muxer, seed, true, noLimits)
	if err != nil {
		die("%v", err)
	}
	sub, err := h.EventBus().Subscribe([]any{
		new(event.EvtPeerConnectednessChanged),
		new(event.EvtPeerIdentificationCompleted),
	})
	if err != nil {
		die("%v", err)
	}
	if echo {
		h.SetStreamHandler(echoProtocol, handleEcho)
	}
	if sink {
		h.SetStreamHandler(sinkProtocol, handleSink)
	}
	addrs := make([]string, 0)
	for _, a := range h.Addrs() {
		addrs = append(addrs, a.String()+"/p2p/"+h.ID().String())
	}
	emit(map[string]any{"event": "listening", "peer_id": h.ID().String(), "addrs": addrs})
	go watchEvents(sub)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	sub.Close()
	h.Close()
}

// ---- dial ------------------------------------------------------------------

// pattern is the deterministic pseudo-random payload of echo stream i: a
// xorshift32 sequence, the same generator as peer.mjs.
func pattern(i, n int) []byte {
	s := uint32(i+1) * 2654435761
	b := make([]byte, n)
	for k := range b {
		s ^= s << 13
		s ^= s >> 17
		s ^= s << 5
		b[k] = byte(s)
	}
	return b
}

// echoOnce writes data on a new echo stream while reading the echo back, then
// half-closes and checks the whole reply. Writing and reading run at once:
// with payloads above the muxer windows, write-then-read would deadlock.
func echoOnce(ctx context.Context, h host.Host, p peer.ID, data []byte, concurrent bool) error {
	s, err := h.NewStream(ctx, p, echoProtocol)
	if err != nil {
		return fmt.Errorf("open echo stream: %w", err)
	}
	defer s.Close()
	werr := make(chan error, 1)
	write := func() {
		if _, err := s.Write(data); err != nil {
			werr <- fmt.Errorf("write: %w", err)
			return
		}
		werr <- s.CloseWrite()
	}
	if concurrent {
		go write()
	} else {
		write()
	}
	got, err := io.ReadAll(s)
	if err != nil {
		s.Reset() // also unblocks a Write still waiting for window
		<-werr
		return fmt.Errorf("read: %w", err)
	}
	if err := <-werr; err != nil {
		return err
	}
	if !bytes.Equal(got, data) {
		return fmt.Errorf("echo mismatch: sent %d bytes, got %d back", len(data), len(got))
	}
	return nil
}

func testEcho(ctx context.Context, h host.Host, p peer.ID, streams, size int) error {
	errs := make(chan error, streams)
	for i := 0; i < streams; i++ {
		go func(i int) {
			if err := echoOnce(ctx, h, p, pattern(i, size), true); err != nil {
				errs <- fmt.Errorf("stream %d: %w", i, err)
				return
			}
			errs <- nil
		}(i)
	}
	var first error
	for i := 0; i < streams; i++ {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return first
}

// testReset writes a little, waits for its echo (so the listener's handler is
// surely running), then resets. The ping afterwards travels behind the RST
// on the same connection, so its reply proves the RST reached the listener.
func testReset(ctx context.Context, h host.Host, p peer.ID) error {
	s, err := h.NewStream(ctx, p, echoProtocol)
	if err != nil {
		return fmt.Errorf("open echo stream: %w", err)
	}
	data := pattern(0, 100)
	if _, err := s.Write(data); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	got := make([]byte, len(data))
	if _, err := io.ReadFull(s, got); err != nil {
		return fmt.Errorf("read echo: %w", err)
	}
	if err := s.Reset(); err != nil {
		return fmt.Errorf("reset: %w", err)
	}
	return pingOnce(ctx, h, p)
}

// testSend writes total bytes on one sink stream, half-closes and waits for
// the listener's close (it has read everything). Timed from the first write
// to that close, as bench_host send times it.
func testSend(ctx context.Context, h host.Host, p peer.ID, total int) (map[string]any, error) {
	s, err := h.NewStream(ctx, p, sinkProtocol)
	if err != nil {
		return nil, fmt.Errorf("open sink stream: %w", err)
	}
	chunk := make([]byte, 1<<16)
	start := time.Now()
	for left := total; left > 0; {
		n := min(left, len(chunk))
		if _, err := s.Write(chunk[:n]); err != nil {
			s.Reset()
			return nil, fmt.Errorf("write: %w", err)
		}
		left -= n
	}
	if err := s.CloseWrite(); err != nil {
		s.Reset()
		return nil, fmt.Errorf("close write: %w", err)
	}
	if _, err := io.Copy(io.Discard, s); err != nil {
		s.Reset()
		return nil, fmt.Errorf("read the sink's close: %w", err)
	}
	secs := time.Since(start).Seconds()
	s.Close()
	return map[string]any{"bytes": total, "seconds": secs,
		"MBps": float64(total) / secs / 1e6}, nil
}

func pingOnce(ctx context.Context, h host.Host, p peer.ID) error {
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	r := <-ping.Ping(pctx, h, p)
	return r.Error
}

func testPing(ctx context.Context, h host.Host, p peer.ID, n int) error {
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	results := ping.Ping(pctx, h, p) // one stream, pings back to back
	for i := 0; i < n; i++ {
		r, ok := <-results
		if !ok {
			return errors.New("ping stream ended")
		}
		if r.Error != nil {
			return fmt.Errorf("ping %d: %w", i+1, r.Error)
		}
		emit(map[string]any{"event": "ping", "rtt_ms": float64(r.RTT.Microseconds()) / 1000})
	}
	return nil
}

// parseTest splits "name:a:b" into its name and integer arguments.
func parseTest(t string) (string, []int, error) {
	parts := strings.Split(t, ":")
	want := map[string]int{"ping": 1, "identify": 0, "echo": 2, "halfclose": 0, "reset": 0, "send": 1}
	n, ok := want[parts[0]]
	if !ok || len(parts)-1 != n {
		return "", nil, fmt.Errorf("bad --test %q", t)
	}
	args := make([]int, n)
	for i := range args {
		v, err := strconv.Atoi(parts[i+1])
		if err != nil || v < 1 {
			return "", nil, fmt.Errorf("bad --test %q", t)
		}
		args[i] = v
	}
	return parts[0], args, nil
}

func runDial(target, muxer string, seed int64, test string, timeout time.Duration) {
	name, args, err := parseTest(test)
	if err != nil {
		die("%v", err)
	}
	addr, err := ma.NewMultiaddr(target)
	if err != nil {
		die("bad multiaddr: %v", err)
	}
	info, err := peer.AddrInfoFromP2pAddr(addr)
	if err != nil {
		die("multiaddr needs /p2p/ID: %v", err)
	}
	// A watchdog rather than only a context: some calls (reads) do not take
	// one, and a hung test must still end with a done line.
	time.AfterFunc(timeout, func() { finish(fmt.Errorf("timeout after %v", timeout), nil) })
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()

	h, err := newHost(muxer, seed, false, false)
	if err != nil {
		finish(err, nil)
	}
	// Subscribe before connecting: identify starts as soon as the connection
	// is up and its event is not replayed.
	sub, err := h.EventBus().Subscribe(new(event.EvtPeerIdentificationCompleted))
	if err != nil {
		finish(err, nil)
	}
	if err := h.Connect(ctx, *info); err != nil {
		finish(fmt.Errorf("connect: %w", err), nil)
	}

	extra := map[string]any{}
	switch name {
	case "ping":
		err = testPing(ctx, h, info.ID, args[0])
	case "identify":
		err = errors.New("no identify from the remote")
		for e := range sub.Out() {
			if id := e.(event.EvtPeerIdentificationCompleted); id.Peer == info.ID {
				emit(identifyEvent(id))
				err = nil
				break
			}
		}
	case "echo":
		err = testEcho(ctx, h, info.ID, args[0], args[1])
		extra = map[string]any{"streams": args[0], "bytes": args[1]}
	case "halfclose":
		err = echoOnce(ctx, h, info.ID, pattern(0, 1000), false)
	case "reset":
		err = testReset(ctx, h, info.ID)
	case "send":
		extra, err = testSend(ctx, h, info.ID, args[0])
	}
	sub.Close()
	if err == nil {
		time.Sleep(linger)
	}
	// Close the host so that the listener sees a clean disconnect.
	h.Close()
	finish(err, extra)
}

// ---- main ------------------------------------------------------------------

func usage() {
	fmt.Fprintln(os.Stderr, "usage: peer listen --muxer yamux|mplex [--security noise|tls] [--transport tcp|quic] [--key-seed N] [--echo] [--sink] [--no-limits]")
	fmt.Fprintln(os.Stderr, "       peer dial MULTIADDR --muxer yamux|mplex [--security noise|tls] [--transport tcp|quic] [--key-seed N] --test T [--timeout-s S]")
	os.Exit(2)
}

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	cmd, rest := os.Args[1], os.Args[2:]
	var target string
	if cmd == "dial" {
		if len(rest) < 1 || strings.HasPrefix(rest[0], "-") {
			usage()
		}
		target, rest = rest[0], rest[1:]
	} else if cmd != "listen" {
		usage()
	}
	fs := flag.NewFlagSet(cmd, flag.ExitOnError)
	muxer := fs.String("muxer", "", "yamux or mplex")
	fs.StringVar(&security, "security", "noise", "noise or tls")
	fs.StringVar(&transport, "transport", "tcp", "tcp or quic (QUIC v1)")
	seed := fs.Int64("key-seed", -1, "derive the Ed25519 key from this number")
	echo := fs.Bool("echo", false, "listen: serve "+echoProtocol)
	sink := fs.Bool("sink", false, "listen: serve "+sinkProtocol)
	noLimits := fs.Bool("no-limits", false, "listen: no resource or connection manager")
	test := fs.String("test", "", "dial: ping:N, identify, echo:S:B, halfclose, reset or send:B")
	timeout := fs.Float64("timeout-s", 60, "dial: give up after this many seconds")
	fs.Parse(rest)
	if fs.NArg() != 0 || (*muxer != "yamux" && *muxer != "mplex") ||
		(security != "noise" && security != "tls") ||
		(transport != "tcp" && transport != "quic") {
		usage()
	}
	if *seed > 0xffffffff {
		die("--key-seed must fit in 32 bits")
	}
	if cmd == "listen" {
		runListen(*muxer, *seed, *echo, *sink, *noLimits)
		return
	}
	if *test == "" || *timeout <= 0 {
		usage()
	}
	runDial(target, *muxer, *seed, *test, time.Duration(*timeout*float64(time.Second)))
}
