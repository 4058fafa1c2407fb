package sitesim

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// answer is what a client can observe of a reply, with the one-time token
// (the only value that differs by design) masked and the Date header,
// which follows the clock, left out.
func answer(r reply) map[string]any {
	h := r.header.Clone()
	h.Del("Date")
	return map[string]any{
		"status": r.status,
		"header": h,
		"body":   regexp.MustCompile(`[0-9a-f]{32}`).ReplaceAllString(r.body, "TOKEN"),
	}
}

func TestStrictRepeatAnswersLikeTaken(t *testing.T) {
	t.Parallel()
	for _, charset := range []string{CharsetUTF8, CharsetEUCKR} {
		t.Run(charset, func(t *testing.T) {
			t.Parallel()
			srv := startSite(t, Options{Strict: true, Charset: charset})
			mine := newClient(t, srv)
			mine.mustLogin("user001")
			require.Contains(t, mine.book(1, testUseDate, 2).body, MsgSuccess)

			other := newClient(t, srv)
			other.mustLogin("user002")
			taken := other.book(1, testUseDate, 2)
			require.Contains(t, taken.body, MsgTaken)

			repeat := mine.book(1, testUseDate, 2)
			require.Equal(t, answer(taken), answer(repeat), "a repeat must be indistinguishable from taken")
			require.NotContains(t, repeat.body, MsgAlreadyMine)

			l := srv.Ledger()
			require.Len(t, l.Submits, 3)
			require.Equal(t, []bool{false, false, true}, []bool{l.Submits[0].Repeat, l.Submits[1].Repeat, l.Submits[2].Repeat})
			require.Equal(t, ResultAlreadyMine, l.Submits[2].Result, "the ledger keeps the truth")
			require.Equal(t, 1, l.RepeatSubmits)
		})
	}
}

func TestNonStrictRepeatAnswersAlreadyMine(t *testing.T) {
	t.Parallel()
	srv := startSite(t, Options{})
	c := newClient(t, srv)
	c.mustLogin("user001")
	require.Contains(t, c.book(1, testUseDate, 2).body, MsgSuccess)
	r := c.book(1, testUseDate, 2)
	require.Equal(t, http.StatusOK, r.status)
	require.Contains(t, r.body, MsgAlreadyMine)
	sub := lastSubmit(t, srv.Site)
	require.Equal(t, ResultAlreadyMine, sub.Result)
	require.True(t, sub.Repeat)
	require.Equal(t, 1, srv.Ledger().RepeatSubmits)
}

// A reset after the submit was applied leaves the client not knowing; a
// second submit without verifying first is a repeat, in both modes.
func TestRepeatAfterResetApplied(t *testing.T) {
	t.Parallel()
	for _, strict := range []bool{false, true} {
		t.Run(map[bool]string{false: "lenient", true: "strict"}[strict], func(t *testing.T) {
			t.Parallel()
			srv := startSite(t, Options{Strict: strict, ResetRate: 1, ResetApplied: 1})
			c := newClient(t, srv)
			c.mustLogin("user001")
			_, err := c.try(http.MethodPost, PathApply, c.applyForm(1, testUseDate, 1, c.visit(1, testUseDate, 1), "홍길동"))
			require.Error(t, err)
			first := lastSubmit(t, srv.Site)
			require.Equal(t, ResultResetApplied, first.Result)
			require.Equal(t, ResultSuccess, first.Outcome)
			require.False(t, first.Repeat)

			// Still resetting: the repeat is processed (already_mine) and
			// counted although nobody sees the answer.
			_, err = c.try(http.MethodPost, PathApply, c.applyForm(1, testUseDate, 1, c.visit(1, testUseDate, 1), "홍길동"))
			require.Error(t, err)
			second := lastSubmit(t, srv.Site)
			require.Equal(t, ResultAlreadyMine, second.Outcome)
			require.True(t, second.Repeat)

			srv.SetFaults(Faults{})
			want := map[bool]string{false: MsgAlreadyMine, true: MsgTaken}[strict]
			require.Contains(t, c.book(1, testUseDate, 1).body, want)
			third := lastSubmit(t, srv.Site)
			require.Equal(t, ResultAlreadyMine, third.Result)
			require.True(t, third.Repeat)
			require.Equal(t, 2, srv.Ledger().RepeatSubmits)
		})
	}
}

// Any submit for a slot the account holds is a repeat, whatever it is
// answered: the mistake is sending it.
func TestRepeatWhateverTheAnswer(t *testing.T) {
	t.Parallel()
	srv := startSite(t, Options{Strict: true})
	c := newClient(t, srv)
	c.mustLogin("user001")
	require.Contains(t, c.book(1, testUseDate, 1).body, MsgSuccess)
	srv.SetFaults(Faults{FailRate: 1})
	r, err := c.try(http.MethodPost, PathApply, c.applyForm(1, testUseDate, 1, c.visit(1, testUseDate, 1), "홍길동"))
	require.NoError(t, err)
	require.GreaterOrEqual(t, r.status, 500)
	sub := lastSubmit(t, srv.Site)
	require.Equal(t, ResultError5xx, sub.Result)
	require.True(t, sub.Repeat)
	// Another slot of the same account is not a repeat.
	srv.SetFaults(Faults{})
	require.Contains(t, c.book(1, testUseDate, 2).body, MsgSuccess)
	require.False(t, lastSubmit(t, srv.Site).Repeat)
	require.Equal(t, 1, srv.Ledger().RepeatSubmits)
}

// The ledger's IP is the connection's source address, which is how the
// chaos audit tells the daemons apart; a forwarding header cannot fake it.
func TestLedgerIPIsTheSourceAddress(t *testing.T) {
	t.Parallel()
	srv := startSite(t, Options{})
	for _, ip := range []string{"127.0.0.11", "127.0.0.12"} {
		c := newClientFrom(t, srv, ip)
		c.mustLogin(map[string]string{"127.0.0.11": "user011", "127.0.0.12": "user012"}[ip])
		tok := c.visit(2, testUseDate, 3)
		req, err := http.NewRequest(http.MethodPost, c.base+PathApply, strings.NewReader(c.applyForm(2, testUseDate, 3, tok, "홍길동").Encode()))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Forwarded-For", "203.0.113.9")
		req.Header.Set("X-Real-IP", "203.0.113.9")
		resp, err := c.hc.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, ip, lastSubmit(t, srv.Site).IP)
	}
}
