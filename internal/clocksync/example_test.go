package clocksync_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"reserver/internal/clocksync"
)

func ExampleEstimate_FireAt() {
	// The site's clock runs 2.3 s ahead of ours and a request takes 20 ms
	// to get there.
	est := clocksync.Estimate{Offset: 2300 * time.Millisecond, RTT: 40 * time.Millisecond}
	opening := time.Date(2026, 3, 25, 10, 0, 0, 0, time.UTC) // on the site's clock

	fmt.Println("opening, local:", est.SiteToLocal(opening).Format("15:04:05.000"))
	fmt.Println("send at, local:", est.FireAt(opening, 5*time.Millisecond).Format("15:04:05.000"))
	// Output:
	// opening, local: 09:59:57.700
	// send at, local: 09:59:57.685
}

// Measure a site's clock, then send a request so that it arrives just after
// the site's next whole second.
func ExampleMeasure() {
	const skew = 2300 * time.Millisecond
	arrived := make(chan time.Time, 1)
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now := time.Now().Add(skew) // the site's clock
		if r.Method == http.MethodPost {
			arrived <- now
		}
		w.Header().Set("Date", now.UTC().Format(http.TimeFormat))
	}))
	defer site.Close()
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()

	ctx := context.Background()
	prober := &clocksync.HTTPProber{Client: client, URL: site.URL}
	// A coarse target keeps the example quick; the default is 2 ms.
	est, err := clocksync.Measure(ctx, prober, clocksync.Config{Target: 20 * time.Millisecond})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("site clock ahead by", est.Offset.Round(100*time.Millisecond))

	// The next whole second on the site's clock at least 100 ms away.
	opening := est.LocalToSite(time.Now()).Add(100 * time.Millisecond).Truncate(time.Second).Add(time.Second)
	if err := clocksync.WaitUntil(ctx, nil, est.FireAt(opening, 0)); err != nil {
		fmt.Println(err)
		return
	}
	resp, err := client.Post(site.URL, "text/plain", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	resp.Body.Close()
	late := (<-arrived).Sub(opening)
	// Allow the client's own overhead on top of the estimate's uncertainty.
	fmt.Println("arrived on time:", late.Abs() <= est.Uncertainty+10*time.Millisecond)
	// Output:
	// site clock ahead by 2.3s
	// arrived on time: true
}
