package shuffle

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/spindle-engine/spindle/shuffle/pb"
)

// chunkSize bounds the data of one streamed message.
const chunkSize = 1 << 20

// Service serves map output segments over gRPC: the protocol of an executor serving
// its own output, and of the node's external shuffle service.
type Service struct {
	pb.UnimplementedShuffleServiceServer
	secrets Secrets
	log     zerolog.Logger

	mu   sync.Mutex
	dirs map[string]map[string][]string // app → executor → local dirs
}

// NewService makes a service that authenticates callers with secrets.
func NewService(secrets Secrets, log zerolog.Logger) *Service {
	return &Service{secrets: secrets, log: log, dirs: map[string]map[string][]string{}}
}

// Serve serves on lis until ctx ends, then stops gracefully (forcibly after 5 s).
func (s *Service) Serve(ctx context.Context, lis net.Listener) error {
	srv := grpc.NewServer(interceptors(s.secrets)...)
	pb.RegisterShuffleServiceServer(srv, s)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(lis) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	stopped := make(chan struct{})
	go func() { srv.GracefulStop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		srv.Stop()
		<-stopped
	}
	<-done
	return nil
}

// RegisterExecutor records where an executor keeps its map outputs.
func (s *Service) RegisterExecutor(ctx context.Context, req *pb.RegisterExecutorRequest) (*pb.RegisterExecutorResponse, error) {
	if err := callerApp(ctx, req.AppId); err != nil {
		return nil, err
	}
	if req.ExecutorId == "" || len(req.LocalDirs) == 0 {
		return nil, status.Error(codes.InvalidArgument, "shuffle service: an executor needs an id and local dirs")
	}
	for _, d := range req.LocalDirs {
		if !filepath.IsAbs(d) {
			return nil, status.Errorf(codes.InvalidArgument, "shuffle service: local dir %q is not absolute", d)
		}
	}
	s.mu.Lock()
	if s.dirs[req.AppId] == nil {
		s.dirs[req.AppId] = map[string][]string{}
	}
	s.dirs[req.AppId][req.ExecutorId] = append([]string(nil), req.LocalDirs...)
	s.mu.Unlock()
	s.log.Info().Str("app", req.AppId).Str("executor", req.ExecutorId).Strs("dirs", req.LocalDirs).Msg("executor registered")
	return &pb.RegisterExecutorResponse{}, nil
}

func (s *Service) executorDirs(app, executor string) ([]string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.dirs[app][executor]
	return d, ok
}

// Fetch streams the requested segments in chunks of at most 1 MiB.
func (s *Service) Fetch(req *pb.FetchRequest, stream pb.ShuffleService_FetchServer) error {
	if err := callerApp(stream.Context(), req.AppId); err != nil {
		return err
	}
	dirs, ok := s.executorDirs(req.AppId, req.ExecutorId)
	if !ok {
		return status.Errorf(codes.NotFound, "shuffle service: executor %s of %s is not registered", req.ExecutorId, req.AppId)
	}
	buf := make([]byte, chunkSize)
	for _, r := range req.ReduceIds {
		if err := s.sendSegment(stream, dirs, req, int(r), buf); err != nil {
			return err
		}
	}
	return nil
}

func (s *Service) sendSegment(stream pb.ShuffleService_FetchServer, dirs []string, req *pb.FetchRequest, reduce int, buf []byte) error {
	rc, _, err := OpenSegment(dirs, int(req.ShuffleId), int(req.MapId), reduce)
	if errors.Is(err, ErrMissingOutput) {
		return status.Errorf(codes.NotFound, "shuffle %d map %d reduce %d of %s: %v", req.ShuffleId, req.MapId, reduce, req.AppId, err)
	}
	if err != nil {
		return status.Errorf(codes.Internal, "shuffle %d map %d reduce %d: %v", req.ShuffleId, req.MapId, reduce, err)
	}
	defer rc.Close()
	for {
		n, err := io.ReadFull(rc, buf)
		last := err == io.EOF || err == io.ErrUnexpectedEOF
		if err != nil && !last {
			return status.Errorf(codes.Internal, "read shuffle %d map %d reduce %d: %v", req.ShuffleId, req.MapId, reduce, err)
		}
		if err := stream.Send(&pb.Chunk{ReduceId: int32(reduce), Data: buf[:n], Last: last}); err != nil {
			return err
		}
		if last {
			return nil
		}
	}
}

// RemoveApplication deletes the application's shuffle files from its executors'
// directories and forgets the application.
func (s *Service) RemoveApplication(ctx context.Context, req *pb.RemoveApplicationRequest) (*pb.RemoveApplicationResponse, error) {
	if err := callerApp(ctx, req.AppId); err != nil {
		return nil, err
	}
	s.mu.Lock()
	execs := s.dirs[req.AppId]
	delete(s.dirs, req.AppId)
	s.mu.Unlock()
	removed := 0
	for _, dirs := range execs {
		for _, d := range dirs {
			entries, err := os.ReadDir(d)
			if err != nil {
				continue
			}
			for _, e := range entries {
				if strings.HasPrefix(e.Name(), "shuffle_") && os.Remove(filepath.Join(d, e.Name())) == nil {
					removed++
				}
			}
		}
	}
	s.log.Info().Str("app", req.AppId).Int("files", removed).Msg("application removed")
	return &pb.RemoveApplicationResponse{FilesRemoved: int32(removed)}, nil
}
