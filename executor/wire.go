// Package executor is the executor process's side of a cluster application and the
// driver's backend for it: executors dial the driver over gRPC, register, run the
// tasks the driver launches and report their ends (see pb/executor.proto).
package executor

import (
	"crypto/hmac"
	"crypto/sha256"
	"errors"
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
}

func (e *RemoteTaskError) Error() string { return e.Message }

// Is makes a not-retriable remote failure fail its job at once, as it would have
// in-process.
func (e *RemoteTaskError) Is(target error) bool {
	return e.NotRetriable && target == scheduler.ErrNotRetriable
}

// proof is what an executor sends to show it holds the application's secret.
func proof(secret []byte, appID, executorID string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(appID + "|" + executorID))
	return m.Sum(nil)
}

func taskToProto(t *scheduler.Task) *pb.Task {
	p := &pb.Task{
		Id: t.ID, JobId: int32(t.JobID), StageId: int32(t.StageID), StageAttempt: int32(t.StageAttempt),
		Partition: int32(t.Partition), Attempt: int32(t.Attempt), ShuffleId: int32(t.ShuffleID),
		NumTasks: int32(t.NumTasks), Preferred: t.Preferred, Payload: t.Payload, Locality: int32(t.Locality),
	}
	for _, in := range t.Inputs {
		pin := &pb.ShuffleInput{ShuffleId: int32(in.ShuffleID), Maps: make([]*pb.MapStatus, len(in.Maps))}
		for i, m := range in.Maps {
			pin.Maps[i] = &pb.MapStatus{Executor: m.Executor, Host: m.Host, Addr: m.Addr, Sizes: m.Sizes}
		}
		p.Inputs = append(p.Inputs, pin)
	}
	return p
}

func taskFromProto(p *pb.Task) *scheduler.Task {
	t := &scheduler.Task{
		ID: p.Id, JobID: int(p.JobId), StageID: int(p.StageId), StageAttempt: int(p.StageAttempt),
		Partition: int(p.Partition), Attempt: int(p.Attempt), ShuffleID: int(p.ShuffleId),
		NumTasks: int(p.NumTasks), Preferred: p.Preferred, Payload: p.Payload, Locality: scheduler.Locality(p.Locality),
	}
	for _, pin := range p.Inputs {
		in := scheduler.ShuffleInput{ShuffleID: int(pin.ShuffleId), Maps: make([]scheduler.MapStatus, len(pin.Maps))}
		for i, m := range pin.Maps {
			in.Maps[i] = scheduler.MapStatus{Executor: m.Executor, Host: m.Host, Addr: m.Addr, Sizes: m.Sizes}
		}
		t.Inputs = append(t.Inputs, in)
	}
	return t
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

// failureToProto keeps what the driver acts on: a fetch failure's map output, and
// whether retrying can help.
func failureToProto(err error) *pb.TaskFailure {
	f := &pb.TaskFailure{Message: err.Error()}
	var ff *scheduler.FetchFailedError
	switch {
	case errors.As(err, &ff):
		f.Kind, f.ShuffleId, f.MapPartition, f.Executor = pb.TaskFailure_FETCH_FAILED, int32(ff.ShuffleID), int32(ff.MapPartition), ff.Executor
		if ff.Err != nil {
			f.Message = ff.Err.Error() // the driver's FetchFailedError adds the rest
		}
	case errors.Is(err, scheduler.ErrNotRetriable):
		f.Kind = pb.TaskFailure_NOT_RETRIABLE
	}
	return f
}

func failureFromProto(f *pb.TaskFailure) error {
	switch f.Kind {
	case pb.TaskFailure_FETCH_FAILED:
		return &scheduler.FetchFailedError{ShuffleID: int(f.ShuffleId), MapPartition: int(f.MapPartition),
			Executor: f.Executor, Err: &RemoteTaskError{Message: f.Message}}
	case pb.TaskFailure_NOT_RETRIABLE:
		return &RemoteTaskError{Message: f.Message, NotRetriable: true}
	}
	return &RemoteTaskError{Message: f.Message}
}
