package chaos

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// ErrStatus is an API answer with an unexpected status code.
var ErrStatus = errors.New("chaos: unexpected API status")

// call sends one API request; want lists the accepted status codes.
func (c *cluster) call(ctx context.Context, method, path, idemKey string, body, out any, want ...int) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.apiURL+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if idemKey != "" {
		req.Header.Set("Idempotency-Key", idemKey)
	}
	resp, err := (&http.Client{Timeout: 15 * time.Second}).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	ok := false
	for _, w := range want {
		ok = ok || resp.StatusCode == w
	}
	if !ok {
		return fmt.Errorf("%w: %s %s: %d %s", ErrStatus, method, path, resp.StatusCode, bytes.TrimSpace(b))
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

// cancel cancels booking id through the API. A 202 (a cancel requested of a holder that was just killed, which the
// next claim of the booking carries out) is fine: the scenario checks the
// booking's final state.
func (c *cluster) cancel(ctx context.Context, id int64) error {
	return c.call(ctx, http.MethodDelete, fmt.Sprintf("/v1/bookings/%d", id), "", nil, nil, http.StatusOK, http.StatusAccepted, http.StatusNoContent)
}

// apiWinners reads every booking the site booked (atSite: its choice there)
// through GET /v1/bookings/{id} and counts those whose won_choice or
// booked slot is not that choice.
func (c *cluster) apiWinners(ctx context.Context, atSite map[int64]int) (int, error) {
	type slot struct {
		Court string `json:"court"`
		Date  string `json:"date"`
		Start string `json:"start"`
		End   string `json:"end"`
	}
	wrong := 0
	for _, ref := range c.bookings {
		k, ok := atSite[ref.ID]
		if !ok {
			continue
		}
		var out struct {
			State     string `json:"state"`
			WonChoice int    `json:"won_choice"`
			Booked    *slot  `json:"booked"`
		}
		if err := c.call(ctx, http.MethodGet, fmt.Sprintf("/v1/bookings/%d", ref.ID), "", nil, &out, http.StatusOK); err != nil {
			return wrong, err
		}
		ch := ref.Choices[k-1]
		want := slot{Court: fmt.Sprint(ch.Facility), Date: ch.Date, Start: fmt.Sprintf("%02d:00", ch.Slot+5), End: fmt.Sprintf("%02d:00", ch.Slot+6)}
		if out.WonChoice != k || out.Booked == nil || *out.Booked != want {
			wrong++
			c.o.logf("%s: the API shows booking %d (%s) with won_choice %d booked %+v; the site booked choice %d %+v",
				c.spec.name, ref.ID, out.State, out.WonChoice, out.Booked, k, want)
		}
	}
	return wrong, nil
}

// ledger fetches the simulator's ground truth.
func (c *cluster) ledger(ctx context.Context) (*Ledger, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.simURL+"/_sim/ledger", nil)
	if err != nil {
		return nil, err
	}
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var l Ledger
	if err := json.NewDecoder(resp.Body).Decode(&l); err != nil {
		return nil, fmt.Errorf("ledger: %w", err)
	}
	return &l, nil
}
