// Command api serves the reserver REST API.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"reserver/internal/cli"
)

func main() { os.Exit(run()) }

func run() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return cli.API(ctx, os.Args[1:], cli.StdIO())
}
