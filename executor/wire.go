// Package executor is the executor process's side of a cluster application and the
// driver's backend for it: executors dial the driver over gRPC, register, run the
// tasks the driver launches and report their ends (see pb/executor.proto).
package executor

import (
	"errors"
	"fmt"
	"time"

	"github.com/spindle-engine/spindle/executor/pb"
	"github.com/spindle-engine/spindle/scheduler"
)

// maxMessage bounds one protocol message: task results can be large.
const maxMessage = 512 << 20

// RemoteTaskError is a task failure as an executor reported it: the message of the
// error (a user's panic with its stack, say), and whether retrying can help.
type RemoteTaskError struct {
	Message      string
	NotRetriable bool
	// CommitDenied says the driver refused the attempt's output commit.
	CommitDenied bool
}

func (e *RemoteTaskError) Error() string { return e.Message }

// Is makes a not-retriable remote failure fail its job at once, and a denied
// commit not count as a failure, as they would in-process.
func (e *RemoteTaskError) Is(target error) bool {
	return e.NotRetriable && target == scheduler.ErrNotRetriable ||
		e.CommitDenied && target == scheduler.ErrCommitDenied
}

// refCacheSize is how many shared task parts (a stage's map output lists and plan
// payloads) each end of a stream remembers. Both ends add and evict in the order
// definitions travel, so they always agree on what a ref names.
const refCacheSize = 64

// refCache is a FIFO of shared task parts by ref.
type refCache[V any] struct {
	next  int64
	order []int64
	byRef map[int64]V
}

func newRefCache[V any]() *refCache[V] { return &refCache[V]{byRef: map[int64]V{}} }

func (c *refCache[V]) put(ref int64, v V) {
	if len(c.order) == refCacheSize {
		delete(c.byRef, c.order[0])
		c.order = c.order[1:]
	}
	c.order = append(c.order, ref)
	c.byRef[ref] = v
}

// taskEncoder turns tasks into messages for one executor, sending each stage's map
// outputs and payload once instead of with every task: with thousands of map tasks
// the list is most of a reduce task's bytes.
type taskEncoder struct {
	// Shared parts are known by the address of their first byte or element; the
	// cache holds the slices, so an address is not reused while it is cached.
	inputs   *refCache[[]scheduler.MapStatus]
	inputRef map[*scheduler.MapStatus]int64
	payloads *refCache[[]byte]
	payRef   map[*byte]int64
}

func newTaskEncoder() *taskEncoder {
	return &taskEncoder{inputs: newRefCache[[]scheduler.MapStatus](), inputRef: map[*scheduler.MapStatus]int64{},
		payloads: newRefCache[[]byte](), payRef: map[*byte]int64{}}
}

func (e *taskEncoder) encode(t *scheduler.Task) *pb.Task {
	p := &pb.Task{
		Id: t.ID, JobId: int32(t.JobID), StageId: int32(t.StageID), StageAttempt: int32(t.StageAttempt),
		Partition: int32(t.Partition), Attempt: int32(t.Attempt), ShuffleId: int32(t.ShuffleID),
		NumTasks: int32(t.NumTasks), Preferred: t.Preferred, Locality: int32(t.Locality),
	}
	if len(t.Payload) > 0 {
		key := &t.Payload[0]
		if ref, ok := e.payRef[key]; ok && e.payloads.byRef[ref] != nil {
			p.PayloadRef = ref
		} else {
			e.payloads.next++
			ref = e.payloads.next
			e.evictPayload()
			e.payloads.put(ref, t.Payload)
			e.payRef[key] = ref
			p.PayloadRef, p.Payload = ref, t.Payload
		}
	}
	for _, in := range t.Inputs {
		pin := &pb.ShuffleInput{ShuffleId: int32(in.ShuffleID)}
		if len(in.Maps) > 0 {
			key := &in.Maps[0]
			if ref, ok := e.inputRef[key]; ok && e.inputs.byRef[ref] != nil {
				pin.Ref = ref
				p.Inputs = append(p.Inputs, pin)
				continue
			}
			e.inputs.next++
			pin.Ref, pin.Define = e.inputs.next, true
			e.evictInput()
			e.inputs.put(pin.Ref, in.Maps)
			e.inputRef[key] = pin.Ref
		}
		pin.Maps = make([]*pb.MapStatus, len(in.Maps))
		for i, m := range in.Maps {
			pin.Maps[i] = &pb.MapStatus{Executor: m.Executor, Host: m.Host, Addr: m.Addr, Sizes: m.Sizes}
		}
		p.Inputs = append(p.Inputs, pin)
	}
	return p
}

// evictInput drops the key of the input the cache is about to evict.
func (e *taskEncoder) evictInput() {
	if len(e.inputs.order) == refCacheSize {
		maps := e.inputs.byRef[e.inputs.order[0]]
		delete(e.inputRef, &maps[0])
	}
}

func (e *taskEncoder) evictPayload() {
	if len(e.payloads.order) == refCacheSize {
		b := e.payloads.byRef[e.payloads.order[0]]
		delete(e.payRef, &b[0])
	}
}

// taskDecoder is the executor's end of taskEncoder.
type taskDecoder struct {
	inputs   *refCache[[]scheduler.MapStatus]
	payloads *refCache[[]byte]
}

func newTaskDecoder() *taskDecoder {
	return &taskDecoder{inputs: newRefCache[[]scheduler.MapStatus](), payloads: newRefCache[[]byte]()}
}

func (d *taskDecoder) decode(p *pb.Task) (*scheduler.Task, error) {
	t := &scheduler.Task{
		ID: p.Id, JobID: int(p.JobId), StageID: int(p.StageId), StageAttempt: int(p.StageAttempt),
		Partition: int(p.Partition), Attempt: int(p.Attempt), ShuffleID: int(p.ShuffleId),
		NumTasks: int(p.NumTasks), Preferred: p.Preferred, Locality: scheduler.Locality(p.Locality),
		Payload: p.Payload,
	}
	switch {
	case p.PayloadRef != 0 && p.Payload != nil:
		d.payloads.put(p.PayloadRef, p.Payload)
	case p.PayloadRef != 0:
		b, ok := d.payloads.byRef[p.PayloadRef]
		if !ok {
			return nil, fmt.Errorf("task %d: unknown payload ref %d", p.Id, p.PayloadRef)
		}
		t.Payload = b
	}
	for _, pin := range p.Inputs {
		in := scheduler.ShuffleInput{ShuffleID: int(pin.ShuffleId)}
		if pin.Ref != 0 && !pin.Define {
			maps, ok := d.inputs.byRef[pin.Ref]
			if !ok {
				return nil, fmt.Errorf("task %d: unknown map output list ref %d", p.Id, pin.Ref)
			}
			in.Maps = maps
		} else {
			in.Maps = make([]scheduler.MapStatus, len(pin.Maps))
			for i, m := range pin.Maps {
				in.Maps[i] = scheduler.MapStatus{Executor: m.Executor, Host: m.Host, Addr: m.Addr, Sizes: m.Sizes}
			}
			if pin.Define {
				d.inputs.put(pin.Ref, in.Maps)
			}
		}
		t.Inputs = append(t.Inputs, in)
	}
	return t, nil
}

func resultToProto(r *scheduler.TaskResult) *pb.TaskResult {
	if r == nil {
		r = &scheduler.TaskResult{}
	}
	m := r.Metrics
	return &pb.TaskResult{Sizes: r.Sizes, Data: r.Data, Metrics: &pb.Metrics{
		DurationNanos: int64(m.Duration), RecordsRead: m.RecordsRead, RecordsWritten: m.RecordsWritten,
		ShuffleReadBytes: m.ShuffleReadBytes, ShuffleWriteBytes: m.ShuffleWriteBytes,
		SpillBytes: m.SpillBytes, DroppedMalformed: m.DroppedMalformed,
	}}
}

func resultFromProto(p *pb.TaskResult) *scheduler.TaskResult {
	m := p.GetMetrics()
	return &scheduler.TaskResult{Sizes: p.Sizes, Data: p.Data, Metrics: scheduler.TaskMetrics{
		Duration: time.Duration(m.GetDurationNanos()), RecordsRead: m.GetRecordsRead(), RecordsWritten: m.GetRecordsWritten(),
		ShuffleReadBytes: m.GetShuffleReadBytes(), ShuffleWriteBytes: m.GetShuffleWriteBytes(),
		SpillBytes: m.GetSpillBytes(), DroppedMalformed: m.GetDroppedMalformed(),
	}}
}

// failureToProto keeps what the driver acts on: a fetch failure's map output,
// whether retrying can help, and a panic as itself, so that the driver's caller finds
// the same typed error as in-process.
func failureToProto(err error) *pb.TaskFailure {
	f := &pb.TaskFailure{Message: err.Error()}
	var ff *scheduler.FetchFailedError
	var pe *scheduler.PanicError
	switch {
	case errors.As(err, &pe):
		f.Kind, f.Message, f.Stack = pb.TaskFailure_PANIC, pe.Value, pe.Stack
	case errors.As(err, &ff):
		f.Kind, f.ShuffleId, f.MapPartition, f.Executor, f.Host = pb.TaskFailure_FETCH_FAILED, int32(ff.ShuffleID), int32(ff.MapPartition), ff.Executor, ff.Host
		f.Addr, f.Unreachable = ff.Addr, ff.Unreachable
		if ff.Err != nil {
			f.Message = ff.Err.Error() // the driver's FetchFailedError adds the rest
		}
	case errors.Is(err, scheduler.ErrNotRetriable):
		f.Kind = pb.TaskFailure_NOT_RETRIABLE
	case errors.Is(err, scheduler.ErrCommitDenied):
		f.Kind = pb.TaskFailure_COMMIT_DENIED
	}
	return f
}

func failureFromProto(f *pb.TaskFailure) error {
	switch f.Kind {
	case pb.TaskFailure_FETCH_FAILED:
		return &scheduler.FetchFailedError{ShuffleID: int(f.ShuffleId), MapPartition: int(f.MapPartition),
			Executor: f.Executor, Host: f.Host, Addr: f.Addr, Unreachable: f.Unreachable, Err: &RemoteTaskError{Message: f.Message}}
	case pb.TaskFailure_NOT_RETRIABLE:
		return &RemoteTaskError{Message: f.Message, NotRetriable: true}
	case pb.TaskFailure_PANIC:
		return &scheduler.PanicError{Value: f.Message, Stack: f.Stack}
	case pb.TaskFailure_COMMIT_DENIED:
		return &RemoteTaskError{Message: f.Message, CommitDenied: true}
	}
	return &RemoteTaskError{Message: f.Message}
}
