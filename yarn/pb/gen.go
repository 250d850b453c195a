// Package pb holds the Go code generated from Spindle's own .proto files for
// YARN's ApplicationClientProtocol, ApplicationMasterProtocol and
// ContainerManagementProtocol, wire-compatible with Hadoop's field numbers.
package pb

//go:generate env PATH=/root/go/bin:$PATH protoc --proto_path=. --go_out=. --go_opt=paths=source_relative security.proto yarn_protos.proto yarn_service_protos.proto
