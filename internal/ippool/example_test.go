package ippool_test

import (
	"errors"
	"fmt"

	"reserver/internal/ippool"
	"reserver/internal/profile"
)

// The daemon's part: place each account, pace on the egress's limiter,
// report a block and move the account, wait when every egress cools down.
func Example() {
	pool, err := ippool.New(ippool.Config{
		Egresses: []ippool.EgressConfig{
			{Name: "ip-2", Kind: ippool.KindSource, Source: "127.0.0.2"},
			{Name: "ip-3", Kind: ippool.KindSource, Source: "127.0.0.3"},
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer pool.Close()
	const host = "court.example"

	// Accounts spread by declared rate, each egress up to its ceiling of
	// 4 req/s per site host.
	for _, acct := range []string{"kim", "lee", "park"} {
		eg, _ := pool.Assign(acct, host, 2)
		fmt.Println(acct, "on", eg.Name())
	}
	// kim's session is sent eg.Transport(); before each request the daemon
	// waits on pool.Limiter(eg.Name(), host). Then the site blocks ip-2:
	_ = pool.Report("ip-2", host, ippool.Outcome{Class: profile.ClassBlocked})
	eg, _ := pool.Move("kim", host)
	fmt.Println("kim moved to", eg.Name()) // swap transport, reset cookies, log in

	_ = pool.Report("ip-3", host, ippool.Outcome{Class: profile.ClassBlocked})
	_, err = pool.Move("kim", host)
	var cooling *ippool.AllCoolingError
	fmt.Println(errors.As(err, &cooling), cooling.Wait > 0)
	// Output:
	// kim on ip-2
	// lee on ip-3
	// park on ip-2
	// kim moved to ip-3
	// true true
}
