package main

// --bench: what the network benchmark (bench/run-network.sh) needs from a
// node without a stdout line per message, as lp2p node's --bench
// (cli/node_bench.c): deliveries of other authors are counted, and those
// whose data begins with "t=<unix time in microseconds> " have their latency
// on the machine's wall clock put in a log-linear histogram (values below 32
// us one bucket each, then 32 buckets per power of two), printed in the
// stats line as "bench":{"delivered","bytes","timed","hist":[[bucket,n]...]}.

import (
	"math/bits"
	"sync"
	"time"
)

const (
	benchSub     = 32
	benchBuckets = 1024
)

type bench struct {
	mu                      sync.Mutex
	delivered, bytes, timed uint64
	hist                    [benchBuckets]uint32
}

func benchBucket(us uint64) int {
	if us < benchSub {
		return int(us)
	}
	e := uint64(bits.Len64(us)) // us is in [2^(e-1), 2^e)
	b := benchSub*(e-5) + (us >> (e - 6)) - benchSub
	if b >= benchBuckets {
		return benchBuckets - 1
	}
	return int(b)
}

// stampOf reads "t=<digits> " at the start of data; 0 when there is none.
func stampOf(data []byte) uint64 {
	if len(data) < 4 || data[0] != 't' || data[1] != '=' {
		return 0
	}
	var t uint64
	i := 2
	for ; i < len(data) && i < 21 && data[i] >= '0' && data[i] <= '9'; i++ {
		t = t*10 + uint64(data[i]-'0')
	}
	if i > 2 && i < len(data) && data[i] == ' ' {
		return t
	}
	return 0
}

func (b *bench) record(data []byte) {
	now := uint64(time.Now().UnixMicro())
	b.mu.Lock()
	defer b.mu.Unlock()
	b.delivered++
	b.bytes += uint64(len(data))
	t := stampOf(data)
	if t == 0 {
		return
	}
	b.timed++
	var lat uint64
	if now > t {
		lat = now - t
	}
	b.hist[benchBucket(lat)]++
}

func (b *bench) json() map[string]any {
	b.mu.Lock()
	defer b.mu.Unlock()
	hist := make([][2]uint64, 0)
	for i, n := range b.hist {
		if n > 0 {
			hist = append(hist, [2]uint64{uint64(i), uint64(n)})
		}
	}
	return map[string]any{"delivered": b.delivered, "bytes": b.bytes, "timed": b.timed, "hist": hist}
}
