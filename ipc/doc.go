// Package ipc is a Hadoop IPC client: the connection preamble and
// IpcConnectionContextProto, RpcRequestHeaderProto/RequestHeaderProto
// framing, many concurrent calls multiplexed on one pooled connection,
// pings, reconnects, SASL (SIMPLE, TOKEN/DIGEST-MD5, KERBEROS/GSSAPI) with
// auth, auth-int and auth-conf protection, and Java exceptions as typed
// errors (*RemoteError, matched with errors.Is to ErrStandby and friends).
//
// It is shared by the yarn and hdfs packages; see
// /work/shared/notes/hadoop-wire.md §1–2 for the wire facts it follows.
package ipc
