// Package migrations holds the SQL schema of reserver, one set of goose
// migrations per dialect, embedded so that the binaries can apply them at
// start without any file beside them.
package migrations

import (
	"embed"
	"io/fs"
)

//go:embed sqlite/*.sql mysql/*.sql
var files embed.FS

// FS returns the migrations of one dialect ("sqlite" or "mysql").
func FS(dialect string) (fs.FS, error) {
	return fs.Sub(files, dialect)
}
