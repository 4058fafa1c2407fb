package session

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

// The message leads, white space collapsed and secrets masked in it as in
// the rest; a long message alone fills the excerpt.
func TestExcerptWith(t *testing.T) {
	t.Parallel()
	forms := []string{"s3cr3t"}
	page := "<div>헤더 메뉴</div>\n<p>비밀번호 s3cr3t 가   틀렸습니다</p>"
	got := excerptWith("  비밀번호 s3cr3t\n 가 틀렸습니다 ", page, forms)
	require.Equal(t, "비밀번호 *** 가 틀렸습니다 · 헤더 메뉴 비밀번호 *** 가 틀렸습니다", got)
	require.Equal(t, excerpt(page, forms), excerptWith(" \n ", page, forms), "no message: as before")

	long := strings.Repeat("가", ExcerptMax+50)
	got = excerptWith(long, page, forms)
	require.Equal(t, ExcerptMax, utf8.RuneCountInString(got))
	require.NotContains(t, got, messageSep)

	got = excerptWith("짧은 메시지", strings.Repeat("<p>긴 본문</p>", 200), forms)
	require.Equal(t, ExcerptMax, utf8.RuneCountInString(got))
	require.True(t, strings.HasPrefix(got, "짧은 메시지 · 긴 본문"))
}
