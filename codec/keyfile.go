package codec

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// LoadOrCreateKeyFile returns the keys in path, creating the file with one fresh key when
// it does not exist. The dev stack keeps its key next to its Temporal database this way:
// a key that changed between two runs would leave the saved histories unreadable and a
// running saga unable to resume.
func LoadOrCreateKeyFile(path string) ([]Key, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		keys := []Key{NewKey("dev-1")}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return nil, fmt.Errorf("codec: create key folder: %w", err)
		}
		if err := os.WriteFile(path, []byte(FormatKeys(keys...)+"\n"), 0o600); err != nil {
			return nil, fmt.Errorf("codec: write key file %s: %w", path, err)
		}
		return keys, nil
	}
	if err != nil {
		return nil, fmt.Errorf("codec: read key file %s: %w", path, err)
	}
	return ParseKeys(strings.TrimSpace(string(b)))
}
