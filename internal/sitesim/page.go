package sitesim

import (
	"bytes"
	"fmt"
	"html/template"
	"sync"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/korean"
)

// Texts the site answers with. Clients classify responses by these
// substrings, exactly as they would on the real legacy sites.
const (
	MsgLoginFailed       = "아이디 또는 비밀번호가 일치하지 않습니다"
	MsgSuccess           = "예약이 완료되었습니다"
	MsgReservationNumber = "예약번호: " // followed directly by the number
	MsgNotOpen           = "예약 신청 기간이 아닙니다"
	MsgTaken             = "이미 예약된 시간입니다"
	MsgAlreadyMine       = "이미 신청하신 내역이 있습니다"
	MsgLimitReached      = "예약 가능 횟수를 초과하였습니다" // over Options.AccountLimitPerDay or PerWeek
	MsgBadPath           = "정상적인 경로로 접근하지 않았습니다"
	MsgBlocked           = "비정상적인 접근이 감지되어 차단되었습니다"
	MsgBadRequest        = "잘못된 요청입니다"
	MsgMissingField      = "필수 입력 항목이 누락되었습니다"
	MsgServerError       = "일시적인 오류가 발생했습니다"
	MsgUnavailable       = "서비스 이용이 원활하지 않습니다"
	MsgNotFound          = "페이지를 찾을 수 없습니다"
)

// Slot availability shown on the booking page. They deliberately differ
// from the submit answers so that a page visit is never mistaken for one.
const (
	statusAvailable = "예약가능"
	statusClosed    = "예약마감"
)

const layout = `{{define "head"}}<!DOCTYPE html>
<html lang="ko">
<head>
<meta http-equiv="Content-Type" content="text/html; charset={{.Charset}}">
<title>{{.Title}} - 시립 테니스장 예약</title>
</head>
<body>
<div id="header"><a href="/main.do">시립 테니스장 통합예약</a></div>
<div id="content">
{{end}}
{{define "foot"}}</div>
<div id="footer">Copyright 시설관리공단. All rights reserved.</div>
</body>
</html>
{{end}}

{{define "login"}}{{template "head" .}}
<h2>로그인</h2>
<form name="loginForm" method="post" action="/loginProc.do">
<table class="login">
<tr><th><label for="userId">아이디</label></th><td><input type="text" id="userId" name="userId" maxlength="20"></td></tr>
<tr><th><label for="userPw">비밀번호</label></th><td><input type="password" id="userPw" name="userPw" maxlength="20"></td></tr>
</table>
<input type="submit" value="로그인">
</form>
{{template "foot" .}}{{end}}

{{define "message"}}{{template "head" .}}
<script type="text/javascript">alert({{.Message}});</script>
<div class="msg">
<p class="msg-text">{{.Message}}</p>
{{with .Data}}<p class="rsv-no">` + MsgReservationNumber + `{{.}}</p>
{{template "myRentList"}}{{end}}
<p><a href="{{.Back}}">돌아가기</a></p>
</div>
{{template "foot" .}}{{end}}

{{define "main"}}{{template "head" .}}
<h2>메인</h2>
{{with .Data}}<p class="welcome">{{.Account}}님 환영합니다.</p>
<ul>
<li><a href="/rent/form.do?facilityNo=1&amp;useDate={{.Today}}&amp;timeNo=1">시설 예약</a></li>{{end}}
<li><a href="/mypage/rentList.do">나의 예약 현황</a></li>
<li><a href="/logout.do">로그아웃</a></li>
</ul>
{{with .Data}}{{template "rentSearch" .}}{{end}}
{{template "foot" .}}{{end}}

{{define "form"}}{{template "head" .}}
{{with .Data}}
<h2>시설 예약 신청</h2>
<table class="rent-info">
<tr><th>시설</th><td>테니스장 {{.Facility}}번 코트</td></tr>
<tr><th>이용일</th><td>{{.Date}}</td></tr>
<tr><th>이용시간</th><td>{{.TimeLabel}}</td></tr>
<tr><th>상태</th><td class="status">{{.Status}}</td></tr>
</table>
<form name="rentForm" method="post" action="/rent/apply.do">
<input type="hidden" name="facilityNo" value="{{.Facility}}">
<input type="hidden" name="useDate" value="{{.UseDate}}">
<input type="hidden" name="timeNo" value="{{.Slot}}">
<input type="hidden" name="rentToken" value="{{.Token}}">
<table class="rent-form">
<tr><th>신청자명</th><td><input type="text" name="userName" maxlength="30"></td></tr>
<tr><th>연락처</th><td><input type="text" name="userTel" maxlength="20"></td></tr>
<tr><th>인원</th><td><input type="text" name="people" value="2" maxlength="2"></td></tr>
</table>
<input type="submit" value="예약신청">
</form>
{{end}}
{{template "foot" .}}{{end}}

{{define "list"}}{{template "head" .}}
<h2>나의 예약 현황</h2>
<table class="rent-list">
<thead><tr><th>예약번호</th><th>시설</th><th>이용일</th><th>이용시간</th></tr></thead>
<tbody>
{{range .Data}}<tr><td class="rsv-no">{{.Number}}</td><td class="facility" data-facility="{{.Facility}}">테니스장 {{.Facility}}번 코트</td><td class="date">{{.Date}}</td><td class="slot" data-slot="{{.Slot}}">{{.Slot}}</td></tr>
{{else}}<tr><td colspan="4">예약 내역이 없습니다.</td></tr>
{{end}}</tbody>
</table>
{{template "foot" .}}{{end}}

{{define "blocked"}}{{template "head" .}}
<div class="msg">
<p class="msg-text">` + MsgBlocked + `</p>
<p>{{.Data}}분 후 다시 시도해 주십시오.</p>
</div>
{{template "foot" .}}{{end}}
`

var pages = template.Must(template.New("pages").Parse(layout))

// pageData is what every template receives.
type pageData struct {
	Charset string
	Title   string
	Message string
	Back    string
	Data    any
}

type mainData struct {
	Account    string
	Today      string // YYYYMMDD on the sim clock
	Facilities []int
	Slots      []slotOption
}

type formData struct {
	Facility  int
	Date      string // YYYY-MM-DD
	UseDate   string // YYYYMMDD
	Slot      int
	TimeLabel string
	Status    string
	Token     string
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// render executes a template and encodes the page in the site's charset.
// Characters EUC-KR cannot represent become numeric character references,
// as a legacy site's output filter would write them.
func render(charset, name string, d pageData) ([]byte, error) {
	d.Charset = charsetLabel(charset)
	buf := bufPool.Get().(*bytes.Buffer)
	defer bufPool.Put(buf)
	buf.Reset()
	if err := pages.ExecuteTemplate(buf, name, d); err != nil {
		return nil, fmt.Errorf("render %s: %w", name, err)
	}
	if charset != CharsetEUCKR {
		return bytes.Clone(buf.Bytes()), nil
	}
	out, err := encoding.HTMLEscapeUnsupported(korean.EUCKR.NewEncoder()).Bytes(buf.Bytes())
	if err != nil {
		return nil, fmt.Errorf("render %s: encode EUC-KR: %w", name, err)
	}
	return out, nil
}

func charsetLabel(charset string) string {
	if charset == CharsetEUCKR {
		return "EUC-KR"
	}
	return "UTF-8"
}

// decodeValue turns a percent-decoded form value into UTF-8.
func decodeValue(charset, v string) string {
	if charset == CharsetEUCKR && !isASCII(v) {
		if s, err := korean.EUCKR.NewDecoder().String(v); err == nil {
			return s
		}
	}
	return toValidUTF8(v)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func toValidUTF8(s string) string {
	return string(bytes.ToValidUTF8([]byte(s), []byte("\uFFFD")))
}

// timeLabel is the human label of a slot: slot 1 starts at 06:00, one hour
// each.
func timeLabel(slot int) string {
	start := (5 + slot) % 24
	return fmt.Sprintf("%02d:00~%02d:00", start, (start+1)%24)
}
