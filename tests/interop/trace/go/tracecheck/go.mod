module lp2p.test/interop/tracecheck

go 1.26.6

require (
	github.com/libp2p/go-libp2p-pubsub v0.19.0
	github.com/libp2p/go-msgio v0.3.0
	google.golang.org/protobuf v1.36.11
)

require github.com/multiformats/go-varint v0.1.0 // indirect
