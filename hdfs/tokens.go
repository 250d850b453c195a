package hdfs

import (
	"context"
	"fmt"
	"net/url"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/spindle-engine/spindle/hdfs/pb"
	"github.com/spindle-engine/spindle/ipc"
	ipcpb "github.com/spindle-engine/spindle/ipc/pb"
)

// DelegationToken obtains an HDFS delegation token from the NameNode of fsURL
// (hdfs://host:port, or hdfs:/// for the default FS) that renewer (a principal or
// short name) may renew, with the service Hadoop clients select it by: the
// NameNode's IP and port. The NameNode issues tokens only over Kerberos, so the
// FileSystems needs a login and no token for that NameNode. An open cluster's
// NameNode issues none: the result is then nil.
func (f *FileSystems) DelegationToken(ctx context.Context, fsURL, renewer string) (*ipc.Token, error) {
	h, host, err := f.nameNodeOf(ctx, fsURL)
	if err != nil {
		return nil, err
	}
	req := &pb.GetDelegationTokenRequestProto{Renewer: proto.String(renewer)}
	var resp pb.GetDelegationTokenResponseProto
	if err := h.nn.call(ctx, "delegation token", fsURL, "getDelegationToken", req, &resp); err != nil {
		return nil, err
	}
	if resp.Token == nil {
		return nil, nil
	}
	t := resp.GetToken()
	svc, err := ipc.TokenService(ctx, host, f.opts.Security.TokenServiceByName)
	if err != nil {
		return nil, err
	}
	return &ipc.Token{Identifier: t.GetIdentifier(), Password: t.GetPassword(), Kind: t.GetKind(), Service: svc}, nil
}

// RenewDelegationToken extends tok's life by the NameNode's renew interval, up to
// its max date, and returns the new expiry. Only the token's renewer may.
func (f *FileSystems) RenewDelegationToken(ctx context.Context, fsURL string, tok *ipc.Token) (time.Time, error) {
	h, _, err := f.nameNodeOf(ctx, fsURL)
	if err != nil {
		return time.Time{}, err
	}
	req := &pb.RenewDelegationTokenRequestProto{Token: tokenProto(tok)}
	var resp pb.RenewDelegationTokenResponseProto
	if err := h.nn.call(ctx, "renew delegation token", fsURL, "renewDelegationToken", req, &resp); err != nil {
		return time.Time{}, err
	}
	return time.UnixMilli(int64(resp.GetNewExpiryTime())), nil
}

// CancelDelegationToken revokes tok.
func (f *FileSystems) CancelDelegationToken(ctx context.Context, fsURL string, tok *ipc.Token) error {
	h, _, err := f.nameNodeOf(ctx, fsURL)
	if err != nil {
		return err
	}
	req := &pb.CancelDelegationTokenRequestProto{Token: tokenProto(tok)}
	return h.nn.call(ctx, "cancel delegation token", fsURL, "cancelDelegationToken", req, &pb.CancelDelegationTokenResponseProto{})
}

// nameNodeOf returns the clients of the NameNode that fsURL names, and its address.
func (f *FileSystems) nameNodeOf(ctx context.Context, fsURL string) (*hdfsFS, string, error) {
	u, err := url.Parse(fsURL)
	if err != nil {
		return nil, "", fmt.Errorf("filesystem %s: %w", fsURL, err)
	}
	if u.Scheme != "hdfs" {
		return nil, "", fmt.Errorf("filesystem %s is not HDFS (hdfs://host:port)", fsURL)
	}
	host := u.Host
	if host == "" {
		d, err := url.Parse(f.opts.DefaultFS)
		if err != nil || d.Scheme != "hdfs" || d.Host == "" {
			return nil, "", fmt.Errorf("filesystem %s: fs.defaultFS %q names no NameNode", fsURL, f.opts.DefaultFS)
		}
		host = d.Host
	}
	if f.isClosed() {
		return nil, "", ErrClosed
	}
	h, err := f.hdfs(ctx, host)
	if err != nil {
		return nil, "", err
	}
	return h, host, nil
}

func tokenProto(t *ipc.Token) *ipcpb.TokenProto {
	return &ipcpb.TokenProto{Identifier: nonNil(t.Identifier), Password: nonNil(t.Password), Kind: proto.String(t.Kind), Service: proto.String(t.Service)}
}

// nonNil keeps required bytes fields present on the wire when empty.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
