package shuffle

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/rs/zerolog"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/spindle-engine/spindle/security/handshake"
	"github.com/spindle-engine/spindle/shuffle/pb"
)

// Service serves map output segments over gRPC: the protocol of an executor serving
// its own output, and of the node's external shuffle service.
type Service struct {
	pb.UnimplementedShuffleServiceServer
	secrets Secrets
	log     zerolog.Logger
	reg     Registrations
	policy  DirPolicy
	stats   serviceStats
}

// DirPolicy may refuse the directories an application registers, beyond what every
// service refuses (another application's); the external service uses it to keep
// each application inside its own YARN application directories.
type DirPolicy func(app string, dirs []string) error

// ServiceOption configures a Service.
type ServiceOption func(*Service)

// WithRegistrations keeps registrations in r instead of in memory.
func WithRegistrations(r Registrations) ServiceOption {
	return func(s *Service) { s.reg = r }
}

// WithDirPolicy makes RegisterExecutor also ask p; its error refuses the
// registration with PermissionDenied.
func WithDirPolicy(p DirPolicy) ServiceOption {
	return func(s *Service) { s.policy = p }
}

// NewService makes a service that authenticates callers with secrets.
func NewService(secrets Secrets, log zerolog.Logger, opts ...ServiceOption) *Service {
	s := &Service{secrets: secrets, log: log, reg: NewMemRegistrations()}
	for _, o := range opts {
		o(s)
	}
	s.stats.init()
	return s
}

// Serve serves on lis until ctx ends, then stops gracefully (forcibly after 5 s).
func (s *Service) Serve(ctx context.Context, lis net.Listener) error {
	srv := grpc.NewServer(append(interceptors(s.secrets), s.serverOptions()...)...)
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
	e, err := CleanRegistration(req.ExecutorId, Executor{Dirs: req.LocalDirs, Layout: req.Layout})
	if err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "shuffle service: %v", err)
	}
	if s.policy != nil {
		if err := s.policy(req.AppId, e.Dirs); err != nil {
			return nil, status.Errorf(codes.PermissionDenied, "shuffle service: %v", err)
		}
	}
	if err := s.reg.RegisterExecutor(req.AppId, req.ExecutorId, e); err != nil {
		if errors.Is(err, ErrDirOwned) {
			return nil, status.Errorf(codes.PermissionDenied, "shuffle service: %v", err)
		}
		return nil, status.Errorf(codes.Internal, "shuffle service: register %s of %s: %v", req.ExecutorId, req.AppId, err)
	}
	s.log.Info().Str("app", req.AppId).Str("executor", req.ExecutorId).Strs("dirs", e.Dirs).Msg("executor registered")
	return &pb.RegisterExecutorResponse{}, nil
}

// RemoveApplication deletes the application's shuffle files from its executors'
// directories and forgets its executors.
func (s *Service) RemoveApplication(ctx context.Context, req *pb.RemoveApplicationRequest) (*pb.RemoveApplicationResponse, error) {
	if err := callerApp(ctx, req.AppId); err != nil {
		return nil, err
	}
	removed, err := s.DropApplication(req.AppId)
	if err != nil {
		return nil, status.Errorf(codes.Internal, "shuffle service: remove %s: %v", req.AppId, err)
	}
	return &pb.RemoveApplicationResponse{FilesRemoved: int32(removed)}, nil
}

// DropApplication forgets app's executors and deletes the shuffle files in their
// directories, returning how many it deleted: RemoveApplication's work, also done
// by the external service when its supervisor says the application ended.
func (s *Service) DropApplication(app string) (int, error) {
	execs, err := s.reg.RemoveApplication(app)
	if err != nil {
		return 0, err
	}
	removed := 0
	for _, e := range execs {
		for _, d := range e.Dirs {
			entries, err := os.ReadDir(d)
			if err != nil {
				continue
			}
			for _, f := range entries {
				if strings.HasPrefix(f.Name(), "shuffle_") && os.Remove(filepath.Join(d, f.Name())) == nil {
					removed++
				}
			}
		}
	}
	s.log.Info().Str("app", app).Int("executors", len(execs)).Int("files", removed).Msg("application removed")
	return removed, nil
}

// Secrets gives the shared secret of an application.
type Secrets interface {
	Secret(appID string) ([]byte, bool)
}

// authenticate returns the application whose secret the caller proved: the
// connection's handshake (security/handshake) did it before gRPC read a byte.
func authenticate(ctx context.Context) (string, error) {
	auth, ok := handshake.FromContext(ctx)
	if !ok || auth.App == "" {
		return "", status.Error(codes.Unauthenticated, "shuffle service: the connection is not authenticated")
	}
	return auth.App, nil
}

type appKey struct{}

// interceptors authenticate every connection with the handshake, under the secrets
// of the applications served, and put each call's application in its context.
func interceptors(secrets Secrets) []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.Creds(handshake.NewServerCredentials(secrets, handshake.ServerOptions{Purpose: handshake.PurposeShuffle})),
		grpc.UnaryInterceptor(func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			app, err := authenticate(ctx)
			if err != nil {
				return nil, err
			}
			return h(context.WithValue(ctx, appKey{}, app), req)
		}),
		grpc.StreamInterceptor(func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
			app, err := authenticate(ss.Context())
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
