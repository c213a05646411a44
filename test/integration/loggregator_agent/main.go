// A Loggregator agent stand-in for the gateway's Loggregator egress tests: the v2 ingress
// service (loggregator.v2.Ingress) served by grpc-go with go-loggregator's own generated types
// (code.cloudfoundry.org/go-loggregator/v10/rpc/loggregator_v2, generated from the same
// loggregator-api .proto files), behind the transport rules of loggregator-agent-release
// (src/pkg/plumbing, src/cmd/loggregator-agent/app):
//
//   - mutual TLS is mandatory: a client certificate signed by --ca is required and verified
//     (tls.RequireAndVerifyClientCert); TLS 1.2 (ECDHE-RSA-AES-GCM) or 1.3;
//   - keepalive enforcement MinTime 10 s, pings permitted without streams;
//   - messages up to 10 MiB;
//   - BatchSender and Sender read until the client ends the stream, then answer; Send is unary.
//
// Every envelope received is written to --out as one JSON line
// {"batch": <n>, "size": <envelopes in that message>, "envelope": <protojson, proto names>},
// flushed at once (without --out it only counts, for benchmarks). --slow sleeps after each
// message (an agent that cannot keep up: HTTP/2 flow control then pushes back on the sender).
// It prints "LISTENING <port>" when it accepts, stops on SIGTERM (graceful, bounded) or
// SIGKILL, and on a SIGTERM prints "RECEIVED envelopes=<n> batches=<m>".
package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"code.cloudfoundry.org/go-loggregator/v10/rpc/loggregator_v2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/protobuf/encoding/protojson"
)

type recorder struct {
	mu        sync.Mutex
	out       *bufio.Writer // nil: count only (benchmarks)
	file      *os.File
	batches   int
	envelopes int
	slow      time.Duration
}

func (r *recorder) record(envelopes []*loggregator_v2.Envelope) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.batches++
	r.envelopes += len(envelopes)
	if r.out == nil {
		return nil
	}
	marshal := protojson.MarshalOptions{UseProtoNames: true}
	for _, e := range envelopes {
		body, err := marshal.Marshal(e)
		if err != nil {
			return err
		}
		line, err := json.Marshal(struct {
			Batch    int             `json:"batch"`
			Size     int             `json:"size"`
			Envelope json.RawMessage `json:"envelope"`
		}{r.batches, len(envelopes), body})
		if err != nil {
			return err
		}
		r.out.Write(line)
		r.out.WriteByte('\n')
	}
	return r.out.Flush()
}

type ingress struct {
	loggregator_v2.UnimplementedIngressServer
	r *recorder
}

func (s *ingress) BatchSender(stream loggregator_v2.Ingress_BatchSenderServer) error {
	for {
		batch, err := stream.Recv()
		if err == io.EOF {
			return stream.SendAndClose(&loggregator_v2.BatchSenderResponse{})
		}
		if err != nil {
			return err
		}
		if err := s.r.record(batch.GetBatch()); err != nil {
			return err
		}
		if s.r.slow > 0 {
			time.Sleep(s.r.slow)
		}
	}
}

func (s *ingress) Sender(stream loggregator_v2.Ingress_SenderServer) error {
	for {
		envelope, err := stream.Recv()
		if err == io.EOF {
			return stream.SendAndClose(&loggregator_v2.IngressResponse{})
		}
		if err != nil {
			return err
		}
		if err := s.r.record([]*loggregator_v2.Envelope{envelope}); err != nil {
			return err
		}
	}
}

func (s *ingress) Send(_ context.Context, batch *loggregator_v2.EnvelopeBatch) (*loggregator_v2.SendResponse, error) {
	return &loggregator_v2.SendResponse{}, s.r.record(batch.GetBatch())
}

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	certFile := flag.String("cert", "", "the agent's certificate (PEM)")
	keyFile := flag.String("key", "", "its key")
	caFile := flag.String("ca", "", "CA that signs client certificates")
	outFile := flag.String("out", "", "JSON lines of the envelopes received (appended); \"\": count only")
	slow := flag.Duration("slow", 0, "sleep after each message")
	flag.Parse()

	cert, err := tls.LoadX509KeyPair(*certFile, *keyFile)
	if err != nil {
		log.Fatalf("certificate: %v", err)
	}
	caPEM, err := os.ReadFile(*caFile)
	if err != nil {
		log.Fatalf("ca: %v", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		log.Fatalf("ca: no certificate in %s", *caFile)
	}
	config := &tls.Config{
		Certificates: []tls.Certificate{cert},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    pool,
		MinVersion:   tls.VersionTLS12,
		CipherSuites: []uint16{tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256},
	}

	r := &recorder{slow: *slow}
	if *outFile != "" {
		file, err := os.OpenFile(*outFile, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			log.Fatalf("out: %v", err)
		}
		r.file, r.out = file, bufio.NewWriter(file)
	}

	listener, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatalf("listen: %v", err)
	}
	server := grpc.NewServer(
		grpc.Creds(credentials.NewTLS(config)),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{
			MinTime:             10 * time.Second,
			PermitWithoutStream: true,
		}),
		grpc.MaxRecvMsgSize(10*1024*1024),
	)
	loggregator_v2.RegisterIngressServer(server, &ingress{r: r})

	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-signals
		stopped := make(chan struct{})
		go func() {
			server.GracefulStop()
			close(stopped)
		}()
		select {
		case <-stopped:
		case <-time.After(2 * time.Second):
			server.Stop()
		}
	}()

	fmt.Printf("LISTENING %d\n", listener.Addr().(*net.TCPAddr).Port)
	os.Stdout.Sync()
	if err := server.Serve(listener); err != nil {
		log.Printf("serve: %v", err)
	}
	r.mu.Lock()
	if r.out != nil {
		r.out.Flush()
		r.file.Close()
	}
	fmt.Printf("RECEIVED envelopes=%d batches=%d\n", r.envelopes, r.batches)
	r.mu.Unlock()
}
