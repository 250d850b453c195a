package shuffle

import (
	"context"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/spindle-engine/spindle/security/handshake"
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
	dirs := make([]string, len(req.LocalDirs))
	for i, d := range req.LocalDirs {
		dirs[i] = filepath.Clean(d)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// An application may only name directories no other application registered,
	// or it could fetch, and remove, another application's files.
	for app, execs := range s.dirs {
		if app == req.AppId {
			continue
		}
		for _, theirs := range execs {
			for _, d := range dirs {
				if slices.ContainsFunc(theirs, func(t string) bool { return nested(d, t) }) {
					return nil, status.Errorf(codes.PermissionDenied, "shuffle service: local dir %s belongs to another application", d)
				}
			}
		}
	}
	if s.dirs[req.AppId] == nil {
		s.dirs[req.AppId] = map[string][]string{}
	}
	s.dirs[req.AppId][req.ExecutorId] = dirs
	s.log.Info().Str("app", req.AppId).Str("executor", req.ExecutorId).Strs("dirs", req.LocalDirs).Msg("executor registered")
	return &pb.RegisterExecutorResponse{}, nil
}

// nested reports whether one of two clean absolute paths is the other or inside it.
func nested(a, b string) bool {
	if len(a) > len(b) {
		a, b = b, a
	}
	return a == b || strings.HasPrefix(b, a) && (strings.HasSuffix(a, string(filepath.Separator)) || b[len(a)] == filepath.Separator)
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
	for _, r := range req.ReduceIds {
		if err := s.sendSegment(stream, dirs, req, int(r)); err != nil {
			return err
		}
	}
	return nil
}

func (s *Service) sendSegment(stream pb.ShuffleService_FetchServer, dirs []string, req *pb.FetchRequest, reduce int) error {
	rc, _, err := OpenSegment(dirs, int(req.ShuffleId), int(req.MapId), reduce)
	if errors.Is(err, ErrMissingOutput) {
		return status.Errorf(codes.NotFound, "shuffle %d map %d reduce %d of %s: %v", req.ShuffleId, req.MapId, reduce, req.AppId, err)
	}
	if errors.Is(err, ErrCorrupt) {
		return status.Errorf(codes.DataLoss, "shuffle %d map %d reduce %d of %s: %v", req.ShuffleId, req.MapId, reduce, req.AppId, err)
	}
	if err != nil {
		return status.Errorf(codes.Internal, "shuffle %d map %d reduce %d: %v", req.ShuffleId, req.MapId, reduce, err)
	}
	defer rc.Close()
	for {
		// A fresh buffer per chunk: gRPC forbids changing a message after Send, as
		// stats handlers may read it later.
		buf := make([]byte, chunkSize)
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

// Metadata keys of the per-application authentication: the caller proves it knows
// the application's secret with an HMAC over the application, the method and a fresh
// nonce of its own. The secret itself never travels.
const (
	mdApp   = "spindle-app"
	mdNonce = "spindle-nonce"
	mdAuth  = "spindle-auth"
)

// Secrets gives the shared secret of an application.
type Secrets interface {
	Secret(appID string) ([]byte, bool)
}

// callMAC is the hex proof a caller sends with one call.
func callMAC(secret []byte, app, method, nonce string) string {
	return hex.EncodeToString(handshake.Proof(secret, handshake.ShuffleCall, app, method, nonce))
}

func verifyMAC(secret []byte, got, app, method, nonce string) bool {
	mac, err := hex.DecodeString(got)
	return err == nil && handshake.Verify(secret, mac, handshake.ShuffleCall, app, method, nonce)
}

// authenticate checks an incoming call's credentials and returns its application.
func authenticate(ctx context.Context, secrets Secrets, method string) (string, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	get := func(k string) string {
		if v := md.Get(k); len(v) == 1 {
			return v[0]
		}
		return ""
	}
	app, nonce, got := get(mdApp), get(mdNonce), get(mdAuth)
	if app == "" || nonce == "" || got == "" {
		return "", status.Error(codes.Unauthenticated, "shuffle service: missing application credentials")
	}
	secret, ok := secrets.Secret(app)
	if !ok || !verifyMAC(secret, got, app, method, nonce) {
		return "", status.Errorf(codes.Unauthenticated, "shuffle service: bad credentials for application %s", app)
	}
	return app, nil
}

type appKey struct{}

// interceptors authenticate every call and put its application in the context.
func interceptors(secrets Secrets) []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.UnaryInterceptor(func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			app, err := authenticate(ctx, secrets, info.FullMethod)
			if err != nil {
				return nil, err
			}
			return h(context.WithValue(ctx, appKey{}, app), req)
		}),
		grpc.StreamInterceptor(func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
			app, err := authenticate(ss.Context(), secrets, info.FullMethod)
			if err != nil {
				return err
			}
			return h(srv, &appStream{ServerStream: ss, ctx: context.WithValue(ss.Context(), appKey{}, app)})
		}),
	}
}

// appStream is a server stream whose context carries the authenticated application.
type appStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *appStream) Context() context.Context { return s.ctx }

// callerApp refuses a request naming an application other than the caller's.
func callerApp(ctx context.Context, requested string) error {
	if app, _ := ctx.Value(appKey{}).(string); app != requested {
		return status.Errorf(codes.PermissionDenied, "shuffle service: credentials of %s cannot act for %s", app, requested)
	}
	return nil
}
