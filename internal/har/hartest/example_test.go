package hartest_test

import (
	"context"
	"fmt"
	"net/url"

	"reserver/internal/har"
	"reserver/internal/har/hartest"
	"reserver/internal/sitesim"
)

// A booking on an EUC-KR eGov site, recorded as Firefox exports it: the
// flow only (no noise), one page, the pages' text decoded.
func ExampleRecord() {
	site, err := sitesim.New(sitesim.Options{Charset: sitesim.CharsetEUCKR})
	if err != nil {
		panic(err)
	}
	rec, err := hartest.Record(context.Background(), hartest.InProcessTarget(site, ""), hartest.Options{Style: har.StyleFirefox})
	if err != nil {
		panic(err)
	}
	for _, e := range rec.HAR.Log.Entries {
		u, _ := url.Parse(e.Request.URL)
		fmt.Println(e.Request.Method, u.Path, e.Response.Status, e.Pageref)
	}
	fmt.Println(rec.HAR.Log.Creator.Name, len(site.Ledger().Reservations), rec.Reservation == site.Ledger().Reservations[0].Number)
	// Output:
	// GET /login.do 200 page_1
	// POST /loginProc.do 302 page_1
	// GET /main.do 200 page_1
	// GET /rent/form.do 200 page_1
	// POST /rent/apply.do 200 page_1
	// GET /mypage/rentList.do 200 page_1
	// Firefox 1 true
}
