package ipc

import "errors"

var errMechPending = errors.New("mechanism not implemented yet")

func newDigestClient(*Token, string, string, QOP) mechanism { return pendingMech{} }

func newGSSAPIClient(*Kerberos, QOP) (mechanism, error) { return nil, errMechPending }

func kerberosUser(*Kerberos) string { return "" }

type pendingMech struct{}

func (pendingMech) step([]byte) ([]byte, error) { return nil, errMechPending }
func (pendingMech) complete() bool               { return false }
func (pendingMech) layer() securityLayer         { return nil }
