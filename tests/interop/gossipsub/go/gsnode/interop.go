// gsnode interop: a node of libp2p/test-plans' gossipsub-interop harness on
// loopback, as `lp2p interop --local-base-port` is, so that lp2p and go run
// the suite's partial-message scenarios together:
//
//	gsnode interop --params FILE --node-id N --local-base-port PORT
//
// Node M listens on 127.0.0.1:PORT+M with the harness's key for seed M. It
// runs the script's initGossipSub, connect, subscribeToTopic, waitUntil,
// publish, ifNodeIDEquals, addPartialMessage and publishPartial, and logs
// the harness's JSON lines: "PeerID", "Received Message", "All parts
// received". Partial messages go through go-libp2p-pubsub v0.19's
// partialmessages extension, with the suite's shared test application
// (8 parts of 1024 bytes, a one-byte bitmap as metadata, an 8-byte
// big-endian group id, parts encoded [bitmap][parts][group id]), written
// here for lp2p's tests.
package main

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"iter"
	"log/slog"
	"math/bits"
	"os"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p-pubsub/partialmessages"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/muxer/yamux"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	ma "github.com/multiformats/go-multiaddr"
)

const (
	partCount   = 8
	partLen     = 1024
	allParts    = 0xFF
	maxGroups   = 256  // groups kept; a new one past it is refused
	workBacklog = 4096 // partial RPCs waiting for the application
)

// ---- the shared test application -------------------------------------------

type partGroup struct {
	id    uint64
	have  byte // bit i: we have part i
	parts [partCount][]byte
}

// peerState is what the router keeps per peer per group for us: the peer's
// last bitmap (known once it sent one, or we sent it parts).
type peerState struct {
	known bool
	has   byte
}

func groupBytes(id uint64) []byte {
	return binary.BigEndian.AppendUint64(nil, id)
}

// fill makes part i of the group: big-endian u64 values from id + 128 i.
func (g *partGroup) fill(i int) {
	p := make([]byte, partLen)
	v := g.id + uint64(i)*partLen/8
	for j := 0; j < partLen/8; j++ {
		binary.BigEndian.PutUint64(p[8*j:], v+uint64(j))
	}
	g.parts[i] = p
}

func (g *partGroup) encode(send byte) []byte {
	out := []byte{send}
	for i := 0; i < partCount; i++ {
		if send&(1<<i) != 0 {
			out = append(out, g.parts[i]...)
		}
	}
	return append(out, groupBytes(g.id)...)
}

// merge takes the parts of an encoded message we lack; it returns those
// added, or an error when the length does not match the bitmap or the
// message names another group.
func (g *partGroup) merge(enc []byte) (byte, error) {
	if len(enc) < 9 {
		return 0, errors.New("short partial message")
	}
	bitmap := enc[0]
	body := enc[1 : len(enc)-8]
	if binary.BigEndian.Uint64(enc[len(enc)-8:]) != g.id {
		return 0, errors.New("partial message of another group")
	}
	if len(body) != bits.OnesCount8(bitmap)*partLen {
		return 0, errors.New("partial message length does not match its bitmap")
	}
	var added byte
	for i := 0; i < partCount; i++ {
		if bitmap&(1<<i) == 0 {
			continue
		}
		if g.have&(1<<i) == 0 {
			g.parts[i] = append([]byte(nil), body[:partLen]...)
			added |= 1 << i
		}
		body = body[partLen:]
	}
	g.have |= added
	return added, nil
}

type partialApp struct {
	log    *slog.Logger
	ps     *pubsub.PubSub
	groups map[string]map[uint64]*partGroup
	ngroup int
	work   chan func()  // run on the application's goroutine
	drops  atomic.Int64 // posts refused: the backlog was full
}

func newPartialApp(log *slog.Logger) *partialApp {
	a := &partialApp{log: log, groups: map[string]map[uint64]*partGroup{},
		work: make(chan func(), workBacklog)}
	go func() {
		for f := range a.work {
			f()
		}
	}()
	return a
}

// do runs f on the application's goroutine and waits for it.
func (a *partialApp) do(f func()) {
	done := make(chan struct{})
	a.work <- func() { f(); close(done) }
	<-done
}

// post queues f without blocking (pubsub's callbacks must not block);
// dropped and counted when the backlog is full.
func (a *partialApp) post(f func()) {
	select {
	case a.work <- f:
	default:
		a.drops.Add(1)
	}
}

func (a *partialApp) group(topic string, id uint64) *partGroup {
	t := a.groups[topic]
	if t == nil {
		t = map[uint64]*partGroup{}
		a.groups[topic] = t
	}
	g := t[id]
	if g == nil && a.ngroup < maxGroups {
		g = &partGroup{id: id}
		t[id] = g
		a.ngroup++
	}
	return g
}

func (a *partialApp) allReceived(topic string, g *partGroup) {
	a.log.Info("All parts received", "topic", topic, "group id", g.id)
}

func (a *partialApp) add(topic string, id uint64, bitmap byte) {
	g := a.group(topic, id)
	if g == nil {
		return
	}
	added := bitmap &^ g.have
	for i := 0; i < partCount; i++ {
		if added&(1<<i) != 0 {
			g.fill(i)
		}
	}
	g.have |= added
	if added != 0 && g.have == allParts {
		a.allReceived(topic, g)
	}
}

// publish sends what we have of g: to `to` when given (every part they
// lack even when we do not know what they have, with `eager`), else to the
// peers the group knows and the mesh (go's peerStates after initPeerState).
// A peer whose bitmap equals ours gets nothing.
func (a *partialApp) publish(topic string, g *partGroup, to []peer.ID, eager bool) {
	actions := func(states map[peer.ID]peerState, requests func(peer.ID) bool) iter.Seq2[peer.ID, partialmessages.PublishAction] {
		return func(yield func(peer.ID, partialmessages.PublishAction) bool) {
			targets := to
			if targets == nil {
				for p := range states {
					targets = append(targets, p)
				}
			}
			for _, p := range targets {
				st := states[p]
				if st.known && st.has == g.have {
					continue
				}
				act := partialmessages.PublishAction{EncodedPartsMetadata: []byte{g.have}}
				if send := g.have &^ st.has; send != 0 && requests(p) && (st.known || eager) {
					act.EncodedPartialMessage = g.encode(send)
					st = peerState{known: true, has: st.has | send}
				}
				states[p] = st
				if !yield(p, act) {
					return
				}
			}
		}
	}
	if err := pubsub.PublishPartial(a.ps, topic, groupBytes(g.id), actions); err != nil {
		a.log.Error("PublishPartial", "err", err)
	}
}

type partialRPC struct {
	from                  peer.ID
	topic                 string
	group, parts, partsMD []byte
}

// handle merges a peer's parts, tells the mesh when we have more, and
// answers a peer whose bitmap differs from ours (as the suite's app).
func (a *partialApp) handle(r partialRPC) {
	if len(r.group) != 8 {
		return
	}
	g := a.group(r.topic, binary.BigEndian.Uint64(r.group))
	if g == nil {
		return
	}
	var added byte
	if len(r.parts) > 0 {
		var err error
		if added, err = g.merge(r.parts); err != nil {
			a.log.Error("bad partial message", "from", r.from.String(), "err", err)
			_ = a.ps.PeerFeedback(r.topic, r.from, pubsub.PeerFeedbackInvalidMessage)
			return
		}
	}
	if len(r.parts) > 0 {
		a.log.Info("Received partial message", "from", r.from.String(),
			"group id", g.id, "parts", r.parts[0], "new", added)
	}
	if added != 0 {
		_ = a.ps.PeerFeedback(r.topic, r.from, pubsub.PeerFeedbackUsefulMessage)
		if g.have == allParts {
			a.allReceived(r.topic, g)
		}
		a.publish(r.topic, g, nil, false)
	}
	if len(r.partsMD) == 1 && r.partsMD[0] != g.have {
		a.publish(r.topic, g, []peer.ID{r.from}, false)
	}
}

func (a *partialApp) extension() *partialmessages.PartialMessagesExtension[peerState] {
	return &partialmessages.PartialMessagesExtension[peerState]{
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		OnIncomingRPC: func(from peer.ID, states map[peer.ID]peerState, rpc *pb.PartialMessagesExtension) error {
			st := states[from]
			if md := rpc.GetPartsMetadata(); len(md) == 1 {
				st = peerState{known: true, has: md[0]}
			}
			states[from] = st
			r := partialRPC{from: from, topic: rpc.GetTopicID(),
				group:   append([]byte(nil), rpc.GetGroupID()...),
				parts:   append([]byte(nil), rpc.GetPartialMessage()...),
				partsMD: append([]byte(nil), rpc.GetPartsMetadata()...)}
			a.post(func() { a.handle(r) })
			return nil
		},
		OnEmitGossip: func(topic string, group []byte, peers []peer.ID, _ map[peer.ID]peerState) {
			if len(group) != 8 {
				return
			}
			to := append([]peer.ID(nil), peers...)
			id := binary.BigEndian.Uint64(group)
			a.post(func() {
				if g := a.groups[topic][id]; g != nil {
					a.publish(topic, g, to, false)
				}
			})
		},
	}
}

// ---- the script ------------------------------------------------------------

type instruction struct {
	Type             string          `json:"type"`
	NodeID           int             `json:"nodeID"`
	Instruction      json.RawMessage `json:"instruction"`
	GossipSubParams  json.RawMessage `json:"gossipSubParams"`
	ConnectTo        []int           `json:"connectTo"`
	TopicID          string          `json:"topicID"`
	Partial          bool            `json:"partial"`
	ElapsedSeconds   int             `json:"elapsedSeconds"`
	MessageID        uint64          `json:"messageID"`
	MessageSizeBytes int             `json:"messageSizeBytes"`
	GroupID          uint64          `json:"groupID"`
	Parts            int             `json:"parts"`
	PublishToNodeIDs []int           `json:"publishToNodeIDs"`
}

type harnessNode struct {
	id, basePort int
	start        time.Time
	log          *slog.Logger
	h            host.Host
	ps           *pubsub.PubSub
	app          *partialApp
	topics       map[string]*pubsub.Topic
	ctx          context.Context
}

func harnessPeer(node int) (peer.ID, error) {
	k, err := identity(int64(node))
	if err != nil {
		return "", err
	}
	return peer.IDFromPrivateKey(k)
}

func (n *harnessNode) connect(target int) error {
	id, err := harnessPeer(target)
	if err != nil {
		return err
	}
	addr, err := ma.NewMultiaddr(fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", n.basePort+target))
	if err != nil {
		return err
	}
	info := peer.AddrInfo{ID: id, Addrs: []ma.Multiaddr{addr}}
	for try := 0; ; try++ { // the peer may not be listening yet
		// forced: go-libp2p would refuse a dial in backoff after a failure
		ctx, cancel := context.WithTimeout(network.WithForceDirectDial(n.ctx, "harness retry"), 5*time.Second)
		err = n.h.Connect(ctx, info)
		cancel()
		if err == nil || try == 49 {
			return err
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func (n *harnessNode) initGossipSub(raw json.RawMessage) error {
	params := pubsub.DefaultGossipSubParams()
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &params); err != nil {
			return fmt.Errorf("gossipSubParams: %w", err)
		}
	}
	ps, err := pubsub.NewGossipSub(n.ctx, n.h,
		pubsub.WithGossipSubParams(params),
		pubsub.WithMessageSignaturePolicy(pubsub.StrictNoSign),
		pubsub.WithNoAuthor(),
		pubsub.WithMessageIdFn(func(m *pb.Message) string {
			if len(m.Data) < 8 {
				return string(m.Data)
			}
			return string(m.Data[:8]) // the harness's id
		}),
		pubsub.WithPartialMessagesExtension(n.app.extension()))
	n.ps, n.app.ps = ps, ps
	return err
}

func (n *harnessNode) subscribe(topic string, partial bool) error {
	if _, ok := n.topics[topic]; ok {
		return nil
	}
	var opts []pubsub.TopicOpt
	if partial {
		opts = append(opts, pubsub.RequestPartialMessages())
	}
	t, err := n.ps.Join(topic, opts...)
	if err != nil {
		return err
	}
	sub, err := t.Subscribe()
	if err != nil {
		return err
	}
	n.topics[topic] = t
	go func() {
		for {
			m, err := sub.Next(n.ctx)
			if err != nil {
				return
			}
			id := uint64(0)
			if len(m.Data) >= 8 {
				id = binary.BigEndian.Uint64(m.Data)
			}
			n.log.Info("Received Message", "id", fmt.Sprint(id),
				"from", m.ReceivedFrom.String(), "topic", topic)
		}
	}()
	return nil
}

func (n *harnessNode) publishPartial(in instruction) error {
	var to []peer.ID
	for _, t := range in.PublishToNodeIDs {
		id, err := harnessPeer(t)
		if err != nil {
			return err
		}
		to = append(to, id)
	}
	n.app.do(func() {
		g := n.app.groups[in.TopicID][in.GroupID]
		if g == nil {
			n.log.Error("publishPartial: no such group", "group id", in.GroupID)
			return
		}
		n.app.publish(in.TopicID, g, to, len(to) > 0)
	})
	return nil
}

func (n *harnessNode) run(in instruction) error {
	if in.Type == "ifNodeIDEquals" {
		if in.NodeID != n.id {
			return nil
		}
		var inner instruction
		if err := json.Unmarshal(in.Instruction, &inner); err != nil {
			return err
		}
		return n.run(inner)
	}
	if in.Type == "initGossipSub" {
		if n.ps != nil {
			return nil
		}
		return n.initGossipSub(in.GossipSubParams)
	}
	if n.ps == nil {
		return fmt.Errorf("%s before initGossipSub", in.Type)
	}
	switch in.Type {
	case "connect":
		for _, t := range in.ConnectTo {
			if err := n.connect(t); err != nil {
				fmt.Fprintf(os.Stderr, "gsnode: cannot connect to node%d: %v\n", t, err)
			}
		}
	case "subscribeToTopic":
		return n.subscribe(in.TopicID, in.Partial)
	case "waitUntil":
		time.Sleep(time.Until(n.start.Add(time.Duration(in.ElapsedSeconds) * time.Second)))
	case "setTopicValidationDelay":
	case "publish":
		t := n.topics[in.TopicID]
		if t == nil {
			var err error
			if t, err = n.ps.Join(in.TopicID); err != nil {
				return err
			}
			n.topics[in.TopicID] = t
		}
		data := make([]byte, max(in.MessageSizeBytes, 8))
		binary.BigEndian.PutUint64(data, in.MessageID)
		return t.Publish(n.ctx, data)
	case "addPartialMessage":
		n.app.do(func() { n.app.add(in.TopicID, in.GroupID, byte(in.Parts)) })
	case "publishPartial":
		return n.publishPartial(in)
	default:
		return fmt.Errorf("unsupported instruction %q", in.Type)
	}
	return nil
}

func runInterop(args []string) int {
	start := time.Now()
	fs := flag.NewFlagSet("gsnode interop", flag.ContinueOnError)
	params := fs.String("params", "", "")
	nodeID := fs.Int("node-id", -1, "")
	basePort := fs.Int("local-base-port", 0, "")
	if err := fs.Parse(args); err != nil || *params == "" || *nodeID < 0 || *basePort <= 0 {
		fmt.Fprintln(os.Stderr, "usage: gsnode interop --params FILE --node-id N --local-base-port PORT")
		return 2
	}
	raw, err := os.ReadFile(*params)
	var script struct {
		Script []instruction `json:"script"`
	}
	if err == nil {
		err = json.Unmarshal(raw, &script)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "gsnode: %s: %v\n", *params, err)
		return 1
	}
	key, err := identity(int64(*nodeID))
	if err != nil {
		fmt.Fprintf(os.Stderr, "gsnode: %v\n", err)
		return 1
	}
	h, err := libp2p.New(
		libp2p.Identity(key),
		libp2p.Transport(tcp.NewTCPTransport),
		libp2p.Security(noise.ID, noise.New),
		libp2p.Muxer(yamux.ID, yamux.DefaultTransport),
		libp2p.ListenAddrStrings(fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", *basePort+*nodeID)),
		libp2p.DisableRelay(),
		libp2p.DisableMetrics(),
	)
	if err != nil {
		fmt.Fprintf(os.Stderr, "gsnode: %v\n", err)
		return 1
	}
	defer h.Close()
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	log.Info("PeerID", "id", h.ID().String(), "node_id", *nodeID)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	n := &harnessNode{id: *nodeID, basePort: *basePort, start: start, log: log,
		h: h, app: newPartialApp(log), topics: map[string]*pubsub.Topic{}, ctx: ctx}
	for _, in := range script.Script {
		if err := n.run(in); err != nil {
			fmt.Fprintf(os.Stderr, "gsnode: %s: %v\n", in.Type, err)
			return 1
		}
	}
	if d := n.app.drops.Load(); d > 0 {
		fmt.Fprintf(os.Stderr, "gsnode: %d partial RPCs dropped (backlog full)\n", d)
	}
	return 0
}
