// Package pb holds the generated Go code of Spindle's subset of HDFS's NameNode
// protocol and of the DataTransferProtocol's block writes.
package pb

//go:generate sh -c "cd ../.. && PATH=$PATH:$(go env GOPATH)/bin protoc -I. --go_out=. --go_opt=module=github.com/spindle-engine/spindle hdfs/pb/namenode.proto hdfs/pb/datatransfer.proto"
