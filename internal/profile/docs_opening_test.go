package profile_test

import (
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var (
	yamlBlockRe = regexp.MustCompile("(?s)```yaml\n(.*?)```")
	// "# play 2026-12-01 10:00-11:00 opens 2026-11-24T09:00:00+09:00"
	playLineRe = regexp.MustCompile(`(?m)^# play (\S+) (\S+)-(\S+) opens (\S+)`)
)

// openingSection is the "## `opening`" section of docs/profiles.md.
func openingSection(t *testing.T) string {
	t.Helper()
	doc, err := os.ReadFile("../../docs/profiles.md")
	require.NoError(t, err)
	_, sec, ok := strings.Cut(string(doc), "\n## `opening`\n")
	require.True(t, ok, "docs/profiles.md has an opening section")
	sec, _, _ = strings.Cut(sec, "\n## ")
	return sec
}

// TestDocsOpeningExamples loads every YAML example of the opening section
// into minimal and checks each "# play … opens …" line it carries.
func TestDocsOpeningExamples(t *testing.T) {
	t.Parallel()
	sec := openingSection(t)
	blocks := yamlBlockRe.FindAllStringSubmatch(sec, -1)
	require.GreaterOrEqual(t, len(blocks), 7, "the section shows every shape")
	shapes := map[string]int{}
	checked := 0
	for _, b := range blocks {
		block := b[1]
		for _, s := range []string{"days_before", "monthly", "rolling"} {
			if strings.Contains(block, s+":") {
				shapes[s]++
			}
		}
		p := mustParse(t, strings.Replace(minimal, "steps:", block+"steps:", 1))
		require.NotNil(t, p.Opening, block)
		for _, m := range playLineRe.FindAllStringSubmatch(block, -1) {
			play, err := time.ParseInLocation(time.DateOnly, m[1], p.Location)
			require.NoError(t, err, m[0])
			got, ok := p.OpensAt(play, m[2], m[3])
			require.True(t, ok, m[0])
			require.Equal(t, m[4], got.Format(time.RFC3339), "%s\nin\n%s", m[0], block)
			checked++
		}
	}
	require.Equal(t, map[string]int{"days_before": 3, "monthly": 2, "rolling": 2}, shapes)
	require.GreaterOrEqual(t, checked, 10)
	require.Len(t, playLineRe.FindAllString(sec, -1), checked, "every play line is in an example")
}
