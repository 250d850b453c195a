// Package pb holds the Go code generated from Hadoop-compatible IPC protos.
package pb

//go:generate sh -c "cd ../.. && PATH=$PATH:/root/go/bin protoc -I. --go_out=. --go_opt=module=github.com/spindle-engine/spindle ipc/pb/RpcHeader.proto ipc/pb/IpcConnectionContext.proto ipc/pb/ProtobufRpcEngine.proto ipc/pb/Security.proto"
