package har

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
)

// WriteFile saves h at path as Write encodes it. The file is replaced only
// once the whole document is written, so a recording saved for later
// tests is never half a file.
func WriteFile(path string, h *HAR) error {
	var buf bytes.Buffer
	if err := Write(&buf, h); err != nil {
		return fmt.Errorf("har: %s: %w", path, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("har: %w", err)
	}
	defer os.Remove(tmp.Name()) // after the rename, a no-op
	if _, err := tmp.Write(buf.Bytes()); err != nil {
		tmp.Close()
		return fmt.Errorf("har: %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("har: %s: %w", path, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("har: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("har: %w", err)
	}
	return nil
}

// ReadFile reads the HAR document at path (see Read).
func ReadFile(path string) (*HAR, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("har: %w", err)
	}
	defer f.Close()
	h, err := Read(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return h, nil
}
