// Package ipc is a Hadoop IPC client: the connection preamble and
// IpcConnectionContextProto, RpcRequestHeaderProto/RequestHeaderProto
// framing, many concurrent calls multiplexed on one pooled connection,
// pings, reconnects, SASL (SIMPLE, TOKEN/DIGEST-MD5, KERBEROS/GSSAPI) with
// auth, auth-int and auth-conf protection, and Java exceptions as typed
// errors (*RemoteError, matched with errors.Is to ErrStandby and friends).
//
// The SASL method is chosen as Hadoop's SaslRpcClient chooses it, in the server's
// order: TOKEN with the token whose service names the server (Config.Tokens,
// TokenService, SelectToken) or the one given (Config.Token), KERBEROS with a
// login towards the principal the configuration expects (_HOST or a pattern;
// *PrincipalError otherwise). DialStream hands an authenticated connection to a
// client that frames its own calls (colinmarc/hdfs's NameNode client).
//
// It is shared by the yarn and hdfs packages; see
// /work/shared/notes/hadoop-wire.md §1–2 for the wire facts it follows.
package ipc
