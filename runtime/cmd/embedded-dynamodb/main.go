// Command embedded-dynamodb serves the embedded DynamoDB-compatible endpoint (see
// runtime/store/dynamotest) on a TCP port, for the local provider and for poking with curl.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/agentops/failover-harness/runtime/store/dynamotest"
)

func main() {
	fs := flag.NewFlagSet("embedded-dynamodb", flag.ExitOnError)
	listen := fs.String("listen", "127.0.0.1:8000", "address to listen on (host:port; port 0 picks a free one)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: embedded-dynamodb [--listen HOST:PORT]\n\n"+
			"Serves a DynamoDB-compatible JSON API (minidyn + TTL settings) and prints\n"+
			"\"READY dynamodb addr=HOST:PORT\" once listening. Stops on SIGINT/SIGTERM.\n\n")
		fs.PrintDefaults()
	}
	_ = fs.Parse(os.Args[1:]) // ExitOnError: exits 0 on --help, 2 on a bad flag
	if fs.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "embedded-dynamodb: unexpected argument %q\n", fs.Arg(0))
		os.Exit(2)
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	srv, err := dynamotest.Start(*listen)
	if err != nil {
		fmt.Fprintf(os.Stderr, "embedded-dynamodb: listen: %v\n", err)
		os.Exit(1)
	}
	fmt.Printf("READY dynamodb addr=%s\n", srv.Addr())

	<-ctx.Done()
	if err := srv.Close(); err != nil {
		fmt.Fprintf(os.Stderr, "embedded-dynamodb: close: %v\n", err)
		os.Exit(1)
	}
}
