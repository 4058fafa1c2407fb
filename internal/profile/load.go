package profile

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	_ "time/tzdata" // time zones must load on hosts without zoneinfo
)

// ErrInvalid is matched (errors.Is) by every *LoadError.
var ErrInvalid = errors.New("profile: invalid")

// Problem is one validation problem, located in its file.
type Problem struct {
	File string
	Line int // 0 when the problem concerns the whole file
	Msg  string
}

func (p Problem) String() string {
	if p.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Msg)
	}
	return fmt.Sprintf("%s: %s", p.File, p.Msg)
}

// LoadError lists every problem found while loading one or more profiles.
type LoadError struct {
	Problems []Problem
}

func (e *LoadError) Error() string {
	lines := make([]string, 0, len(e.Problems)+1)
	lines = append(lines, fmt.Sprintf("invalid site profile (%d problems):", len(e.Problems)))
	for _, p := range e.Problems {
		lines = append(lines, "  "+p.String())
	}
	return strings.Join(lines, "\n")
}

// Unwrap makes errors.Is(err, ErrInvalid) true.
func (e *LoadError) Unwrap() error { return ErrInvalid }

// Load reads and validates one profile file.
func Load(path string) (*Profile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("profile: %w", err)
	}
	return Parse(path, data)
}

// LoadDir loads every *.yaml and *.yml file of dir (files whose name starts
// with "_" or "." are skipped) and returns the profiles by name. Problems of
// all files are reported together.
func LoadDir(dir string) (map[string]*Profile, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("profile: %w", err)
	}
	out := make(map[string]*Profile)
	var all []Problem
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() || strings.HasPrefix(n, "_") || strings.HasPrefix(n, ".") ||
			(!strings.HasSuffix(n, ".yaml") && !strings.HasSuffix(n, ".yml")) {
			continue
		}
		path := filepath.Join(dir, n)
		p, err := Load(path)
		var le *LoadError
		switch {
		case errors.As(err, &le):
			all = append(all, le.Problems...)
			continue
		case err != nil:
			return nil, err
		}
		if prev, dup := out[p.Name]; dup {
			all = append(all, Problem{File: path, Msg: fmt.Sprintf("profile name %q is already used by %s", p.Name, prev.File)})
			continue
		}
		out[p.Name] = p
	}
	if len(all) > 0 {
		return nil, &LoadError{Problems: all}
	}
	return out, nil
}

// Parse validates one profile. file names it in problems.
func Parse(file string, data []byte) (*Profile, error) {
	l := &loader{file: file}
	p := l.profile(data)
	byLine := func(ps []Problem) {
		sort.SliceStable(ps, func(i, j int) bool { return ps[i].Line < ps[j].Line })
	}
	if len(l.problems) > 0 {
		byLine(l.problems)
		return nil, &LoadError{Problems: l.problems}
	}
	byLine(l.warnings)
	p.File = file
	for _, w := range l.warnings {
		p.Warnings = append(p.Warnings, w.String())
	}
	return p, nil
}

// loader walks the YAML node tree by hand so that every problem keeps its
// line and all of them are reported, not just the first.
