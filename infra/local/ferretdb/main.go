// Command ferretdb runs FerretDB v1 for the local stack, on PostgreSQL or on SQLite.
//
// It embeds FerretDB's public `ferretdb` package instead of `go install`ing cmd/ferretdb:
// the module proxy's copy of v1.24.2 lacks the generated build/version/version.txt, so the
// stock binary panics at start ("Invalid build/version/version.txt"). The embeddable package
// skips that check, and this wrapper is all we need of the CLI anyway.
package main

import (
	"context"
	"flag"
	"log"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	listenAddr := flag.String("listen-addr", "127.0.0.1:27017", "TCP address to listen on")
	handler := flag.String("handler", "postgresql", "backend: postgresql or sqlite")
	postgresqlURL := flag.String("postgresql-url", "postgres://127.0.0.1:5432/postgres", "PostgreSQL URL")
	sqliteURL := flag.String("sqlite-url", "file:data/", "SQLite data directory URI (must end with /)")
	logLevel := flag.String("log-level", "warn", "debug, info, warn or error")
	flag.Parse()

	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		log.Fatalf("bad -log-level %q: %v", *logLevel, err)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	f, err := ferretdb.New(&ferretdb.Config{
		Listener:      ferretdb.ListenerConfig{TCP: *listenAddr},
		Logger:        logger,
		Handler:       *handler,
		PostgreSQLURL: *postgresqlURL,
		SQLiteURL:     *sqliteURL,
	})
	if err != nil {
		log.Fatal(err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	logger.Info("ferretdb listening", "addr", *listenAddr, "handler", *handler)
	if err := f.Run(ctx); err != nil && ctx.Err() == nil {
		log.Fatal(err)
	}
}
