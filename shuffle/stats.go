package shuffle

import (
	"context"
	"maps"
	"sync"
	"sync/atomic"

	"google.golang.org/grpc/stats"
	"google.golang.org/grpc/status"

	"github.com/spindle-engine/spindle/shuffle/pb"
)

// Stats is what a service has served since it started.
type Stats struct {
	BlocksServed int64 // segments sent whole
	BytesServed  int64 // segment bytes sent
	OpenStreams  int64 // Fetch calls running now
	// Errors counts failed calls by method (its short name, e.g. "Fetch") and
	// gRPC code (e.g. "NotFound"), those refused for naming another application
	// included. A connection whose handshake the service refused makes no call.
	Errors map[ErrorKey]int64
}

// ErrorKey classifies a failed call.
type ErrorKey struct {
	Method string
	Code   string
}

// Stats returns what the service has served so far.
func (s *Service) Stats() Stats {
	return Stats{
		BlocksServed: s.stats.blocks.Load(),
		BytesServed:  s.stats.bytes.Load(),
		OpenStreams:  s.stats.streams.Load(),
		Errors:       s.stats.errorCounts(),
	}
}

// serviceStats counts a service's traffic. It is the server's gRPC stats handler,
// which sees every call end, those the interceptors refuse too.
type serviceStats struct {
	blocks, bytes, streams atomic.Int64

	mu     sync.Mutex
	errors map[ErrorKey]int64
}

func (st *serviceStats) init() { st.errors = map[ErrorKey]int64{} }

func (st *serviceStats) errorCounts() map[ErrorKey]int64 {
	st.mu.Lock()
	defer st.mu.Unlock()
	return maps.Clone(st.errors)
}

type methodKey struct{}

// methodNames maps the protocol's full method names to short ones; calls of other
// names count under "other", so a caller cannot grow the map.
var methodNames = map[string]string{
	pb.ShuffleService_Fetch_FullMethodName:             "Fetch",
	pb.ShuffleService_RegisterExecutor_FullMethodName:  "RegisterExecutor",
	pb.ShuffleService_RemoveApplication_FullMethodName: "RemoveApplication",
}

func (st *serviceStats) TagRPC(ctx context.Context, info *stats.RPCTagInfo) context.Context {
	name, ok := methodNames[info.FullMethodName]
	if !ok {
		name = "other"
	}
	return context.WithValue(ctx, methodKey{}, name)
}

func (st *serviceStats) HandleRPC(ctx context.Context, s stats.RPCStats) {
	method, _ := ctx.Value(methodKey{}).(string)
	switch s := s.(type) {
	case *stats.Begin:
		if method == "Fetch" {
			st.streams.Add(1)
		}
	case *stats.End:
		if method == "Fetch" {
			st.streams.Add(-1)
		}
		if s.Error != nil {
			k := ErrorKey{Method: method, Code: status.Code(s.Error).String()}
			st.mu.Lock()
			st.errors[k]++
			st.mu.Unlock()
		}
	}
}

func (st *serviceStats) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context {
	return ctx
}

func (st *serviceStats) HandleConn(context.Context, stats.ConnStats) {}
