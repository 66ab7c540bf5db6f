// tracecheck reads an lp2p trace file with go-libp2p-pubsub's own trace
// decoder, as go-libp2p-pubsub-tracer's trace2json and tracestat do:
// uvarint-delimited pb.TraceEvent records (gzip'd when the file starts
// with gzip's magic), each printed as a JSON line with Go's encoding/json
// (what go's JSONTracer writes).
//
//	tracecheck -stat COUNTS -json OUT FILE
//
// writes the JSON lines to OUT and "TYPE N" per event type (plus
// "dropped N" copied from FILE.counts by the caller, not here) to
// COUNTS. It fails on a record go cannot decode, on fields go does not
// know, and on a record whose bytes differ from what go's proto.Marshal
// writes for the decoded event: lp2p must encode exactly as go does.
package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-msgio/pbio"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

func open(path string) (io.Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	br := bufio.NewReader(f)
	magic, _ := br.Peek(2)
	if bytes.Equal(magic, []byte{0x1f, 0x8b}) {
		return gzip.NewReader(br)
	}
	return br, nil
}

// unknown reports whether m or any message in it has unknown fields.
func unknown(m protoreflect.Message) bool {
	if len(m.GetUnknown()) > 0 {
		return true
	}
	found := false
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsList() && fd.Message() != nil:
			l := v.List()
			for i := 0; i < l.Len() && !found; i++ {
				found = unknown(l.Get(i).Message())
			}
		case fd.Message() != nil && !fd.IsMap():
			found = unknown(v.Message())
		}
		return !found
	})
	return found
}

func check(path string, out io.Writer, counts map[pb.TraceEvent_Type]int) error {
	in, err := open(path)
	if err != nil {
		return err
	}
	data, err := io.ReadAll(in)
	if err != nil {
		return err
	}
	pbr := pbio.NewDelimitedReader(bytes.NewReader(data), 1<<22)
	enc := json.NewEncoder(out)
	// go's own encoding of every record, framed as PBTracer frames it
	var mine []byte
	for n := 0; ; n++ {
		var evt pb.TraceEvent
		err := pbr.ReadMsg(&evt)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("record %d: %w", n, err)
		}
		if unknown(evt.ProtoReflect()) {
			return fmt.Errorf("record %d: fields go's trace.proto does not have", n)
		}
		rec, err := proto.Marshal(&evt)
		if err != nil {
			return err
		}
		mine = append(mine, protowireUvarint(uint64(len(rec)))...)
		mine = append(mine, rec...)
		if !bytes.HasPrefix(data, mine) {
			return fmt.Errorf("record %d: go writes %x, lp2p wrote %x", n, rec,
				data[len(mine)-len(rec):min(len(data), len(mine))])
		}
		counts[evt.GetType()]++
		if err := enc.Encode(&evt); err != nil {
			return err
		}
	}
	if len(mine) != len(data) {
		return fmt.Errorf("%d bytes after the last record", len(data)-len(mine))
	}
	return nil
}

func protowireUvarint(v uint64) []byte {
	var b []byte
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

func main() {
	statPath := flag.String("stat", "", "where to write the counts per type")
	jsonPath := flag.String("json", "", "where to write the JSON lines")
	flag.Parse()
	if flag.NArg() != 1 || *statPath == "" || *jsonPath == "" {
		fmt.Fprintln(os.Stderr, "usage: tracecheck -stat COUNTS -json OUT FILE")
		os.Exit(2)
	}
	out, err := os.Create(*jsonPath)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	counts := map[pb.TraceEvent_Type]int{}
	if err := check(flag.Arg(0), out, counts); err != nil {
		fmt.Fprintf(os.Stderr, "tracecheck: %s: %v\n", flag.Arg(0), err)
		os.Exit(1)
	}
	out.Close()
	stat, err := os.Create(*statPath)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for t := pb.TraceEvent_PUBLISH_MESSAGE; t <= pb.TraceEvent_SEND_RPC_COMPLETED; t++ {
		if counts[t] > 0 {
			fmt.Fprintf(stat, "%s %d\n", t, counts[t])
		}
	}
	stat.Close()
}
