// --counters: what go-libp2p-pubsub refused, dropped or ignored, so that a
// test can tell "every RPC the other side sent was accepted" from "go
// quietly dropped some". go-libp2p-pubsub reports these only in three
// places, all used here:
//   - its logs (WithLogger, WithRPCLogger): an RPC whose length prefix is
//     over the 1 MiB limit or a bad varint ("error reading rpc"), a control
//     part over 512 KiB ("RPC's control message is too large"), bytes that
//     are not an RPC ("bogus rpc"), and the flood limits that make it ignore
//     part of an IHAVE, IWANT or IDONTWANT;
//   - the RawTracer: RPCs dropped because a peer's outbound queue is full
//     (DropRPC), rejected messages, deliveries the subscription could not
//     take, and the message ids of IHAVE/IWANT sent and received;
//   - delivered messages (DeliverMessage), counted at the router, whatever
//     happens to stdout.
//
// The stats lines then carry a "counters" object (README.md), and each
// refused RPC is also printed at once as an "rpc_error" line.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/peer"
	"google.golang.org/protobuf/proto"
)

// Kinds of per-peer counts. The rpc_* kinds are RPCs go refused whole (the
// stream is reset); the *_ignored kinds are parts of accepted RPCs that go
// ignored under its flood limits; stream_error is a read that failed
// because the stream or connection went away (a reset or close, e.g. when a
// peer shuts down), which is not the sender's RPC at fault.
const (
	kindTooLarge        = "rpc_too_large"         // length prefix > max message size
	kindBadFrame        = "rpc_bad_frame"         // unreadable length prefix
	kindControlTooLarge = "rpc_control_too_large" // control part > 512 KiB
	kindUnparsable      = "rpc_unparsable"        // not a protobuf RPC
	kindHandleError     = "rpc_handle_error"      // an extension refused it
	kindStreamError     = "stream_error"
	// IHAVE RPCs over MaxIHaveMessages in a heartbeat (counted per RPC)
	kindIHaveRate = "ihave_ignored_rate"
	// IHAVE after MaxIHaveLength ids were asked in a heartbeat (per RPC)
	kindIHaveAsked = "ihave_ignored_asked"
	// an IHAVE entry over MaxIHaveLength ids (per entry)
	kindIHaveLength = "ihave_ignored_length"
	// a message asked by IWANT more than GossipRetransmission times (per id)
	kindIWantRepeat = "iwant_ignored_repeat"
	// IDONTWANT RPCs over MaxIDontWantMessages in a heartbeat (per RPC)
	kindIDontRate = "idontwant_ignored_rate"
	// an RPC with over MaxIDontWantLength IDONTWANT ids (per RPC)
	kindIDontLength = "idontwant_ignored_length"
	kindDroppedRPC  = "dropped_rpcs" // our queue to the peer was full
)

type counters struct {
	mu              sync.Mutex
	byPeer          map[string]map[string]int // peer -> kind -> count
	rejected        map[string]int            // reason -> messages
	undeliverable   int
	routerDelivered int // messages of others delivered by the router
	ihaveSent       int // message ids, in RPCs queued
	ihaveRecv       int
	iwantSent       int
	iwantRecv       int
	// per peer, the largest RPC queued to it: a receiver with lower limits
	// (ids or control entries per RPC) refuses such RPCs whole
	sentMax map[string]*rpcShape
	// IHAVE ids in the last RPC from each peer: go counts every RPC with
	// control against MaxIHaveMessages and logs "too many" for it, IHAVE
	// or not, so only the logs that follow an RPC with IHAVE are counted
	lastIHave map[string]int
}

type rpcShape struct{ Bytes, Control, IDs int }

func shapeOf(rpc *pubsub.RPC) rpcShape {
	ctl := rpc.GetControl()
	ids := countIHave(ctl.GetIhave()) + countIWant(ctl.GetIwant()) + countIDs(ctl.GetIdontwant())
	control := len(ctl.GetIhave()) + len(ctl.GetIwant()) + len(ctl.GetGraft()) +
		len(ctl.GetPrune()) + len(ctl.GetIdontwant())
	return rpcShape{Bytes: proto.Size(&rpc.RPC), Control: control, IDs: ids}
}

func newCounters() *counters {
	return &counters{byPeer: make(map[string]map[string]int), rejected: make(map[string]int),
		sentMax: make(map[string]*rpcShape), lastIHave: make(map[string]int)}
}

func (c *counters) add(p, kind string, n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := c.byPeer[p]
	if m == nil {
		m = make(map[string]int)
		c.byPeer[p] = m
	}
	m[kind] += n
}

func (c *counters) json() map[string]any {
	c.mu.Lock()
	defer c.mu.Unlock()
	byPeer := make(map[string]any)
	for p, m := range c.byPeer {
		kinds := make(map[string]int)
		for k, n := range m {
			kinds[k] = n
		}
		byPeer[p] = kinds
	}
	rejected := make(map[string]int)
	for r, n := range c.rejected {
		rejected[r] = n
	}
	sentMax := make(map[string]any)
	for p, m := range c.sentMax {
		sentMax[p] = map[string]int{"bytes": m.Bytes, "control": m.Control, "ids": m.IDs}
	}
	return map[string]any{
		"by_peer":            byPeer,
		"rejected":           rejected,
		"sent_max":           sentMax,
		"undeliverable":      c.undeliverable,
		"router_delivered":   c.routerDelivered,
		"ihave_ids_sent":     c.ihaveSent,
		"ihave_ids_received": c.ihaveRecv,
		"iwant_ids_sent":     c.iwantSent,
		"iwant_ids_received": c.iwantRecv,
	}
}

// ---- from the tracer -------------------------------------------------------

func countIHave(l []*pb.ControlIHave) int {
	n := 0
	for _, x := range l {
		n += len(x.GetMessageIDs())
	}
	return n
}

func countIWant(l []*pb.ControlIWant) int {
	n := 0
	for _, x := range l {
		n += len(x.GetMessageIDs())
	}
	return n
}

func (c *counters) sent(rpc *pubsub.RPC, p peer.ID) {
	ctl := rpc.GetControl()
	shape := shapeOf(rpc)
	c.mu.Lock()
	m := c.sentMax[p.String()]
	if m == nil {
		m = &rpcShape{}
		c.sentMax[p.String()] = m
	}
	m.Bytes = max(m.Bytes, shape.Bytes)
	m.Control = max(m.Control, shape.Control)
	m.IDs = max(m.IDs, shape.IDs)
	c.ihaveSent += countIHave(ctl.GetIhave())
	c.iwantSent += countIWant(ctl.GetIwant())
	c.mu.Unlock()
}

func (c *counters) received(rpc *pubsub.RPC) {
	ctl := rpc.GetControl()
	c.mu.Lock()
	c.ihaveRecv += countIHave(ctl.GetIhave())
	c.lastIHave[rpc.From().String()] = countIHave(ctl.GetIhave())
	c.iwantRecv += countIWant(ctl.GetIwant())
	c.mu.Unlock()
}

func (c *counters) delivered(m *pubsub.Message, self peer.ID) {
	if m.ReceivedFrom == self {
		return // our own publish
	}
	c.mu.Lock()
	c.routerDelivered++
	c.mu.Unlock()
}

func (c *counters) reject(reason string) {
	c.mu.Lock()
	c.rejected[reason]++
	c.mu.Unlock()
}

func (c *counters) lostDelivery() {
	c.mu.Lock()
	c.undeliverable++
	c.mu.Unlock()
}

// ---- from the logs ---------------------------------------------------------

// logKind maps a go-libp2p-pubsub v0.19.0 log message (comm.go,
// gossipsub.go) to a kind, or "" for the messages not counted.
func logKind(msg string, err string) string {
	switch {
	case msg == "error reading rpc":
		// msgio's ErrMsgTooLarge, its varint errors, else the stream died
		if strings.Contains(err, "message too large") {
			return kindTooLarge
		}
		if strings.Contains(err, "varint") {
			return kindBadFrame
		}
		return kindStreamError
	case strings.HasPrefix(msg, "RPC's control message is too large"):
		return kindControlTooLarge
	case msg == "bogus rpc from":
		return kindUnparsable
	case msg == "error in handling RPC":
		return kindHandleError
	case strings.HasPrefix(msg, "IHAVE: peer has advertised too many times"):
		return kindIHaveRate
	case strings.HasPrefix(msg, "IHAVE: peer has already advertised too many"):
		return kindIHaveAsked
	case strings.HasPrefix(msg, "IHAVE: peer has sent IHAVE on topic with too many"):
		return kindIHaveLength
	case strings.HasPrefix(msg, "IWANT: Peer has asked for message too many"):
		return kindIWantRepeat
	// go spells it IDONWANT in these two
	case strings.HasPrefix(msg, "IDONWANT: peer has advertised too many times"):
		return kindIDontRate
	case strings.HasPrefix(msg, "IDONWANT: peer has advertised too many ids"):
		return kindIDontLength
	}
	return ""
}

// countingHandler is the slog.Handler of pubsub's loggers under
// --counters: it counts the records logKind knows, prints refused RPCs as
// rpc_error lines, and passes warnings and errors on to stderr.
type countingHandler struct {
	c   *counters
	fwd slog.Handler
}

func newCountingLogger(c *counters) *slog.Logger {
	fwd := slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})
	return slog.New(countingHandler{c: c, fwd: fwd})
}

func (h countingHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h countingHandler) Handle(ctx context.Context, r slog.Record) error {
	var from, errText string
	r.Attrs(func(a slog.Attr) bool {
		switch a.Key {
		case "peer", "from":
			from = fmt.Sprint(a.Value.Any()) // peer.ID prints as base58
		case "err":
			errText = fmt.Sprint(a.Value.Any())
		}
		return true
	})
	kind := logKind(r.Message, errText)
	if kind == kindIHaveRate || kind == kindIHaveAsked {
		h.c.mu.Lock()
		if h.c.lastIHave[from] == 0 {
			kind = "" // an RPC without IHAVE: nothing was ignored
		}
		h.c.mu.Unlock()
	}
	if kind != "" {
		h.c.add(from, kind, 1)
		if strings.HasPrefix(kind, "rpc_") || kind == kindStreamError {
			emit(map[string]any{"event": "rpc_error", "peer_id": from, "kind": kind, "error": errText})
		}
	}
	if r.Level >= slog.LevelWarn {
		return h.fwd.Handle(ctx, r)
	}
	return nil
}

// The attributes of derived loggers (go's rpc logger adds "system") are not
// needed to count.
func (h countingHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h countingHandler) WithGroup(string) slog.Handler      { return h }
