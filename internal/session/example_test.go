package session_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"reserver/internal/profile"
	"reserver/internal/session"
	"reserver/internal/sitesim"
)

// Example replays the courtsim profile against the simulated site served
// by an httptest server: log in, visit the booking page, submit.
func Example() {
	site, err := sitesim.New(sitesim.Options{Accounts: 10})
	if err != nil {
		panic(err)
	}
	srv := httptest.NewServer(site.Handler())
	defer srv.Close()
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()

	p, err := profile.Load("../../configs/sites/courtsim.yaml")
	if err != nil {
		panic(err)
	}
	p, _ = p.WithBaseURL(srv.URL)
	s, err := session.New(session.Config{
		Profile:   p,
		Account:   profile.AccountData{Username: "user001", Password: "pass1234"},
		Transport: tr,
	})
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	data := &profile.Data{Booking: profile.BookingData{
		Court: "3", Date: time.Date(2026, 12, 1, 0, 0, 0, 0, p.Location), Start: "09:00",
		Phone: "+821012345678", Name: "홍길동", People: 2,
	}}
	_, login, err := s.Login(ctx, 0)
	if err != nil {
		panic(err)
	}
	fmt.Println(login.Step, login.Status, login.Class)
	for _, step := range []string{profile.StepTrace, profile.StepSubmit} {
		res, err := s.Do(ctx, step, data)
		if err != nil {
			panic(err)
		}
		fmt.Println(res.Step, res.Status, res.Class, res.Reservation != "")
	}
	// Output:
	// login 302 success
	// trace 200 success false
	// submit 200 success true
}
