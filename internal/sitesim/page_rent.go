package sitesim

import (
	"fmt"
	"html/template"
	"time"
)

// The eGov pages a person uses in a browser, beside the ones a client
// calls directly: the main page's "시설 예약" search form, a GET form that
// picks the facility, the date and the time slot and opens the booking page
// (/rent/form.do) for them, and the link from a successful answer to
// "나의 예약 현황". Every field carries the name the booking page reads, so
// the browser builds the same query a client would.
const rentLayout = `{{define "rentSearch"}}<h3>시설 예약</h3>
<form name="rentSearchForm" method="get" action="` + PathForm + `">
<table class="rent-search">
<tr><th><label for="facilityNo">시설</label></th><td><select id="facilityNo" name="facilityNo">
{{range .Facilities}}<option value="{{.}}">테니스장 {{.}}번 코트</option>
{{end}}</select></td></tr>
<tr><th><label for="useDate">이용일</label></th><td><input type="text" id="useDate" name="useDate" value="{{.Today}}" maxlength="8" placeholder="YYYYMMDD"></td></tr>
<tr><th><label for="timeNo">이용시간</label></th><td><select id="timeNo" name="timeNo">
{{range .Slots}}<option value="{{.No}}">{{.Label}}</option>
{{end}}</select></td></tr>
</table>
<input type="submit" value="예약하기">
</form>
{{end}}

{{define "myRentList"}}<p class="my-rent-list"><a href="` + PathRentList + `">나의 예약 현황</a></p>
{{end}}
`

func init() {
	template.Must(pages.Parse(rentLayout))
}

// slotOption is one time slot of the search form: timeNo and its label,
// e.g. 4 and "09:00-10:00".
type slotOption struct {
	No    int
	Label string
}

// mainPage is what the main page shows a logged-in account: the greeting
// and the search form over every facility and slot.
func (s *Site) mainPage(account string, now time.Time) mainData {
	d := mainData{Account: account, Today: now.Format("20060102")}
	d.Facilities = make([]int, s.opts.Facilities)
	for i := range d.Facilities {
		d.Facilities[i] = i + 1
	}
	d.Slots = make([]slotOption, s.opts.Slots)
	for i := range d.Slots {
		d.Slots[i] = slotOption{No: i + 1, Label: slotRange(i + 1)}
	}
	return d
}

// slotRange is a slot's time range as the search form labels it:
// slot 4 is "09:00-10:00".
func slotRange(slot int) string {
	start := (5 + slot) % 24
	return fmt.Sprintf("%02d:00-%02d:00", start, (start+1)%24)
}
