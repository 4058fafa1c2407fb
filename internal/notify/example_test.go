package notify_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"reserver/internal/booking"
	"reserver/internal/database"
	"reserver/internal/notify"
	"reserver/internal/secret"
	"reserver/internal/tenant"
)

// printer is a stand-in SMS provider that prints what it would send.
type printer struct{ sent sync.WaitGroup }

func (p *printer) Send(_ context.Context, m notify.Message) (string, error) {
	fmt.Printf("to %s (key %s): %s\n", m.To, m.Key, m.Text)
	p.sent.Done()
	return "printed-1", nil
}

// A booking succeeded and the daemon left a "booked" row in the outbox; the
// relay renders it with the default Korean template and sends it.
func ExampleNewRelay() {
	dir, _ := os.MkdirTemp("", "notify-example")
	defer os.RemoveAll(dir)
	db, err := database.Open("sqlite:" + filepath.Join(dir, "reserver.db"))
	if err != nil {
		panic(err)
	}
	defer db.Close()
	ctx := context.Background()
	if _, err := db.Migrate(ctx); err != nil {
		panic(err)
	}

	// What the API and the daemon would have written.
	ts := tenant.NewStore(db)
	tok, _ := ts.CreateToken(ctx, "example", tenant.RoleUser)
	who, _ := ts.Authenticate(ctx, tok)
	box, _ := secret.NewBox(bytes.Repeat([]byte{1}, secret.KeySize))
	store := booking.NewStore(db, box)
	bk, _, err := store.Create(ctx, booking.NewBooking{
		TenantID: who.TenantID, Site: "courtsim", Username: "user001", Password: "pass1234", Court: "3",
		PlayDate: "2030-05-01", StartTime: "10:00", EndTime: "11:00", OpensAt: time.Now().Add(time.Hour),
		WindowSeconds: 60, RatePerSecond: 2, Phone: "+821012345678",
	})
	if err != nil {
		panic(err)
	}
	payload := `{"site":"courtsim","court":"3","date":"2030-05-01","start":"10:00","end":"11:00","reservation_no":"R-20300501-0007"}`
	if err := store.AddOutbox(ctx, []booking.Outbox{{BookingID: bk.ID, Kind: notify.KindBooked, Phone: bk.Phone, Payload: payload}}, time.Now()); err != nil {
		panic(err)
	}

	p := &printer{}
	p.sent.Add(1)
	relay, err := notify.NewRelay(notify.Config{DB: db, Instance: "example", Sender: p, PollEvery: 50 * time.Millisecond})
	if err != nil {
		panic(err)
	}
	if err := relay.Start(ctx); err != nil {
		panic(err)
	}
	p.sent.Wait()
	relay.Stop()

	var row booking.Outbox
	db.Where("booking_id = ?", bk.ID).First(&row)
	fmt.Println(row.State, row.ProviderID, row.Tries)
	// Output:
	// to +821012345678 (key reserver-1-booked): [reserver] 2030-05-01 10:00-11:00 3번 코트 예약 완료. 예약번호 R-20300501-0007
	// sent printed-1 1
}
