// Package pb holds the generated code of the client-mode AM link.
package pb

//go:generate sh -c "cd ../.. && PATH=$PATH:$(go env GOPATH)/bin protoc -I. --go_out=. --go_opt=module=github.com/spindle-engine/spindle --go-grpc_out=. --go-grpc_opt=module=github.com/spindle-engine/spindle am/pb/amlink.proto"
