package sitesim

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/stretchr/testify/require"
	"golang.org/x/text/encoding/korean"
)

// htmlDoc parses a page (already decoded to UTF-8).
func htmlDoc(t *testing.T, r reply) *goquery.Document {
	t.Helper()
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(r.body))
	require.NoError(t, err)
	return doc
}

// formFields is what a browser would submit from form before anyone
// touches it: every named input's value and each select's first option,
// in document order.
func formFields(form *goquery.Selection) url.Values {
	v := url.Values{}
	form.Find("input[name], select[name]").Each(func(_ int, s *goquery.Selection) {
		name := s.AttrOr("name", "")
		if goquery.NodeName(s) == "select" {
			v.Add(name, s.Find("option").First().AttrOr("value", ""))
			return
		}
		v.Add(name, s.AttrOr("value", ""))
	})
	return v
}

type option struct{ value, label string }

func options(sel *goquery.Selection) []option {
	var out []option
	sel.Find("option").Each(func(_ int, o *goquery.Selection) {
		out = append(out, option{o.AttrOr("value", ""), o.Text()})
	})
	return out
}

// TestEgovPersonFlow walks the pages as a person clicks them, in both
// charsets: the login form, the main page's search form, the booking page
// it opens, the answer and its link to the listing.
func TestEgovPersonFlow(t *testing.T) {
	t.Parallel()
	for _, charset := range []string{CharsetUTF8, CharsetEUCKR} {
		t.Run(charset, func(t *testing.T) {
			t.Parallel()
			srv := startSite(t, Options{Charset: charset, Facilities: 3, Slots: 6})
			c := newClient(t, srv)
			wantType := "text/html; charset=" + charsetLabel(charset)

			r := c.get(PathLogin)
			login := htmlDoc(t, r).Find(`form[name="loginForm"]`)
			require.Equal(t, "post", login.AttrOr("method", ""))
			require.Equal(t, PathLoginProc, login.AttrOr("action", ""))
			require.Equal(t, 1, login.Find(`input[name="userId"]`).Length())
			require.Equal(t, 1, login.Find(`input[type="password"][name="userPw"]`).Length())
			c.mustLogin("user001")

			r = c.get(PathMain)
			require.Equal(t, http.StatusOK, r.status)
			require.Equal(t, wantType, r.header.Get("Content-Type"))
			require.Contains(t, r.body, "<h3>시설 예약</h3>")
			search := htmlDoc(t, r).Find(`form[name="rentSearchForm"]`)
			require.Equal(t, 1, search.Length(), r.body)
			require.Equal(t, "get", search.AttrOr("method", ""))
			require.Equal(t, PathForm, search.AttrOr("action", ""))
			require.Equal(t, []option{{"1", "테니스장 1번 코트"}, {"2", "테니스장 2번 코트"}, {"3", "테니스장 3번 코트"}},
				options(search.Find(`select[name="facilityNo"]`)))
			require.Equal(t, []option{{"1", "06:00-07:00"}, {"2", "07:00-08:00"}, {"3", "08:00-09:00"},
				{"4", "09:00-10:00"}, {"5", "10:00-11:00"}, {"6", "11:00-12:00"}},
				options(search.Find(`select[name="timeNo"]`)))
			require.Contains(t, r.body, `<option value="4">09:00-10:00</option>`)
			fields := formFields(search)
			require.Equal(t, []string{srv.Now().Format("20060102")}, fields["useDate"], "today is filled in")

			// Submitting the search form opens the booking page with its token.
			fields.Set("facilityNo", "3")
			fields.Set("useDate", testUseDate)
			fields.Set("timeNo", "4")
			r = c.get(search.AttrOr("action", "") + "?" + fields.Encode())
			require.Equal(t, http.StatusOK, r.status, r.body)
			rent := htmlDoc(t, r).Find(`form[name="rentForm"]`)
			require.Equal(t, "post", rent.AttrOr("method", ""))
			require.Equal(t, PathApply, rent.AttrOr("action", ""))
			fields = formFields(rent)
			require.Equal(t, "3", fields.Get("facilityNo"))
			require.Equal(t, testUseDate, fields.Get("useDate"))
			require.Equal(t, "4", fields.Get("timeNo"))
			require.NotEmpty(t, fields.Get("rentToken"))
			require.Contains(t, r.body, "09:00~10:00")

			// The person types a name (posted in the page's charset) and phone.
			name := "홍길동"
			if charset == CharsetEUCKR {
				enc, err := korean.EUCKR.NewEncoder().String(name)
				require.NoError(t, err)
				name = enc
			}
			fields.Set("userName", name)
			fields.Set("userTel", "010-1234-5678")
			r = c.do(http.MethodPost, PathApply, fields)
			require.Equal(t, http.StatusOK, r.status)
			require.Contains(t, r.body, MsgSuccess)
			number := numberRE.FindStringSubmatch(r.body)
			require.NotNil(t, number, r.body)
			link := htmlDoc(t, r).Find(`p.my-rent-list a`)
			require.Equal(t, "나의 예약 현황", link.Text())
			require.Equal(t, PathRentList, link.AttrOr("href", ""))

			r = c.get(link.AttrOr("href", ""))
			require.Equal(t, http.StatusOK, r.status)
			require.Equal(t, number[1], htmlDoc(t, r).Find("td.rsv-no").Text())

			l := srv.Ledger()
			require.Len(t, l.Reservations, 1)
			rsv := l.Reservations[0]
			require.Equal(t, []any{"user001", 3, testISODate, 4, "홍길동"},
				[]any{rsv.Account, rsv.Facility, rsv.Date, rsv.Slot, rsv.UserName})

			// Only a success links to the listing: a second try is refused
			// without it.
			fields.Set("rentToken", c.visit(3, testUseDate, 4))
			r = c.do(http.MethodPost, PathApply, fields)
			require.Contains(t, r.body, MsgAlreadyMine)
			require.Zero(t, htmlDoc(t, r).Find(`p.my-rent-list`).Length())
		})
	}
}

// TestEgovSearchFormEveryFacility lists every facility and slot the site
// has, with the slot labels a person reads.
func TestEgovSearchFormEveryFacility(t *testing.T) {
	t.Parallel()
	srv := startSite(t, Options{})
	c := newClient(t, srv)
	c.mustLogin("user002")
	search := htmlDoc(t, c.get(PathMain)).Find(`form[name="rentSearchForm"]`)
	facilities := options(search.Find(`select[name="facilityNo"]`))
	require.Len(t, facilities, FacilitiesDefault)
	require.Equal(t, option{strconv.Itoa(FacilitiesDefault), "테니스장 10번 코트"}, facilities[FacilitiesDefault-1])
	slots := options(search.Find(`select[name="timeNo"]`))
	require.Len(t, slots, SlotsDefault)
	require.Equal(t, option{"12", "17:00-18:00"}, slots[11])

	// Without a session the main page still sends to the login.
	r := newClient(t, srv).get(PathMain)
	require.Equal(t, http.StatusFound, r.status)
	require.Equal(t, PathLogin, r.header.Get("Location"))
}
