package profile_test

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"reserver/internal/profile"
)

// checkLineRe is a "# COURT START-END ok" or "# COURT START-END refused
// FIELD" line of the courts and slots examples.
var checkLineRe = regexp.MustCompile(`(?m)^# (\S+) (\d\d:\d\d)-(\d\d:\d\d) (ok|refused (\w+))$`)

// TestDocsCourtsAndSlots loads every example of the courts and slots
// section and checks what each of its lines says CheckSlot answers.
func TestDocsCourtsAndSlots(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("../../docs/profiles.md")
	require.NoError(t, err)
	_, sec, ok := strings.Cut(string(doc), "\n## `courts` and `slots`")
	require.True(t, ok, "docs/profiles.md has a courts and slots section")
	sec, _, _ = strings.Cut(sec, "\n## ")
	blocks := yamlBlockRe.FindAllStringSubmatch(sec, -1)
	require.Len(t, blocks, 2)
	checked := 0
	for _, b := range blocks {
		p, err := profile.Parse("docs.yaml", []byte(withTop(b[1])))
		require.NoError(t, err, "docs example:\n%s", b[1])
		lines := checkLineRe.FindAllStringSubmatch(b[1], -1)
		require.NotEmpty(t, lines, "an example without check lines:\n%s", b[1])
		for _, l := range lines {
			got := p.CheckSlot(l[1], l[2], l[3])
			if l[4] == "ok" {
				require.Empty(t, got, l[0])
			} else {
				require.Len(t, got, 1, l[0])
				require.Equal(t, l[5], got[0].Field, l[0])
			}
			checked++
		}
	}
	require.GreaterOrEqual(t, checked, 10)
}
