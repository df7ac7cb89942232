// Package migrations embeds the goose SQL migrations in the binary.
// Landed migrations are append-only: change the schema by adding a file.
package migrations

import "embed"

// FS holds every *.sql migration.
//
//go:embed *.sql
var FS embed.FS
