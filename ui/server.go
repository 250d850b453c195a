package ui

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// Server serves a handler on a listener of its own: the driver's UI in local and
// client mode, and the history server. It answers 503 until SetHandler gives it
// its handler, because the UI must listen before it is known how to guard it
// (the ResourceManager proxy's filter needs the application's id, which the
// submission that carries the UI's address returns).
type Server struct {
	srv  *http.Server
	url  string
	done chan struct{}

	mu      sync.Mutex
	handler http.Handler
	err     error
}

// Listen listens at bind, on port or, when it is taken, the next of up to
// retries ports, as Spark's spark.ui.port does (port 0 takes any free one), and
// names advertise in its URL.
func Listen(bind, advertise string, port, retries int) (*Server, error) {
	var lis net.Listener
	var err error
	for i := 0; i <= retries; i++ {
		p := port
		if port != 0 {
			p = port + i
		}
		lis, err = net.Listen("tcp", net.JoinHostPort(bind, strconv.Itoa(p)))
		if err == nil || port == 0 || !errors.Is(err, syscall.EADDRINUSE) {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("web UI: %w", err)
	}
	return Serve(lis, advertise), nil
}

// Serve serves on lis until Close; advertise is the host its URL names.
func Serve(lis net.Listener, advertise string) *Server {
	s := &Server{done: make(chan struct{})}
	port := lis.Addr().(*net.TCPAddr).Port
	s.url = "http://" + net.JoinHostPort(advertise, strconv.Itoa(port)) + "/"
	s.srv = &http.Server{Handler: http.HandlerFunc(s.serve), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(lis); !errors.Is(err, http.ErrServerClosed) {
			s.mu.Lock()
			s.err = err
			s.mu.Unlock()
		}
	}()
	return s
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	h := s.handler
	s.mu.Unlock()
	if h == nil {
		http.Error(w, "the application is starting", http.StatusServiceUnavailable)
		return
	}
	h.ServeHTTP(w, r)
}

// URL is where the server is reached, with a trailing slash.
func (s *Server) URL() string { return s.url }

// SetHandler makes the server serve h.
func (s *Server) SetHandler(h http.Handler) {
	s.mu.Lock()
	s.handler = h
	s.mu.Unlock()
}

// Close stops the server and waits for it; it reports why it stopped if that
// was not Close.
func (s *Server) Close() error {
	err := s.srv.Close()
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	return errors.Join(err, s.err)
}
