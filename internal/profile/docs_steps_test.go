package profile_test

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"reserver/internal/profile"
)

// stepsSections are the sections of docs/profiles.md from "## `steps`" up
// to the sessions section: the steps, rules, classes and templates.
func stepsSections(t *testing.T) string {
	t.Helper()
	doc, err := os.ReadFile("../../docs/profiles.md")
	require.NoError(t, err)
	_, sec, ok := strings.Cut(string(doc), "\n## `steps`\n")
	require.True(t, ok, "docs/profiles.md has a steps section")
	sec, _, ok = strings.Cut(sec, "\n## Sessions")
	require.True(t, ok)
	return sec
}

func indent(s, by string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = by + l
	}
	return strings.Join(lines, "\n") + "\n"
}

// TestDocsStepsExamples loads every YAML example of the steps, rules and
// templates sections: whole steps: blocks as they are, an extract: block as
// a page's, a classify: block as the submit's.
func TestDocsStepsExamples(t *testing.T) {
	t.Parallel()
	const head = "name: docs\nbase_url: http://127.0.0.1:9\n"
	const verify = "  verify: {path: /mine, classify: [{status: 200, class: success}, {status: 404, class: retry}]}\n"
	blocks := yamlBlockRe.FindAllStringSubmatch(stepsSections(t), -1)
	seen := map[string]bool{}
	for _, b := range blocks {
		block := b[1]
		var src string
		switch {
		case strings.HasPrefix(block, "steps:"):
			src = head + block
		case strings.HasPrefix(block, "extract:"):
			src = head + "steps:\n  pages:\n    - name: page\n      path: /page\n" + indent(block, "      ") +
				"  submit: {method: POST, path: /go, classify: [{status: 200, class: success}]}\n"
		case strings.HasPrefix(block, "classify:"):
			src = head + "steps:\n  submit:\n    method: POST\n    path: /go\n" + indent(block, "    ") + verify
		default:
			t.Fatalf("an example of an unknown shape:\n%s", block)
		}
		p, err := profile.Parse("docs.yaml", []byte(src))
		require.NoError(t, err, "docs example:\n%s", block)
		for _, s := range p.Steps() {
			seen[string(s.Role)] = true
			switch {
			case s.JSON != nil:
				seen["json"] = true
			case s.Multipart:
				seen["multipart"] = true
			}
			if s.Charset != "" {
				seen["charset"] = true
			}
			for _, r := range s.Rules {
				seen[string(r.Class)] = true
				if len(r.Not) > 0 {
					seen["not"] = true
				}
				for _, c := range r.Conds {
					seen[c.Key] = true
				}
			}
			if len(s.MessageAt) > 0 {
				seen["message"] = true
			}
			for _, x := range s.Extract {
				if x.JSON != nil {
					seen["extract json"] = true
				}
			}
		}
		if p.Login == nil {
			seen["guest"] = true
		}
	}
	for _, want := range []string{"prelogin", "login", "page", "submit", "checkout", "verify", "json", "multipart",
		"charset", "not", "status", "location", "location_regex", "header", "cookie", "body_contains", "body_regex",
		"json_has", "held", "conflict", "invalid", "message", "extract json", "guest"} {
		require.True(t, seen[want], "no docs example shows %s", want)
	}
}

// TestDocsSMSExample loads the sms example of the top-level keys.
func TestDocsSMSExample(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("../../docs/profiles.md")
	require.NoError(t, err)
	_, sec, ok := strings.Cut(string(doc), "\n### `sms`")
	require.True(t, ok)
	sec, _, _ = strings.Cut(sec, "\n### ")
	blocks := yamlBlockRe.FindAllStringSubmatch(sec, -1)
	require.Len(t, blocks, 1)
	p, err := profile.Parse("docs.yaml", []byte(strings.Replace(minimal, "steps:", blocks[0][1]+"steps:", 1)))
	require.NoError(t, err)
	require.Equal(t, "en", p.SMS.Language)
	require.Equal(t, "lane", p.SMS.Noun["en"])
}
