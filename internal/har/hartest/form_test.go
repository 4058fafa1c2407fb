package hartest

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"
)

const formPage = `<html><body>
<form name="other" action="/search"><input name="q" value="x"></form>
<form name="f" method="POST" action="/apply.do">
<input type="hidden" name="token" value="t0k">
<input type="text" name="who">
<input type="password" name="pw" value="old">
<select name="slot"><option value="1">one</option><option value="2" selected>two</option></select>
<select name="court"><option>A</option><option>B</option></select>
<input type="checkbox" name="agree" checked>
<input type="checkbox" name="news" value="y">
<input type="text" name="off" value="z" disabled>
<textarea name="memo">hi there</textarea>
<input type="submit" value="no name">
<button type="submit" name="go" value="Go">Go</button>
<button type="submit" name="save" value="Save">Save</button>
<button type="button" name="js" value="j">JS</button>
</form></body></html>`

func testPage(t *testing.T, charset string) *page {
	t.Helper()
	u, err := url.Parse("http://site.example/rent/form.do")
	require.NoError(t, err)
	return &page{url: u, status: http.StatusOK, text: formPage, charset: charset}
}

func TestFormFields(t *testing.T) {
	t.Parallel()
	f, err := findForm(testPage(t, "utf-8"), "/apply.do")
	require.NoError(t, err)
	require.Equal(t, http.MethodPost, f.method)

	got, err := f.fields(map[string]string{"who": "홍길동", "pw": "secret"}, "go")
	require.NoError(t, err)
	require.Equal(t, [][2]string{
		{"token", "t0k"}, {"who", "홍길동"}, {"pw", "secret"}, {"slot", "2"}, {"court", "A"},
		{"agree", "on"}, {"memo", "hi there"}, {"go", "Go"},
	}, got, "document order; the selected option, else the first; only the submitter; no disabled, unchecked or button fields")

	_, err = f.fields(map[string]string{"nosuch": "1"}, "")
	require.ErrorContains(t, err, `no field "nosuch"`)
	_, err = f.fields(nil, "nosuch")
	require.ErrorContains(t, err, `no submit button "nosuch"`)

	_, err = findForm(testPage(t, "utf-8"), "/nowhere")
	require.ErrorIs(t, err, errNoForm)
}

func TestEncodeForm(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, charset string
		fields        [][2]string
		want          string
	}{
		{"utf-8", "utf-8", [][2]string{{"userName", "홍길동"}, {"q", "a b&c"}}, "userName=%ED%99%8D%EA%B8%B8%EB%8F%99&q=a+b%26c"},
		{"euc-kr bytes", "euc-kr", [][2]string{{"userName", "홍길동"}}, "userName=%C8%AB%B1%E6%B5%BF"},
		{"what euc-kr lacks, as a character reference", "EUC-KR", [][2]string{{"m", "😀"}}, "m=%26%23128512%3B"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := encodeForm(tt.fields, tt.charset)
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestRefererAndFetchSite(t *testing.T) {
	t.Parallel()
	u := func(s string) *url.URL { v, err := url.Parse(s); require.NoError(t, err); return v }
	page := u("https://courts.example.com/dashboard?x=1#top")
	tests := []struct {
		to, referer, site string
	}{
		{"https://courts.example.com/api/resources", "https://courts.example.com/dashboard?x=1", "same-origin"},
		{"https://www.google-analytics.com/g/collect", "https://courts.example.com/", "cross-site"},
		{"https://cdn.courts.example.com/a.css", "https://courts.example.com/", "same-site"},
		{"http://courts.example.com/", "", "cross-site"}, // no Referer on a downgrade
	}
	for _, tt := range tests {
		require.Equal(t, tt.referer, referer(page, u(tt.to)), tt.to)
		require.Equal(t, tt.site, fetchSite(page, u(tt.to)), tt.to)
	}
	require.Equal(t, "none", fetchSite(nil, page))
	require.Equal(t, "go.kr", registrable("go.kr"))
	require.Equal(t, "example.go.kr", registrable("yeyak.example.go.kr"))
	require.True(t, trustworthy(u("http://127.0.0.1:8080/")))
	require.False(t, trustworthy(u("http://yeyak.example.go.kr/")))
}

func TestRouterRefusesOtherHosts(t *testing.T) {
	t.Parallel()
	site, err := url.Parse("http://yeyak.example.go.kr")
	require.NoError(t, err)
	rt := newRouter(site, unreachable{}, nil)
	req, err := http.NewRequest(http.MethodGet, "https://example.org/", nil)
	require.NoError(t, err)
	_, err = rt.RoundTrip(req)
	require.ErrorContains(t, err, "no route to example.org")
}

type unreachable struct{}

func (unreachable) RoundTrip(*http.Request) (*http.Response, error) { panic("the site is not asked") }
