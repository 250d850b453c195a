package shuffle

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// Metadata keys of the per-application authentication: the caller proves it knows
// the application's secret with an HMAC over the application, the method and a fresh
// nonce. The secret itself never travels.
const (
	mdApp   = "spindle-app"
	mdNonce = "spindle-nonce"
	mdAuth  = "spindle-auth"
)

// Secrets gives the shared secret of an application.
type Secrets interface {
	Secret(appID string) ([]byte, bool)
}

func mac(secret []byte, app, method, nonce string) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(app + "\x00" + method + "\x00" + nonce))
	return hex.EncodeToString(m.Sum(nil))
}

// authContext adds the credentials of app to an outgoing call of method.
func authContext(ctx context.Context, app string, secret []byte, method string) (context.Context, error) {
	var n [16]byte
	if _, err := rand.Read(n[:]); err != nil {
		return nil, err
	}
	nonce := hex.EncodeToString(n[:])
	return metadata.AppendToOutgoingContext(ctx, mdApp, app, mdNonce, nonce, mdAuth, mac(secret, app, method, nonce)), nil
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
	if !ok || !hmac.Equal([]byte(got), []byte(mac(secret, app, method, nonce))) {
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

type appStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *appStream) Context() context.Context { return s.ctx }

// callerApp is the authenticated application of a call; requests must name it.
func callerApp(ctx context.Context, requested string) error {
	if app, _ := ctx.Value(appKey{}).(string); app != requested {
		return status.Errorf(codes.PermissionDenied, "shuffle service: credentials of %s cannot act for %s", app, requested)
	}
	return nil
}
