package reports

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
)

// Output file names inside the report directory (SPEC §1: reports/out/).
const (
	RecordFile = "run.json"
	HTMLFile   = "index.html"
	JUnitFile  = "junit.xml"
)

// WriteOutputs writes run.json, index.html and junit.xml into dir, creating
// it. Each file is rendered fully in memory first, so a render error never
// leaves a half-written report behind.
func WriteOutputs(dir string, r *Record) error {
	if r == nil {
		return fmt.Errorf("write outputs: record is nil")
	}
	if err := r.Write(filepath.Join(dir, RecordFile)); err != nil {
		return err
	}
	var page, junit bytes.Buffer
	if err := RenderHTML(&page, r); err != nil {
		return err
	}
	if err := WriteJUnit(&junit, r); err != nil {
		return err
	}
	for name, data := range map[string][]byte{HTMLFile: page.Bytes(), JUnitFile: junit.Bytes()} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return fmt.Errorf("write %s: %w", name, err)
		}
	}
	return nil
}
