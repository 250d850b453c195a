// Package yarn is Spindle's client for Hadoop YARN: the ResourceManager's
// ApplicationClientProtocol (ResourceManager), the ApplicationMasterProtocol
// (AMRMClient), the NodeManager's ContainerManagementProtocol (NMClient), and
// Hadoop's credentials file format (Credentials).
//
// Everything speaks Hadoop's own protocols through package ipc; the protobuf
// messages live in yarn/pb. Java exception classes the caller acts on are
// mapped to sentinels so that errors.Is works (see error.go), while errors.As
// still reaches the *ipc.RemoteError.
package yarn
