// Package pb holds the Go code generated from Spindle's own .proto files for
// YARN's ApplicationClientProtocol, ApplicationMasterProtocol and
// ContainerManagementProtocol, wire-compatible with Hadoop's field numbers.
// Files are registered under their module path (yarn/pb/...) so they cannot
// clash with other packages' copies of Hadoop's messages.
package pb

//go:generate env PATH=/root/go/bin:$PATH protoc --proto_path=../.. --go_out=../.. --go_opt=paths=source_relative yarn/pb/security.proto yarn/pb/yarn_protos.proto yarn/pb/yarn_service_protos.proto
